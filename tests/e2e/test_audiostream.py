"""AudioStream end to end: a real gRPC agent (FreeClimb's contract) and a real WebSocket agent
(percl's extension), in-process on 127.0.0.1, against a call in audio fidelity on the FakeClock
(pacing.InFlight keeps the clock in step with the agent's messages)."""

from __future__ import annotations

import numpy as np
import pytest
from freeclimb.models.audio_stream_webhook import AudioStreamWebhook
from freeclimb.models.call_result import CallResult
from freeclimb.models.call_status_webhook import CallStatusWebhook
from freeclimb.models.webhook import Webhook

from percl.config import AudioStreamSettings, Settings
from percl.domain.enums import CallEndedReason
from percl.media.audio.pcm import Pcm
from percl.media.audio.tones import sine
from percl.streaming import messages as m
from percl.testing.agents import AgentStream, FakeAgent, echo
from percl.testing.audio import LegAudio
from percl.testing.harness import Harness
from percl.testing.phones import hang_up, press, speak
from tests.e2e.conftest import CALLER

HELLO = "hello there"


def _close_after(frames: int, inner=None):  # type: ignore[no-untyped-def]
    """An on_event that closes the stream once `frames` audio frames came (and runs `inner`)."""

    def on_event(stream: AgentStream, event: m.PlatformEvent) -> list[m.AppCommand]:
        replies = list(inner(stream, event) or ()) if inner else []
        if isinstance(event, m.AudioData) and len(stream.frames) == frames:
            stream.close()
        return replies

    return on_event


def _match(track: Pcm, sound: Pcm) -> float | None:
    """Where `sound` starts in `track` (seconds), by normalised cross-correlation >= 0.8."""
    return LegAudio(track, track).offset_of(sound, min_match=0.8)


@pytest.mark.parametrize("kind", ["grpc", "ws"])
async def test_the_agent_hears_the_caller_and_the_caller_hears_the_agent(kind: str) -> None:
    async with Harness(media="audio") as h:
        async with FakeAgent(kind, inflight=h.platform.streaming.inflight,
                             on_event=_close_after(150, echo)) as agent:
            app = h.scripted_app()
            app.on("/voice", [{"AudioStream": {"location": agent.location,
                                               "actionUrl": app.url("/after"),
                                               "metaData": ["order", "42"]}}])
            app.on("/after", [{"Hangup": {}}])
            call = await h.phone(CALLER).calls(await h.number_for(app), speak(HELLO, after_ms=500))
            await call.expect_hangup(reason="appHangup")
            audio = await call.audio()
        speech = h.speech(HELLO, "en-US")
        stream = agent.streams[0]
        assert stream.started is not None and stream.started.metadata == ("order", "42")
        assert stream.started.content_type == "audio/mulaw;rate=8000"
        assert {len(f) for f in stream.frames} == {160} and 150 <= len(stream.frames) <= 152
        heard_at = _match(stream.heard(), speech)  # what the agent got is what the phone said
        said_at = audio.offset_of(speech, side="sent", min_match=0.8)
        assert heard_at is not None and said_at is not None
        echo_at = audio.offset_of(speech, min_match=0.8)  # and the phone heard it back
        assert echo_at is not None and 0 <= echo_at - said_at < 0.1, (said_at, echo_at)
        after = [w for w in h.webhooks_for(call.call_id) if w.path == "/after"]
        assert len(after) == 1 and after[0].request_type == "audioStream"
        assert isinstance(Webhook.from_json(after[0].raw.decode()), AudioStreamWebhook)
        record = await h.call(call.call_id)
        assert record.audio_stream_ms == 3000 and record.audio_stream_duration == 3


def _settings(**audiostream: float) -> Settings:
    return Settings(db=":memory:", audiostream=AudioStreamSettings(**audiostream))  # type: ignore[arg-type]


async def _streamed_call(h: Harness, location: str, steps: tuple = (), *,  # type: ignore[type-arg]
                         action: bool = True, after: list | None = None):  # type: ignore[type-arg]
    """A call whose /voice is an AudioStream to `location` (actionUrl /after, which hangs up);
    its statusCallbackUrl is /status. Returns (app, call)."""
    app = h.scripted_app()
    stream: dict[str, object] = {"location": location}
    if action:
        stream["actionUrl"] = app.url("/after")
    app.on("/voice", [{"AudioStream": stream}])
    app.on("/after", after if after is not None else [{"Say": {"text": "after"}}, {"Hangup": {}}])
    app.on("/status", [])
    number = await h.number_for(app, status_path="/status")
    call = await h.phone(CALLER).calls(number, *steps)
    return app, call


