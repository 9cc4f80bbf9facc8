"""Attack: a PerCL answer built to stall the event loop (200,000 commands, 200,000 unknown
attributes, a warning logged for each). Scripts now have limits, each failing as invalid PerCL
(appInvalidPerCL) with an error naming the limit; warnings are logged at most MAX_WARNINGS times.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from percl.domain.enums import CallEndedReason, LogLevel
from percl.engine.ports import LogFilter
from percl.errors import PerclScriptError
from percl.percl.parse import MAX_ATTRIBUTES, MAX_COMMANDS, MAX_WARNINGS, parse_script
from percl.testing.harness import Harness
from tests.watchdog import watchdog

PAUSE = {"Pause": {"length": 1}}


def test_a_script_at_the_command_limit_is_fine() -> None:
    assert len(parse_script([PAUSE] * MAX_COMMANDS).commands) == MAX_COMMANDS


def test_one_command_more_is_invalid_and_names_the_limit() -> None:
    with pytest.raises(PerclScriptError) as caught:
        parse_script(json.dumps([PAUSE] * (MAX_COMMANDS + 1)).encode())
    assert caught.value.path == f"[{MAX_COMMANDS}]"
    assert f"at most {MAX_COMMANDS} are allowed per script" in caught.value.problem


def test_prompts_count_towards_the_limit() -> None:
    half = MAX_COMMANDS // 2
    getdigits = {"GetDigits": {"actionUrl": "http://app.test/d", "prompts": [PAUSE] * half}}
    with pytest.raises(PerclScriptError) as caught:
        parse_script([getdigits, getdigits])  # 2 + 2 * half > MAX_COMMANDS
    assert caught.value.path == "[1].GetDigits.prompts"
    assert f"more than {MAX_COMMANDS} commands" in caught.value.problem


@pytest.mark.parametrize(
    ("command", "path"),
    [
        ({"Say": {"text": "hi", **{f"x{i}": 1 for i in range(MAX_ATTRIBUTES)}}}, "[0].Say"),
        ({"Say": {"text": "hi", "engine": {"name": "freeclimb.neural",
                                            **{f"p{i}": 1 for i in range(MAX_ATTRIBUTES)}}}},
         "[0].Say.engine"),
    ],
)
def test_too_many_attributes_is_invalid(command: dict[str, Any], path: str) -> None:
    with pytest.raises(PerclScriptError) as caught:
        parse_script([command])
    assert caught.value.path == path
    assert f"at most {MAX_ATTRIBUTES} are allowed" in caught.value.problem


def test_warnings_are_capped_with_a_count_of_the_rest() -> None:
    typo = {"Say": {"text": "hi", **{f"typo{i}": 1 for i in range(MAX_ATTRIBUTES - 1)}}}
    script = parse_script([typo] * 100)
    assert len(script.warnings) == MAX_WARNINGS + 1
    dropped = 100 * (MAX_ATTRIBUTES - 1) - MAX_WARNINGS
    assert script.warnings[-1].startswith(f"{dropped} more warnings not shown")


async def run(answer: list[Any]) -> tuple[Any, list[Any]]:
    async with Harness() as h:
        app = h.scripted_app()
        app.on("/voice", answer)
        number = await h.number_for_app(voice_url=h.url("/voice"))
        call_id = await h.sim_call("+15550100001", number)
        call = await h.run_until_ended(call_id)
        entries = await h.store.list_logs(h.account.account_id, LogFilter(call_id=call_id))
    return call, list(entries)


async def test_a_call_answered_with_too_many_commands_ends_app_invalid_percl() -> None:
    call, entries = await run([{"Say": {"text": "x"}}] * (MAX_COMMANDS + 1))
    assert call.call_ended_reason is CallEndedReason.APP_INVALID_PERCL
    assert any(f"at most {MAX_COMMANDS} are allowed per script" in e.message for e in entries)


async def test_a_call_logs_at_most_the_capped_warnings() -> None:
    typo = {"Pause": {"length": 1, **{f"typo{i}": 1 for i in range(MAX_ATTRIBUTES - 2)}}}
    call, entries = await run([typo] * 200 + [{"Hangup": {}}])
    assert call.call_ended_reason is CallEndedReason.APP_HANGUP
    warnings = [e for e in entries if e.level is LogLevel.WARNING and "PerCL:" in e.message]
    assert len(warnings) == MAX_WARNINGS + 1


def out_dial(destination: str) -> list[dict[str, Any]]:
    return [{"OutDial": {"destination": destination, "callingNumber": "+13125550100",
                         "actionUrl": "http://app.test/a", "callConnectUrl": "http://app.test/c"}}]


@pytest.mark.parametrize(
    ("destination", "valid"),
    [("sip:alice@example.com", True), ("sips:bob@host:5061;transport=tls", True),
     ("sip:host", True), ("sip:a@b@c", True), ("sip:@host", False), ("sip:", False),
     ("sip:a b", False), ("tel:+13125550100", False)],
)
def test_sip_destinations(destination: str, valid: bool) -> None:
    if valid:
        parse_script(out_dial(destination))
    else:
        with pytest.raises(PerclScriptError):
            parse_script(out_dial(destination))


def test_a_sip_destination_is_checked_in_linear_time() -> None:
    # A long value that fails at its end backtracked over every split of it (quadratic).
    with watchdog("the SIP destination check"), pytest.raises(PerclScriptError):
        parse_script(out_dial("sip:" + "a" * 200_000 + " "))
