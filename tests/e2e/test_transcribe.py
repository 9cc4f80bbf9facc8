"""TranscribeUtterance end to end through the test kit: prompts and barge-in, the recording and
its end, the `transcribe` webhook as the official SDK parses it. The symbolic network carries the
caller's words (the transcript is exact); in audio the Transcriber port gets the WAV."""

from __future__ import annotations

import asyncio
from typing import Any

import freeclimb
import numpy as np
import pytest

from percl.engine.ports import TranscriptionFailed
from percl.media.audio.pcm import rms_dbfs
from percl.media.audio.wav import read_wav
from percl.testing.harness import Harness
from percl.testing.phones import hang_up, press, speak
from tests.e2e.conftest import CALLER

PROMPT = "Please say your message after the beep"


def _app(h: Harness, **attrs: Any) -> Any:
    app = h.scripted_app()
    command = {"actionUrl": app.url("/done"), "prompts": [{"Say": {"text": PROMPT}}], **attrs}
    app.on("/voice", [{"TranscribeUtterance": command}])
    app.on("/done", [{"Say": {"text": "Thank you"}}, {"Hangup": {}}])
    app.on("/status", [])
    return app


async def _run(h: Harness, app: Any, *script: Any) -> tuple[str, dict[str, Any]]:
    number = await h.number_for(app, voice_path="/voice", status_path="/status")
    call_id = await h.sim_call(CALLER, number, list(script))
    await h.run_until_ended(call_id)
    [hook] = [w for w in h.webhooks if w.request_type == "transcribe"]
    parsed = freeclimb.TranscribeWebhook.from_dict(hook.body)
    assert parsed is not None and parsed.call_id == call_id
    return call_id, hook.body


@pytest.mark.percl_media("symbolic")
async def test_the_caller_is_recorded_transcribed_and_the_recording_kept(h: Harness) -> None:
    app = _app(h, playBeep=True, record={"saveRecording": True, "maxLengthSec": 30,
                                         "rcrdTerminationSilenceTimeMs": 1500})
    prompt_ms = h.say_ms(PROMPT)
    call_id, body = await _run(h, app, speak("please call me back", after_ms=prompt_ms + 1000))
    assert body["transcript"] == "please call me back"
    assert (body["termReason"], body["recordTermReason"], body["bargeInReason"]) == (
        "completed", "timeout", "noBargeIn")
    assert "transcribeReason" not in body or body["transcribeReason"] is None
    rid = body["recordingId"]
    assert rid and body["recordingUrl"].endswith(f"/Recordings/{rid}/Download")
    assert isinstance(body["recordingSize"], int) and body["recordingFormat"] == "audio/wav"
    stored = await h.platform.store.get_recording(rid)
    assert stored is not None and stored.call_id == call_id and stored.size == body["recordingSize"]
    assert body["recordingDurationMs"] == body["transcriptionDurationMs"] == stored.duration_ms
    assert 1480 <= stored.duration_ms <= 1520  # from the words to 1.5 s of silence
    [pcm], _ = read_wav(h.recording_wav(rid))
    assert abs(len(pcm) / 8 - stored.duration_ms) <= 20 and rms_dbfs(pcm) > -50
    kinds = [str(e.type) for e in h.transcript(call_id).entries]
    assert kinds.index("beep") > kinds.index("say")  # the beep after the prompt
    assert "Thank you" in [e.text for e in h.transcript(call_id).entries]  # actionUrl's PerCL


@pytest.mark.percl_media("symbolic")
async def test_a_key_during_the_prompt_barges_in(h: Harness) -> None:
    app = _app(h)
    _, body = await _run(h, app, press("1", after_ms=700), speak("my account", after_ms=1500))
    assert (body["bargeInReason"], body["bargedInPromptNo"], body["bargedInPromptLoopNo"]) == (
        "bargeInByDTMF", 1, 1)
    assert 650 <= body["bargedInPromptMs"] <= 800
    assert isinstance(body["bargeInTimeMs"], int) and body["bargeInTimeMs"] > 1_000_000_000_000
    assert body["transcript"] == "my account" and body.get("recordingId") is None


@pytest.mark.percl_media("symbolic")
async def test_speech_during_the_prompt_barges_in_and_is_transcribed(h: Harness) -> None:
    app = _app(h, prompts=[{"Say": {"text": "first prompt"}}, {"Say": {"text": PROMPT,
                                                                       "loop": 2}}])
    first = h.say_ms("first prompt")
    second = h.say_ms(PROMPT)
    _, body = await _run(h, app, speak("agent please", after_ms=first + second + 500))
    assert (body["bargeInReason"], body["bargedInPromptNo"], body["bargedInPromptLoopNo"]) == (
        "bargeInByEnergy", 2, 2)
    assert abs(body["bargedInPromptMs"] - 500) <= 50
    assert body["transcript"] == "agent please"


@pytest.mark.percl_media("symbolic")
async def test_a_key_while_recording_ends_it_with_digit(h: Harness) -> None:
    app = _app(h, record={"rcrdTerminationSilenceTimeMs": 3000})
    start = h.say_ms(PROMPT)
    _, body = await _run(h, app, speak("hello", after_ms=start + 500),
                         press("5", after_ms=start + 1500))
    assert (body["transcribeReason"], body["digit"], body["recordTermReason"]) == (
        "digit", "5", "finishKey")
    assert body["transcript"] == "hello" and body["recordingDurationMs"] == 1000


