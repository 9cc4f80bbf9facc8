"""Redirect's originalRequestType (FREECLIMB.md §3.3): a Redirect that is the first command of a
webhook's answer carries that webhook's requestType and fields."""

from __future__ import annotations

from typing import Any

from percl.domain import payloads as p
from percl.domain.payloads import wire_fields
from percl.percl import actions as a
from percl.percl import events as e
from percl.percl import parse_script
from percl.percl.interpreter import Interpreter

VOICE = "https://app.example.com/voice"
MENU = "https://app.example.com/menu"
NEXT = "https://app.example.com/next"


def answer(it: Interpreter, post: a.Action, script: list[Any]) -> a.PostWebhook:
    assert isinstance(post, a.PostWebhook)
    out = it.handle(e.ScriptReceived(post.token, parse_script(script)))
    (posted,) = [x for x in out if isinstance(x, a.PostWebhook)]
    return posted


def digits_answered(privacy: bool = False) -> tuple[Interpreter, a.PostWebhook]:
    it = Interpreter(answered=True)
    (post,) = it.request(VOICE, p.InboundCall())
    script = [{"GetDigits": {"actionUrl": MENU, "maxDigits": 2, "privacyMode": privacy}}]
    assert it.handle(e.ScriptReceived(post.token, parse_script(script))) != []
    assert it.handle(e.DigitsPressed("1")) != []
    (menu,) = [x for x in it.handle(e.DigitsPressed("2")) if isinstance(x, a.PostWebhook)]
    return it, menu


def test_first_in_a_get_digits_answer() -> None:
    it, menu = digits_answered()
    redirect = answer(it, menu, [{"Redirect": {"actionUrl": NEXT}}])
    assert wire_fields(redirect.payload) == {"originalRequestType": "getDigits", "digits": "12",
                                             "reason": "maxDigits"}
    assert not redirect.privacy_mode


def test_privacy_mode_of_the_original_is_kept() -> None:
    it, menu = digits_answered(privacy=True)
    assert answer(it, menu, [{"Redirect": {"actionUrl": NEXT}}]).privacy_mode


def test_not_first_carries_nothing() -> None:
    it, menu = digits_answered()
    out = it.handle(e.ScriptReceived(menu.token, parse_script(
        [{"SendDigits": {"digits": "1"}}, {"Redirect": {"actionUrl": NEXT}}])))
    (send,) = out
    assert isinstance(send, a.SendDigitsOut)
    (redirect,) = it.handle(e.DigitsSent(send.token))
    assert isinstance(redirect, a.PostWebhook) and wire_fields(redirect.payload) == {}


def test_a_chain_of_redirects_passes_the_original_on() -> None:
    it, menu = digits_answered()
    first = answer(it, menu, [{"Redirect": {"actionUrl": NEXT}}])
    second = answer(it, first, [{"Redirect": {"actionUrl": VOICE}}])
    assert wire_fields(second.payload) == wire_fields(first.payload)


def test_interrupt_webhooks_count_too() -> None:
    it = Interpreter(answered=True)
    (post,) = it.request(VOICE, p.InboundCall())
    it.handle(e.ScriptReceived(post.token, parse_script([{"Pause": {"length": 5000}}])))
    out = it.handle(e.Interrupt(MENU, p.QueueWait("QU1", "1", 3, 1)))
    (wait,) = [x for x in out if isinstance(x, a.PostWebhook)]
    redirect = answer(it, wait, [{"Redirect": {"actionUrl": NEXT}}])
    assert wire_fields(redirect.payload) == {"originalRequestType": "queueWait", "queueId": "QU1",
                                               "queuePosition": "1", "queueTime": 3,
                                               "currentQueueSize": 1}