def _status_reason(h: Harness, call_id: str) -> str:
    (status,) = [w for w in h.webhooks_for(call_id) if w.path == "/status"]
    parsed = Webhook.from_json(status.raw.decode())
    assert isinstance(parsed, CallStatusWebhook)
    return str(parsed.call_ended_reason.value)


async def _log_lines(h: Harness, call_id: str) -> list[str]:
    return [entry.message for entry in await h.logs(call_id)]


async def test_keys_reach_the_agent_and_the_agent_presses_keys_to_the_caller() -> None:
    def on_event(stream: AgentStream, event: m.PlatformEvent) -> list[m.AppCommand]:
        if isinstance(event, m.DtmfEnded) and stream.digits == "12#":
            return [m.PressDtmf("reply", "9", 100, 100)]
        if isinstance(event, m.Acknowledged) and event.kind == m.DTMF_PLAY_COMPLETED:
            stream.close()
        return []

    async with Harness(media="audio") as h, FakeAgent(
            "grpc", inflight=h.platform.streaming.inflight, on_event=on_event) as agent:
        _app, call = await _streamed_call(h, agent.location, (press("12#", after_ms=300),))
        await call.expect_tones("9")
        await call.expect_hangup(reason="appHangup")
        stream = agent.streams[0]
        assert stream.digits == "12#"
        assert [e.digit for e in stream.of_type(m.DtmfStarted)] == ["1", "2", "#"]
        kinds = [e.kind for e in stream.of_type(m.Acknowledged)]
        assert kinds == [m.DTMF_PLAY_STARTED, m.DTMF_PLAY_COMPLETED]
        paths = [w.path for w in h.webhooks_for(call.call_id)]
        assert paths == ["/voice", "/after", "/status"]  # the keys ran no PerCL


async def test_without_action_url_the_call_hangs_up_with_grpc_hangup_when_the_agent_closes() -> None:
    async with Harness(media="audio") as h, FakeAgent(
            "ws", inflight=h.platform.streaming.inflight, on_event=_close_after(50)) as agent:
        _app, call = await _streamed_call(h, agent.location, action=False)
        await call.expect_hangup()
        record = await h.call(call.call_id)
        assert record.call_ended_reason is CallEndedReason.GRPC_HANGUP
        assert _status_reason(h, call.call_id) == "grpcHangup"  # the SDK's enum has it
        assert record.audio_stream_ms == 1000
        assert any("AudioStream ended: the agent closed the stream" in line
                   for line in await _log_lines(h, call.call_id))


async def test_terminate_call_hangs_up_and_tells_action_url_whose_percl_is_ignored() -> None:
    def on_event(stream: AgentStream, event: m.PlatformEvent) -> list[m.AppCommand]:
        return [m.TerminateCall()] if len(stream.frames) == 25 and isinstance(
            event, m.AudioData) else []

    async with Harness(media="audio") as h, FakeAgent(
            "grpc", inflight=h.platform.streaming.inflight, on_event=on_event) as agent:
        _app, call = await _streamed_call(h, agent.location)
        await call.expect_hangup()
        record = await h.call(call.call_id)
        assert record.call_ended_reason is CallEndedReason.GRPC_HANGUP
        assert [w.path for w in h.webhooks_for(call.call_id)] == ["/voice", "/after", "/status"]
        assert "after" not in [e.text for e in h.transcript(call.call_id).entries if e.type == "say"]
        ended = agent.streams[0].ended
        assert ended is not None and ended.code is m.EndCode.APPLICATION_DISCONNECT
        # 25 frames were streamed before the agent's TerminateCall; under load the FakeClock can
        # run on while that command is on its way (3,720 ms once in a whole-suite run)
        assert 500 <= record.audio_stream_ms <= 10_000


async def test_the_caller_hanging_up_tells_the_agent_and_action_url() -> None:
    async with Harness(media="audio") as h, FakeAgent(
            "grpc", inflight=h.platform.streaming.inflight) as agent:
        _app, call = await _streamed_call(h, agent.location, (hang_up(after_ms=2000),))
        await call.expect_hangup()
        record = await h.call(call.call_id)
        assert record.call_ended_reason is CallEndedReason.FAR_END_HANGUP
        ended = agent.streams[0].ended
        assert ended is not None and ended.code is m.EndCode.CALLER_DISCONNECT
        after = [w for w in h.webhooks_for(call.call_id) if w.path == "/after"]
        assert len(after) == 1
        assert isinstance(Webhook.from_json(after[0].raw.decode()), AudioStreamWebhook)
        assert 1900 <= record.audio_stream_ms <= 2100


