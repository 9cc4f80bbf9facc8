"""GetSpeech end to end on an audio network (issue 12): the phone speaks through TTS, the
platform hears it by voice activity, recognises it with pocketsphinx constrained to the
grammar's phrases, and the grammar gives it meaning; keys are heard by the DTMF detector."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from percl.telephony.sim.model import PhoneStep
from percl.testing.harness import CapturedWebhook, Harness
from tests.e2e.conftest import CALLER


@pytest_asyncio.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness(media="audio") as harness:
        yield harness


async def _get_speech(h: Harness, steps: list[PhoneStep], grammar: str) -> CapturedWebhook:
    app = h.scripted_app()
    app.on("/voice", [{"GetSpeech": {
        "actionUrl": app.url("/heard"), "grammarType": "BUILTIN", "grammarFile": grammar,
        "prompts": [{"Say": {"text": "Please answer after the tone"}}], "playBeep": True}}])
    app.on("/heard", [{"Hangup": {}}])
    number = await h.number_for_app(voice_url=app.url("/voice"))
    call_id = await h.sim_call(CALLER, number, steps)
    await h.run_until_ended(call_id, limit_s=60)
    (hook,) = [w for w in h.webhooks_for(call_id) if w.request_type == "getSpeech"]
    return hook


async def test_a_spoken_yes_is_recognised_with_the_builtin_yes_no_grammar(h: Harness) -> None:
    hook = await _get_speech(h, [PhoneStep(4000, say="yes")], "VERSAY_YESNO")
    assert hook.body["reason"] == "recognition" and hook.body["recognitionResult"] == "yes"


async def test_spoken_digits_are_recognised_with_a_digits_grammar(h: Harness) -> None:
    hook = await _get_speech(h, [PhoneStep(4000, say="four two")], "DIG2")
    assert hook.body["reason"] == "recognition" and hook.body["recognitionResult"] == "42"


async def test_speech_barges_in_on_the_prompt(h: Harness) -> None:
    hook = await _get_speech(h, [PhoneStep(500, say="yes")], "VERSAY_YESNO")
    assert hook.body["reason"] == "recognition" and hook.body["recognitionResult"] == "yes"
    call_id = str(hook.body["callId"])
    (prompt,) = [e for e in h.transcript(call_id).entries if e.type == "say"]
    assert prompt.interrupted and 500 <= (prompt.heard_ms or 0) <= 800


async def test_a_key_ends_it_through_the_dtmf_detector(h: Harness) -> None:
    hook = await _get_speech(h, [PhoneStep(4000, digits="5")], "VERSAY_YESNO")
    assert hook.body["reason"] == "digit" and hook.body["recognitionResult"] == "5"
