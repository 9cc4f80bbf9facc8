"""AudioStream end to end: a real gRPC agent (FreeClimb's contract) and a real WebSocket agent
(percl's extension), in-process on 127.0.0.1, against a call in audio fidelity on the FakeClock
(pacing.InFlight keeps the clock in step with the agent's messages)."""

from __future__ import annotations

import numpy as np
import pytest
from freeclimb.models.audio_stream_webhook import AudioStreamWebhook
from freeclimb.models.webhook import Webhook

from percl.domain.enums import CallEndedReason
from percl.media.audio.pcm import Pcm
from percl.streaming import messages as m
from percl.testing.agents import AgentStream, FakeAgent, echo
from percl.testing.audio import LegAudio
from percl.testing.harness import Harness
from percl.testing.phones import press, speak
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
        assert {len(f) for f in stream.frames} == {160} and len(stream.frames) == 150
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
