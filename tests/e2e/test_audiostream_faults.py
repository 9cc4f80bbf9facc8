"""AudioStream's faults end to end: an agent that cannot be reached, fails TLS, stalls, sends
garbage or audio in the wrong format, overfills the buffer. Each gives a log line naming the call
and the reason and FreeClimb's outcome (actionUrl runs, or the call hangs up with grpcHangup);
no call is ever left hanging."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from percl.config import AudioStreamSettings, Settings
from percl.domain.enums import CallEndedReason
from percl.media.audio.tones import sine
from percl.streaming import messages as m
from percl.testing.agents import AgentStream, FakeAgent, self_signed
from percl.testing.harness import Harness
from tests.e2e.test_audiostream import _close_after, _log_lines, _status_reason, _streamed_call


def _settings(**limits: float) -> Settings:
    return Settings(db=":memory:", audiostream=AudioStreamSettings(**limits))  # type: ignore[arg-type]


async def _ended_line(h: Harness, call_id: str) -> str:
    (line,) = [x for x in await _log_lines(h, call_id) if x.startswith("AudioStream ended:")]
    return line


@pytest.mark.parametrize("location", ["grpc://127.0.0.1:1", "ws://127.0.0.1:1"])
async def test_an_unreachable_agent_runs_action_url_with_the_reason_in_the_log(location: str) -> None:
    async with Harness(media="audio") as h:
        _app, call = await _streamed_call(h, location)
        await call.expect_say("after")
        await call.expect_hangup(reason="appHangup")
        line = await _ended_line(h, call.call_id)
        assert f"agent unreachable at {location}" in line, line
        assert "refused" in line or "Connect call failed" in line, line
        assert [w.path for w in h.webhooks_for(call.call_id)] == ["/voice", "/after", "/status"]
        assert (await h.call(call.call_id)).audio_stream_ms == 0  # it never streamed


async def test_an_unreachable_agent_without_action_url_hangs_up_with_grpc_hangup() -> None:
    async with Harness(media="audio") as h:
        _app, call = await _streamed_call(h, "grpc://127.0.0.1:1", action=False)
        await call.expect_hangup()
        assert (await h.call(call.call_id)).call_ended_reason is CallEndedReason.GRPC_HANGUP
        assert _status_reason(h, call.call_id) == "grpcHangup"


@pytest.mark.parametrize("kind", ["grpc", "ws"])
async def test_an_agent_whose_certificate_is_not_trusted_is_a_tls_failure(kind: str) -> None:
    async with Harness(media="audio") as h, FakeAgent(kind, tls=self_signed()) as agent:
        _app, call = await _streamed_call(h, agent.location)
        await call.expect_say("after")
        await call.expect_hangup(reason="appHangup")
        line = await _ended_line(h, call.call_id)
        assert "TLS failure with the agent" in line or "handshake" in line.lower(), line
        assert not agent.streams or agent.streams[0].started is None


@pytest.mark.parametrize("kind", ["grpc", "ws"])
async def test_a_trusted_ca_file_lets_the_stream_use_tls(kind: str, tmp_path: Path) -> None:
    cert, key = self_signed()
    ca = tmp_path / "ca.pem"
    ca.write_bytes(cert)
    settings = Settings(db=":memory:", audiostream=AudioStreamSettings(ca_file=str(ca)))
    async with Harness(media="audio", settings=settings) as h, FakeAgent(
            kind, tls=(cert, key), inflight=h.platform.streaming.inflight,
            on_event=_close_after(10)) as agent:
        assert agent.location.startswith(("grpcs://", "wss://"))
        _app, call = await _streamed_call(h, agent.location)
        await call.expect_hangup(reason="appHangup")
        assert len(agent.streams[0].frames) >= 10  # audio went over TLS
        # (how the agent's close reads over TLS varies with grpc's teardown: OK or INTERNAL)
        assert "TLS failure" not in await _ended_line(h, call.call_id)


async def test_an_agent_that_stalls_is_dropped_after_the_stall_limit() -> None:
    async with Harness(media="audio", settings=_settings(stall_s=2)) as h, FakeAgent(
            "grpc", inflight=h.platform.streaming.inflight) as agent:
        _app, call = await _streamed_call(h, agent.location)
        await call.expect_say("after")
        await call.expect_hangup(reason="appHangup")
        assert "agent stalled: nothing from it for 2 s" in await _ended_line(h, call.call_id)
        ended = agent.streams[0].ended
        assert ended is not None and ended.code is m.EndCode.PLATFORM_ERROR
        # The stall limit from the agent's last message (its connect); under heavy load the
        # FakeClock can run a tick or two on while the connect is in flight (2040 seen at load 14).
        assert 2000 <= (await h.call(call.call_id)).audio_stream_ms <= 2100


@pytest.mark.parametrize("kind", ["grpc", "ws"])
async def test_garbage_from_the_agent_ends_the_stream(kind: str) -> None:
    def on_event(stream: AgentStream, event: m.PlatformEvent) -> list[m.AppCommand]:
        if isinstance(event, m.CallStarted):
            stream.garbage()
        return []

    async with Harness(media="audio") as h, FakeAgent(
            kind, inflight=h.platform.streaming.inflight, on_event=on_event) as agent:
        _app, call = await _streamed_call(h, agent.location)
        await call.expect_say("after")
        await call.expect_hangup(reason="appHangup")
        assert "agent sent garbage" in await _ended_line(h, call.call_id)


async def test_audio_in_the_wrong_format_is_an_error_notice_and_the_stream_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    tone = sine(600, 200, level_dbfs=-12.0)

    def on_event(stream: AgentStream, event: m.PlatformEvent) -> list[m.AppCommand]:
        if isinstance(event, m.CallStarted):
            stream.play(tone, "wrong", content_type="audio/l16;rate=16000")
        if isinstance(event, m.ErrorNotice):
            stream.close()
        return []

    with caplog.at_level(logging.WARNING, "percl.streaming"):
        async with Harness(media="audio") as h, FakeAgent(
                "grpc", inflight=h.platform.streaming.inflight, on_event=on_event) as agent:
            _app, call = await _streamed_call(h, agent.location)
            await call.expect_hangup(reason="appHangup")
            audio = await call.audio()
    errors = agent.streams[0].of_type(m.ErrorNotice)
    assert errors and errors[0].error_id == "wrongFormat" and "16000 Hz" in errors[0].message
    assert any(call.call_id in r.getMessage() and "wrong" in r.getMessage() for r in caplog.records)
    assert audio.offset_of(tone, min_match=0.5) is None  # nothing of it was played


async def test_an_overfilled_buffer_keeps_its_bound_and_tells_the_agent() -> None:
    tone = sine(600, 3000, level_dbfs=-12.0)

    def on_event(stream: AgentStream, event: m.PlatformEvent) -> list[m.AppCommand]:
        if isinstance(event, m.CallStarted):
            stream.play(tone, "long")
        if isinstance(event, m.Acknowledged) and event.kind == m.PLAYBACK_COMPLETED:
            stream.close()
        return []

    async with Harness(media="audio", settings=_settings(buffer_ms=1000)) as h, FakeAgent(
            "grpc", inflight=h.platform.streaming.inflight, on_event=on_event) as agent:
        _app, call = await _streamed_call(h, agent.location)
        await call.expect_hangup(reason="appHangup")
        audio = await call.audio()
    errors = agent.streams[0].of_type(m.ErrorNotice)
    assert errors and {e.error_id for e in errors} == {"bufferFull"}
    played = (np.abs(audio.heard.astype(np.int32)) > 1000).sum() / 8000
    assert 0.9 < played < 1.3, played  # about the 1 s the buffer holds, not the 3 s sent
