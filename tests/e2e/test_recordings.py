"""RecordUtterance and StartRecordCall end to end on the symbolic sim through the test kit: the
`record` webhook as the official SDK parses it, the recording through the REST API, its audio
(speech spoken by the TTS voice, exactly as long as reported)."""

from __future__ import annotations

import asyncio
import errno
import logging
import math
from typing import Any

import freeclimb
import numpy as np
import pytest

from percl.engine.ports import RecordingQuery
from percl.media.audio.pcm import rms_dbfs
from percl.media.audio.wav import read_wav
from percl.telephony.sim.model import PhoneProgram, PhoneStep
from percl.testing.audio import LegAudio
from percl.testing.harness import Harness
from percl.testing.phones import hang_up, press, speak
from tests.e2e.conftest import AGENT, CALLER


def _voicemail(h: Harness, **record: Any) -> Any:
    app = h.scripted_app()
    app.on("/voice", [
        {"Say": {"text": "Leave a message after the beep"}},
        {"RecordUtterance": {"actionUrl": app.url("/recorded"), "finishOnKey": "#",
                             "playBeep": True, "maxLengthSec": 30, **record}},
    ])
    app.on("/recorded", lambda body: [{"Play": {"file": body["recordingUrl"]}}, {"Hangup": {}}])
    app.on("/status", [])
    return app


async def _audio(h: Harness, recording_id: str) -> np.ndarray:
    r = await h.rest.get(f"/Accounts/{h.account.account_id}/Recordings/{recording_id}/Download")
    assert r.status_code == 200
    [pcm], rate = read_wav(r.content)
    assert rate == 8000
    return pcm


def _records(h: Harness) -> list[Any]:
    return [w for w in h.webhooks if w.request_type == "record"]


async def test_voicemail_records_until_the_finish_key_and_plays_it_back(h: Harness) -> None:
    app = _voicemail(h)
    number = await h.number_for(app, voice_path="/voice", status_path="/status")
    # recording from about 3 s (the prompt and the beep); well inside the 5 s silence window
    call_id = await h.sim_call(CALLER, number, [speak("please call me back", after_ms=5000),
                                                press("#", after_ms=9000)])
    await h.run_until_ended(call_id)
    [record] = _records(h)
    parsed = freeclimb.RecordWebhook.from_dict(record.body)
    assert parsed is not None and parsed.term_reason == freeclimb.RecordUtteranceTermReason.FINISH_KEY
    assert parsed.recording_format == "audio/wav" and isinstance(record.body["recordingSize"], str)
    rid = parsed.recording_id
    assert rid and parsed.recording_url.endswith(f"/Recordings/{rid}/Download")
    api = h.freeclimb_api()
    got = await asyncio.to_thread(api.get_a_recording, rid)
    assert got.call_id == call_id and got.duration_sec == parsed.recording_duration_sec
    stored = await h.platform.store.get_recording(rid)
    assert stored is not None and int(record.body["recordingSize"]) == stored.size
    assert parsed.recording_duration_sec == math.ceil(stored.duration_ms / 1000)
    pcm = await _audio(h, rid)
    assert abs(len(pcm) / 8 - stored.duration_ms) <= 20  # the audio lasts what is reported
    assert rms_dbfs(pcm) > -50  # the caller's words, spoken by the TTS voice
    # the message was left between the beep and the '#': its end is the '#', not recorded
    assert rms_dbfs(pcm[-800:]) < -80
    [recording] = await h.recordings(call_id)
    assert h.recording_words(recording) == ["please call me back"]
    played = [w for w in h.transcript(call_id).entries if w.type == "play"]
    assert played, "the recording was played back to the caller"
    status = [w for w in h.webhooks if w.request_type == "callStatus"][-1]
    assert "recordingId" not in status.body or status.body["recordingId"] is None


@pytest.mark.percl_media("audio")
async def test_the_finish_key_tone_is_left_out_of_the_recording_in_audio(h: Harness) -> None:
    app = _voicemail(h)
    number = await h.number_for(app, voice_path="/voice", status_path="/status")
    call_id = await h.sim_call(CALLER, number, [speak("call me", after_ms=4000),
                                                press("#", after_ms=7000)])
    await h.run_until_ended(call_id)
    [record] = _records(h)
    assert record.body["termReason"] == "finishKey"
    [recording] = await h.recordings(call_id)
    [pcm], _ = read_wav(h.recording_wav(recording.recording_id))
    assert rms_dbfs(pcm[: 8 * 2500]) > -50  # the words are there
    # the take ends where the '#' tone began, though the detector heard it ~40 ms later
    assert rms_dbfs(pcm[-8 * 200:]) < -80