async def test_barge_in_clears_what_the_agent_queued() -> None:
    tone = sine(600, 4000, level_dbfs=-12.0)

    def on_event(stream: AgentStream, event: m.PlatformEvent) -> list[m.AppCommand]:
        if isinstance(event, m.CallStarted):
            stream.play(tone, "prompt")
        elif isinstance(event, m.DtmfEnded):  # the caller barges in
            return [m.ClearAudio("stop")]
        elif isinstance(event, m.Acknowledged) and event.kind == m.AUDIO_CLEARED:
            stream.close()
        return []

    async with Harness(media="audio") as h, FakeAgent(
            "grpc", inflight=h.platform.streaming.inflight, on_event=on_event) as agent:
        _app, call = await _streamed_call(h, agent.location, (press("5", after_ms=1000),))
        await call.expect_hangup()
        audio = await call.audio()
        at = audio.offset_of(tone[:4000], min_match=0.8)  # the tone's first half second
        assert at is not None
        heard_tone = np.abs(audio.heard.astype(np.int32)) > 1000
        played_s = heard_tone.sum() / 8000
        assert 0.7 < played_s < 1.5, played_s  # cut about 1 s in, not the whole 4 s
        kinds = [e.kind for e in agent.streams[0].of_type(m.Acknowledged)]
        assert kinds[0] == m.PLAYBACK_STARTED and m.AUDIO_CLEARED in kinds
        assert m.PLAYBACK_COMPLETED not in kinds


async def test_l16_at_16_khz_both_ways() -> None:
    async with Harness(media="audio") as h, FakeAgent(
            "ws", inflight=h.platform.streaming.inflight, on_event=_close_after(150, echo)) as agent:
        app = h.scripted_app()
        app.on("/voice", [{"AudioStream": {"location": {"uri": agent.location},
                                           "contentType": "audio/l16;rate=16000"}}])
        call = await h.phone(CALLER).calls(await h.number_for(app), speak(HELLO, after_ms=500))
        await call.expect_hangup()
        audio = await call.audio()
        stream = agent.streams[0]
        assert {len(f) for f in stream.frames} == {640}
        speech = h.speech(HELLO, "en-US")
        assert _match(stream.heard(), speech) is not None
        assert audio.offset_of(speech, min_match=0.8) is not None  # the echo, resampled twice


async def test_used_audio_stream_filter_and_audio_stream_duration_in_rest() -> None:
    async with Harness(media="audio") as h, FakeAgent(
            "grpc", inflight=h.platform.streaming.inflight, on_event=_close_after(60)) as agent:
        _app, streamed = await _streamed_call(h, agent.location)
        await streamed.expect_hangup()
        plain = h.scripted_app("http://plain.test")
        plain.on("/voice", [{"Say": {"text": "no stream"}}, {"Hangup": {}}])
        other = await h.phone("+15550100009").calls(await h.number_for(plain))
        await other.expect_hangup()
        used = await h.rest.get(f"/Accounts/{h.account.account_id}/Calls",
                                params={"usedAudioStream": "true"})
        every = await h.rest.get(f"/Accounts/{h.account.account_id}/Calls")
        assert [c["callId"] for c in used.json()["calls"]] == [streamed.call_id]
        assert len(every.json()["calls"]) == 2
        body = (await h.rest.get(f"/Accounts/{h.account.account_id}/Calls/{streamed.call_id}")).json()
        assert body["audioStreamDuration"] == 2
        assert CallResult.from_dict(body).audio_stream_duration == 2  # the SDK reads it


async def test_in_symbolic_fidelity_the_agent_hears_silence_and_keys_and_its_audio_takes_time() -> None:
    """Symbolic media carries words, not audio: the agent gets a silent frame every 20 ms, the
    caller's keys as DTMF notices, and what it plays counts as time (PlaybackCompleted when the
    audio's duration has passed)."""
    tone = sine(600, 1000, level_dbfs=-12.0)

    def on_event(stream: AgentStream, event: m.PlatformEvent) -> list[m.AppCommand]:
        if isinstance(event, m.DtmfEnded):
            stream.play(tone, "reply")
        if isinstance(event, m.Acknowledged) and event.kind == m.PLAYBACK_COMPLETED:
            stream.close()
        return []

    async with Harness(media="symbolic") as h, FakeAgent(
            "grpc", inflight=h.platform.streaming.inflight, on_event=on_event) as agent:
        start = h.now
        _app, call = await _streamed_call(h, agent.location, (press("7", after_ms=500),))
        await call.expect_say("after")
        stream = agent.streams[0]
        assert stream.digits == "7"
        assert not stream.heard().any() and len(stream.frames) >= 70
        (done,) = [e for e in stream.of_type(m.Acknowledged) if e.kind == m.PLAYBACK_COMPLETED]
        (key,) = stream.of_type(m.DtmfEnded)
        assert 0.98 <= done.at - key.at <= 1.06  # the tone's second
        assert h.now - start < 10
