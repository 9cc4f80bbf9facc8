"""The streaming package's pure parts: content types and codecs, gRPC and WebSocket framing."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from percl.media.audio.tones import sine
from percl.streaming import grpc as g
from percl.streaming import messages as m
from percl.streaming import websocket as ws
from percl.streaming.codec import Codec, WrongFormat, parse_content_type

TONE = sine(440, 200, level_dbfs=-12.0)

EVENTS: list[m.PlatformEvent] = [
    m.CallStarted("CA1", "+1555", "+1666", True, ("a", "b"), "audio/mulaw;rate=8000"),
    m.AudioData(b"\x01\x02", 7, 1.5, 1.52),
    m.DtmfStarted("5", 2.0), m.DtmfEnded("#", 2.25),
    *[m.Acknowledged(kind, "id1", 3.0) for kind in m.ACK_KINDS],
    m.CallEnded("CA1", m.EndCode.APPLICATION_DISCONNECT, "bye"),
    m.ErrorNotice("too much", "bufferFull"),
    m.BufferDepth(m.BufferKind.AUDIO, 3, 500),
]
COMMANDS: list[m.AppCommand] = [
    m.PlayAudio("p", b"\x00\xff", "audio/l16;rate=8000", 3, True), m.ClearAudio("c"),
    m.PressDtmf("d", "12#", 100, 200), m.QueryBuffer(m.BufferKind.DTMF), m.TerminateCall(),
    m.EndStream("http://x.test/a"),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_platform_events_round_trip_both_wires(event: m.PlatformEvent) -> None:
    assert g.platform_event(g.platform_message(event)) == event
    assert ws.decode_event(json.loads(json.dumps(ws.encode_event(event)))) == event


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: type(c).__name__)
def test_app_commands_round_trip_both_wires(command: m.AppCommand) -> None:
    assert g.app_command(g.app_message(command)) == command
    assert ws.decode_command(json.dumps(ws.encode_command(command))) == command


@pytest.mark.parametrize("text", ["not json", "[1]", '{"type": "dance"}',
                                  '{"type": "playAudio", "audio": "***"}',
                                  '{"type": "pressDtmf", "digits": 5}'])
def test_websocket_garbage_is_an_agent_fault(text: str) -> None:
    with pytest.raises(m.AgentFault, match="agent sent garbage"):
        ws.decode_command(text)


def test_an_app_message_without_payload_is_an_agent_fault() -> None:
    with pytest.raises(m.AgentFault):
        g.app_command(g.pb.AppMessage())


@pytest.mark.parametrize(("location", "target"), [
    ("grpc://h.test", ("h.test:80", False)), ("grpcs://h.test", ("h.test:443", True)),
    ("https://h.test", ("h.test:443", True)), ("http://127.0.0.1:5051", ("127.0.0.1:5051", False)),
])
def test_grpc_targets(location: str, target: tuple[str, bool]) -> None:
    assert g.target_of(location) == target


@pytest.mark.parametrize(("wire", "size"), [("audio/mulaw;rate=8000", 160),
                                            ("audio/l16;rate=8000", 320),
                                            ("audio/L16; rate=16000", 640)])
def test_frames_have_freeclimbs_sizes(wire: str, size: int) -> None:
    codec = Codec(parse_content_type(wire))
    frames = [f for i in range(0, len(TONE), 160) for f in codec.to_agent(TONE[i:i + 160].tobytes())]
    assert frames and {len(f) for f in frames} == {size}


def test_l16_is_big_endian_and_lossless_at_8_khz() -> None:
    codec = Codec(parse_content_type("audio/l16;rate=8000"))
    (frame,) = codec.to_agent(TONE[:160].astype("<i2").tobytes())
    assert frame == TONE[:160].astype(">i2").tobytes()
    assert codec.from_agent(frame) == TONE[:160].astype("<i2").tobytes()


def test_mulaw_and_l16_may_be_mixed_at_one_rate_but_not_another_rate() -> None:
    codec = Codec(parse_content_type("audio/mulaw;rate=8000"))
    pcm = np.frombuffer(codec.from_agent(TONE[:160].astype(">i2").tobytes(), "audio/l16;rate=8000"),
                        "<i2")
    assert np.array_equal(pcm, TONE[:160])
    with pytest.raises(WrongFormat, match="16000 Hz"):
        codec.from_agent(b"\x00" * 640, "audio/l16;rate=16000")
    with pytest.raises(WrongFormat, match="whole 16-bit"):
        Codec(parse_content_type("audio/l16;rate=8000")).from_agent(b"\x00" * 3)
    with pytest.raises(WrongFormat, match="unsupported content type"):
        parse_content_type("audio/opus;rate=48000")


@given(st.floats(min_value=-1e9, max_value=4e9, allow_nan=False), st.integers(0, 2**32 - 1))
def test_notify_audio_timestamps_are_the_nanoseconds_of_the_frame(start: float, sequence: int) -> None:
    message = g.platform_message(m.AudioData(b"\x01\x02", sequence, start, start + 0.02))
    body = message.notify_audio_data
    assert body.start_tstamp.ToNanoseconds() == round(start * 1e9)
    assert body.end_tstamp.ToNanoseconds() == round((start + 0.02) * 1e9)
    assert 0 <= body.start_tstamp.nanos < 1_000_000_000 and body.sequence_num == sequence