@pytest.mark.percl_media("audio")
async def test_the_voicemail_played_back_is_the_recording_sample_for_sample(h: Harness) -> None:
    # The app plays the recordingUrl: percl reads its own recording in-process (over REST it
    # needs the account's credentials), so the caller hears the message, not silence.
    app = _voicemail(h)
    call = await h.phone(CALLER).calls(
        await h.number_for(app, voice_path="/voice", status_path="/status"),
        speak("please call me back", after_ms=4000), press("#", after_ms=7000))
    await call.expect_hangup(reason="appHangup")
    [recording] = await h.recordings(call.call_id)
    [message], _ = read_wav(h.recording_wav(recording.recording_id))
    audio = await call.audio()
    at = audio.offset_of(message, min_match=0.99)
    assert at is not None and at >= 7.0  # after the '#': the playback, not the beep or prompt
    start = round(at * 8000)
    assert np.array_equal(audio.heard[start:start + len(message)], message)
    # the playback lasts the recording: the hangup follows it
    assert audio.seconds - (at + len(message) / 8000) < 0.2


async def test_silence_ends_the_recording_with_timeout(h: Harness) -> None:
    app = _voicemail(h, silenceTimeoutMs=2000)
    number = await h.number_for(app, voice_path="/voice", status_path="/status")
    # recording from 3 s (symbolic: the prompt's modelled length and the beep) or about 1.9 s
    # (audio: espeak's prompt); speech before either, then at 3.2 s; 2 s of silence after
    call_id = await h.sim_call(CALLER, number, [speak("before the beep", after_ms=0),
                                                speak("hello", after_ms=3200)])
    await h.run_until_ended(call_id)
    [recording] = await h.recordings(call_id)
    assert h.recording_words(recording) == ["hello"]  # not what was said before it started
    [record] = _records(h)
    assert record.body["termReason"] == "timeout"
    stored = await h.platform.store.get_recording(record.body["recordingId"])
    assert stored is not None
    # 2 s after the last sound: "hello"'s start in symbolic (speech is one event), its end in
    # audio (the voice's frames), so at most the spoken word's real length later
    ended_ms = round(stored.date_created * 1000) - h.transcript(call_id).created_ms
    assert 0 <= ended_ms - (3200 + 2000) <= len(h.speech("hello")) / 8 + 20


async def test_max_length_ends_the_recording(h: Harness) -> None:
    app = _voicemail(h, maxLengthSec=3, silenceTimeoutMs=0)
    number = await h.number_for(app, voice_path="/voice", status_path="/status")
    call_id = await h.sim_call(CALLER, number)
    await h.run_until_ended(call_id)
    [record] = _records(h)
    assert (record.body["termReason"], record.body["recordingDurationSec"]) == ("maxLength", 3)


async def test_a_hangup_while_recording_still_reports_the_recording(h: Harness) -> None:
    app = _voicemail(h)
    number = await h.number_for(app, voice_path="/voice", status_path="/status")
    call_id = await h.sim_call(CALLER, number, [speak("call me back", after_ms=4000),
                                                hang_up(after_ms=6000)])
    await h.run_until_ended(call_id)
    kinds = [w.request_type for w in h.webhooks]
    assert kinds[-2:] == ["record", "callStatus"]
    [record] = _records(h)
    assert record.body["termReason"] == "hangup" and record.body["recordingId"]
    assert freeclimb.RecordWebhook.from_dict(record.body) is not None


async def test_start_record_call_reports_the_recording_in_call_status(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"StartRecordCall": {}}, {"Say": {"text": "Speak now"}},
                      {"Pause": {"length": 10000}}, {"Hangup": {}}])
    app.on("/status", [])
    number = await h.number_for(app, voice_path="/voice", status_path="/status")
    call_id = await h.sim_call(CALLER, number, [speak("this call is recorded", after_ms=3000)])
    record = await h.run_until_ended(call_id)
    status = [w for w in h.webhooks if w.request_type == "callStatus"][-1].body
    rid = status["recordingId"]
    assert rid and status["recordingUrl"].endswith(f"/Recordings/{rid}/Download")
    assert freeclimb.CallStatusWebhook.from_dict(status) is not None
    api = h.freeclimb_api()
    listed = await asyncio.to_thread(api.list_call_recordings, call_id)
    assert [r.recording_id for r in listed.recordings] == [rid]
    stored = await h.platform.store.get_recording(rid)
    assert stored is not None and status["recordingDurationSec"] == math.ceil(stored.duration_ms / 1000)
    assert record.end_time is not None
    pcm = await _audio(h, rid)
    assert abs(len(pcm) / 8 - stored.duration_ms) <= 20 and rms_dbfs(pcm) > -50