@pytest.mark.percl_media("symbolic")
async def test_no_input_and_max_length(h: Harness) -> None:
    app = _app(h)
    _, body = await _run(h, app)
    assert (body["transcribeReason"], body["transcript"], body["termReason"]) == (
        "noInput", "", "completed")
    assert body["recordingDurationMs"] == 0


@pytest.mark.percl_media("symbolic")
async def test_max_length_cuts_a_long_message(h: Harness) -> None:
    app = _app(h, record={"maxLengthSec": 2, "rcrdTerminationSilenceTimeMs": 3000})
    start = h.say_ms(PROMPT)
    _, body = await _run(h, app, *[speak(f"word {i}", after_ms=start + 500 + 800 * i)
                                   for i in range(5)])
    assert (body["transcribeReason"], body["recordTermReason"]) == ("maxLength", "maxLength")
    assert body["recordingDurationMs"] == 2000 and body["transcript"] == "word 0 word 1 word 2"


@pytest.mark.percl_media("symbolic")
async def test_a_hangup_still_reports_the_transcript(h: Harness) -> None:
    app = _app(h, record={"rcrdTerminationSilenceTimeMs": 3000})
    start = h.say_ms(PROMPT)
    call_id, body = await _run(h, app, speak("call me", after_ms=start + 500),
                               hang_up(after_ms=start + 1500))
    assert (body["transcribeReason"], body["recordTermReason"], body["transcript"]) == (
        "hangup", "hangup", "call me")
    assert [w.request_type for w in h.webhooks_for(call_id)][-2:] == ["transcribe", "callStatus"]
    assert "Thank you" not in [e.text for e in h.transcript(call_id).entries]


@pytest.mark.percl_media("symbolic")
async def test_privacy_masks_the_logs_and_expires_the_recording(h: Harness) -> None:
    app = _app(h, privacyForLogging=True, privacyForRecording=True,
               record={"saveRecording": True})
    call_id, body = await _run(h, app, speak("my secret", after_ms=h.say_ms(PROMPT) + 500))
    assert body["transcript"] == "my secret"  # the app gets it
    assert (body["privacyForLogging"], body["privacyForRecording"]) == (True, True)
    logged = [line.metadata for line in await h.logs(call_id)
              if line.metadata and line.metadata.get("requestType") == "transcribe"]
    assert logged and all(m["requestBody"]["transcript"] == "xxxxx" for m in logged)
    rid = body["recordingId"]
    r = await h.rest.get(f"/Accounts/{h.account.account_id}/Recordings/{rid}/Download")
    assert r.status_code == 200  # downloadable for two minutes...
    fetched = await h.platform.fetcher.fetch(body["recordingUrl"])
    assert fetched.status == 403  # ...but not played
    await h.advance(121)
    assert await h.platform.store.get_recording(rid) is None
    r = await h.rest.get(f"/Accounts/{h.account.account_id}/Recordings/{rid}/Download")
    assert r.status_code == 404


class _Engine:
    """A Transcriber double: keeps the WAVs it was given, answers `answer` (or fails)."""

    def __init__(self, answer: str | None) -> None:
        self.answer = answer
        self.wavs: list[bytes] = []

    async def transcribe(self, wav: bytes) -> str:
        self.wavs.append(wav)
        if self.answer is None:
            raise TranscriptionFailed("the engine is down")
        return self.answer


@pytest.mark.percl_media("audio")
async def test_in_audio_the_transcriber_gets_the_callers_recording(h: Harness) -> None:
    engine = _Engine("call me back")
    h.platform.transcribing.transcriber = engine
    app = _app(h, record={"saveRecording": True})
    _, body = await _run(h, app, speak("call me back", after_ms=h.say_ms(PROMPT) + 500))
    [wav] = engine.wavs
    assert body["transcript"] == "call me back" and body["termReason"] == "completed"
    [pcm], rate = read_wav(wav)
    assert rate == 8000 and len(pcm) / 8 == body["transcriptionDurationMs"]
    assert rms_dbfs(pcm[:8000]) > -50  # the caller's words from the start
    assert np.array_equal(pcm, read_wav(h.recording_wav(body["recordingId"]))[0][0])


@pytest.mark.percl_media("audio")
async def test_a_failed_transcription_is_an_error_with_a_null_transcript(h: Harness) -> None:
    h.platform.transcribing.transcriber = _Engine(None)
    app = _app(h)
    call_id, body = await _run(h, app, speak("hello there", after_ms=h.say_ms(PROMPT) + 500))
    assert (body["termReason"], body["transcript"], body["transcribeReason"]) == (
        "error", None, "internalError")
    assert any("the engine is down" in line.message for line in await h.logs(call_id))


async def test_the_sdk_parses_the_webhook_it_sends_in_both_fidelities(h: Harness) -> None:
    h.platform.transcribing.transcriber = _Engine("anything")
    app = _app(h, playBeep=True, record={"saveRecording": True})
    _, body = await _run(h, app, speak("anything", after_ms=h.say_ms(PROMPT) + 800))
    parsed = freeclimb.TranscribeWebhook.from_dict(body)
    assert parsed.transcript == "anything" and parsed.recording_size == body["recordingSize"]
    api = h.freeclimb_api()
    got = await asyncio.to_thread(api.get_a_recording, body["recordingId"])
    assert got.recording_id == body["recordingId"]