def _found_at(h: Harness, recording: np.ndarray, text: str) -> float | None:
    """Seconds into `recording` where the TTS voice's `text` starts (None: not in it)."""
    return LegAudio(recording, recording).offset_of(h.speech(text), min_match=0.9)


async def test_start_record_call_mixes_what_the_caller_hears_and_says(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"StartRecordCall": {}}, {"Say": {"text": "Speak now"}},
                      {"Pause": {"length": 6000}}, {"Hangup": {}}])
    app.on("/status", [])
    number = await h.number_for(app, voice_path="/voice", status_path="/status")
    call_id = await h.sim_call(CALLER, number, [speak("this call is recorded", after_ms=3000)])
    await h.run_until_ended(call_id)
    status = [w for w in h.webhooks if w.request_type == "callStatus"][-1].body
    pcm = await _audio(h, status["recordingId"])
    prompt, caller = _found_at(h, pcm, "Speak now"), _found_at(h, pcm, "this call is recorded")
    assert prompt is not None and prompt < 0.2  # percl's prompt, heard by the caller
    assert caller is not None and 2.9 < caller < 3.2  # the caller's words, when said
    stored = await h.platform.store.get_recording(status["recordingId"])
    assert stored is not None and abs(len(pcm) / 8 - stored.duration_ms) <= 20


async def test_a_bridged_outdial_is_recorded_whole_both_parties_mixed(h: Harness) -> None:
    app = h.scripted_app()
    cf: dict[str, str] = {}

    def created(body: dict[str, Any]) -> list[Any]:
        cf["id"] = body["conferenceId"]
        return [{"OutDial": {"destination": AGENT, "callingNumber": body["to"],
                             "actionUrl": app.url("/dialed"),
                             "callConnectUrl": app.url("/connected")}}]

    app.on("/voice", [{"StartRecordCall": {}}, {"CreateConference": {
        "actionUrl": app.url("/created"), "playBeep": "never"}}])
    app.on("/created", created)
    app.on("/dialed", lambda body: [{"AddToConference": {"conferenceId": cf["id"]}}])
    app.on("/connected", lambda body: [{"AddToConference": {"conferenceId": cf["id"]}}])
    app.on("/status", [])
    h.platform.sim.program(AGENT, PhoneProgram(script=(
        PhoneStep(2000, say="hello this is the agent"), PhoneStep(9000, hangup=True))))
    number = await h.number_for(app, voice_path="/voice", status_path="/status")
    call_id = await h.sim_call(CALLER, number, [speak("I need some help please", after_ms=6000),
                                                hang_up(after_ms=10_000)])
    call = await h.run_until_ended(call_id)
    status = next(w.body for w in h.webhooks_for(call_id) if w.request_type == "callStatus")
    assert freeclimb.CallStatusWebhook.from_dict(status) is not None
    rid = status["recordingId"]
    assert rid and status["recordingUrl"].endswith(f"/Recordings/{rid}/Download")
    pcm = await _audio(h, rid)
    agent, caller = _found_at(h, pcm, "hello this is the agent"), _found_at(
        h, pcm, "I need some help please")
    assert agent is not None and caller is not None and agent + 1.5 < caller  # both, in order
    stored = await h.platform.store.get_recording(rid)
    assert stored is not None and abs(len(pcm) / 8 - stored.duration_ms) <= 20
    assert status["recordingDurationSec"] == math.ceil(stored.duration_ms / 1000)
    assert call.connect_time is not None and call.end_time is not None
    assert abs(stored.duration_ms / 1000 - (call.end_time - call.connect_time)) < 0.1


async def test_a_zero_length_call_recording_is_reported_empty(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"StartRecordCall": {}}, {"Hangup": {}}])
    app.on("/status", [])
    number = await h.number_for(app, voice_path="/voice", status_path="/status")
    call_id = await h.sim_call(CALLER, number)
    await h.run_until_ended(call_id)
    status = [w for w in h.webhooks if w.request_type == "callStatus"][-1].body
    assert (status["recordingUrl"], status["recordingId"], status["recordingDurationSec"]) == (
        "", "", 0)
    assert freeclimb.CallStatusWebhook.from_dict(status) is not None
    assert await h.recordings(call_id) == []


async def test_auto_start_records_from_the_first_sound(h: Harness) -> None:
    app = _voicemail(h, autoStart=True, privacyMode=True)
    number = await h.number_for(app, voice_path="/voice", status_path="/status")
    # listening from 3 s; the caller speaks at 6 s and presses '#' at 9 s
    call_id = await h.sim_call(CALLER, number, [speak("it is me", after_ms=6000),
                                                press("#", after_ms=9000)])
    await h.run_until_ended(call_id)
    [record] = _records(h)
    assert record.body["privacyMode"] is True and record.body["termReason"] == "finishKey"
    [recording] = await h.recordings(call_id)
    # from the first sound (audio: after the voice's 50-100 ms lead-in of silence) to the '#'
    assert 2900 <= recording.duration_ms <= 3000
    assert record.body["recordingId"] == recording.recording_id
    [pcm], _ = read_wav(h.recording_wav(recording.recording_id))
    assert len(pcm) == recording.duration_ms * 8
    assert rms_dbfs(pcm[: 8 * 1000]) > -50  # speech right at the start


class _FullDisk:
    """RecordingFiles on a disk with no space left."""

    def put(self, recording_id: str, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def open(self, recording_id: str) -> None:
        return None

    def delete(self, recording_id: str) -> None:
        return None

    def size(self, recording_id: str) -> None:
        return None

    def ids(self) -> list[str]:
        return []


async def test_a_full_disk_reports_the_recording_failed_and_the_call_goes_on(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h.platform.recordings.files = _FullDisk()
    app = _voicemail(h)
    app.on("/recorded", [{"Say": {"text": "Thanks anyway"}}, {"Hangup": {}}])
    number = await h.number_for(app, voice_path="/voice", status_path="/status")
    with caplog.at_level(logging.ERROR):
        call_id = await h.sim_call(CALLER, number, [speak("call me back", after_ms=4000),
                                                    press("#", after_ms=5000)])
        call = await h.run_until_ended(call_id)
    assert "No space left on device" in caplog.text
    [record] = _records(h)
    assert (record.body["recordingId"], record.body["recordingSize"]) == ("", "0")
    assert freeclimb.RecordWebhook.from_dict(record.body) is not None
    assert "Thanks anyway" in [e.text for e in h.transcript(call_id).entries]
    assert call.call_ended_reason.value == "appHangup" and await h.recordings(call_id) == []


async def test_a_hangup_during_the_beep_reports_an_empty_recording(h: Harness) -> None:
    app = _voicemail(h)
    number = await h.number_for(app, voice_path="/voice", status_path="/status")
    beep_ms = h.say_ms("Leave a message after the beep")  # the beep: 300 ms from here
    call_id = await h.sim_call(CALLER, number, [hang_up(after_ms=beep_ms + 100)])
    await h.run_until_ended(call_id)
    [record] = _records(h)
    assert (record.body["termReason"], record.body["recordingDurationSec"]) == ("hangup", 0)
    [recording] = await h.recordings(call_id)
    assert recording.duration_ms == 0 and h.platform.recording.taps == {}
    assert not [line for line in await h.logs(call_id) if "Internal error" in line.message]


async def test_a_recorded_conference_is_recorded_from_in_progress_to_empty(h: Harness) -> None:
    app = h.scripted_app()
    cf: dict[str, str] = {}

    def created(body: dict[str, Any]) -> list[Any]:
        cf["id"] = body["conferenceId"]
        return [{"OutDial": {"destination": AGENT, "callingNumber": body["to"],
                             "actionUrl": app.url("/dialed"),
                             "callConnectUrl": app.url("/connected")}}]

    app.on("/voice", [{"CreateConference": {
        "actionUrl": app.url("/created"), "playBeep": "never", "record": True,
        "statusCallbackUrl": app.url("/conference")}}])
    app.on("/created", created)
    # the caller waits (startConfOnEnter false): the conference starts when the agent joins
    app.on("/dialed", lambda body: [{"AddToConference": {"conferenceId": cf["id"],
                                                         "startConfOnEnter": False}}])
    app.on("/connected", lambda body: [{"AddToConference": {"conferenceId": cf["id"]}}])
    app.on("/conference", [])
    app.on("/status", [])
    h.platform.sim.program(AGENT, PhoneProgram(script=(
        PhoneStep(2000, say="hello this is the agent"), PhoneStep(9000, hangup=True))))
    number = await h.number_for(app, voice_path="/voice", status_path="/status")
    call_id = await h.sim_call(CALLER, number, [speak("I need some help please", after_ms=6000),
                                                hang_up(after_ms=12_000)])
    await h.run_until_ended(call_id)
    await h.advance(1)
    hooks = [w for w in h.webhooks if w.path == "/conference"]
    kinds = [(w.request_type, w.body["status"]) for w in hooks]
    assert kinds == [("createConference", "empty"), ("conferenceStatus", "populated"),
                     ("conferenceStatus", "inProgress"), ("conferenceStatus", "empty"),
                     ("conferenceRecordingStatus", "empty")]
    assert all(w.body["recordingId"] is None for w in hooks[:4])  # none finished before
    rec = hooks[-1].body
    parsed = freeclimb.ConferenceRecordingStatusWebhook.from_dict(rec)
    assert parsed is not None and parsed.recording_id == rec["recordingId"]
    assert rec["conferenceId"] == cf["id"] and rec["recordingUrl"].endswith(
        f"/Recordings/{rec['recordingId']}/Download")
    api = h.freeclimb_api()
    listed = await asyncio.to_thread(api.list_conference_recordings, cf["id"])
    [got] = listed.recordings
    assert got.recording_id == rec["recordingId"] and got.conference_id == cf["id"]
    assert got.call_id is None
    stored = await h.platform.store.get_recording(rec["recordingId"])
    assert stored is not None and rec["recordingDurationSec"] == math.ceil(stored.duration_ms / 1000)
    pcm = await _audio(h, rec["recordingId"])
    assert abs(len(pcm) / 8 - stored.duration_ms) <= 20
    agent, caller = _found_at(h, pcm, "hello this is the agent"), _found_at(
        h, pcm, "I need some help please")
    assert agent is not None and caller is not None and agent + 1.5 < caller  # both, in order
    # from inProgress (the agent joined) to empty (the last one left: the agent at 9 s)
    conference_hooks = {w.body["status"]: w for w in hooks[:4]}
    began = conference_hooks["inProgress"].sent_at
    assert abs(stored.duration_ms / 1000 - (conference_hooks["empty"].sent_at - began)) < 0.05


async def test_a_conference_without_record_is_not_recorded(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"CreateConference": {"actionUrl": app.url("/created"),
                                            "statusCallbackUrl": app.url("/conference")}}])
    app.on("/created", lambda body: [{"AddToConference": {"conferenceId": body["conferenceId"]}}])
    app.on("/conference", [])
    app.on("/status", [])
    number = await h.number_for(app, voice_path="/voice", status_path="/status")
    call_id = await h.sim_call(CALLER, number, [speak("anyone there", after_ms=1000),
                                                hang_up(after_ms=3000)])
    await h.run_until_ended(call_id)
    await h.advance(1)
    kinds = [w.request_type for w in h.webhooks if w.path == "/conference"]
    assert "conferenceRecordingStatus" not in kinds and kinds[-1] == "conferenceStatus"
    assert await h.platform.store.list_recordings(RecordingQuery()) == []


async def test_the_kit_tells_what_a_voicemail_contains(h: Harness) -> None:
    app = _voicemail(h)
    number = await h.number_for(app, voice_path="/voice", status_path="/status")
    call_id = await h.sim_call(CALLER, number, [speak("please call me back", after_ms=4000),
                                                speak("thank you", after_ms=7000),
                                                press("#", after_ms=10_000)])
    await h.run_until_ended(call_id)
    [recording] = await h.recordings(call_id)
    phrases = ["please call me back", "thank you", "goodbye", "check my balance"]
    assert h.recording_heard(recording, phrases) == ["please call me back", "thank you"]
    assert abs(recording.duration_ms - (10_000 - h.say_ms(
        "Leave a message after the beep") - 300)) <= 120  # from the beep's end to the '#'


async def test_a_private_recording_lasts_two_minutes_and_is_not_played(h: Harness) -> None:
    app = _voicemail(h, privacyMode=True)
    app.on("/recorded", lambda body: [{"Play": {"file": body["recordingUrl"]}}, {"Hangup": {}}])
    number = await h.number_for(app, voice_path="/voice", status_path="/status")
    call_id = await h.sim_call(CALLER, number, [speak("my pin is four", after_ms=4000),
                                                press("#", after_ms=6000)])
    await h.run_until_ended(call_id)
    [record] = _records(h)
    rid = record.body["recordingId"]
    assert (await h.platform.fetcher.fetch(record.body["recordingUrl"])).status == 403
    r = await h.rest.get(f"/Accounts/{h.account.account_id}/Recordings/{rid}/Download")
    assert r.status_code == 200  # the app may download it for two minutes
    await h.advance(120)
    assert await h.recordings(call_id) == []
    assert h.platform.recording_files.size(rid) is None  # the file went with its record
