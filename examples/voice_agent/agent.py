"""A voice agent for percl's (and FreeClimb's) AudioStream: a gRPC server of FreeClimb's
contract, offline, in one file.

    python -m examples.voice_agent.agent --port 50051 --mode echo
    python -m examples.voice_agent.agent --port 50051 --mode parrot --phrases "yes,no,billing"

`echo` plays every frame of the caller's audio straight back. `parrot` waits for the caller to
say something (an energy detector: at least 0.2 s of speech, then 0.5 s of quiet), recognises it
with pocketsphinx (constrained to --phrases, as free-form offline ASR is poor on phone audio),
and answers "you said ..." with espeak-ng. Point an AudioStream at it:

    [{"AudioStream": {"location": "grpc://127.0.0.1:50051", "actionUrl": "https://.../after"}}]

It prints `listening on <port>` once ready (port 0 picks a free one) and stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import AsyncIterator
from typing import Any

import grpc
import numpy as np

from percl.media.audio.pcm import FRAME_SAMPLES, Pcm, rms_dbfs
from percl.streaming import grpc as wire
from percl.streaming import messages as m
from percl.streaming.codec import Codec, parse_content_type
from percl.streaming.proto import ivr_pb2 as pb

SPEECH_DBFS = -40.0  # a frame louder than this is speech
MIN_SPEECH_FRAMES = 10  # 0.2 s
END_SILENCE_FRAMES = 25  # 0.5 s


class Parrot:
    """Hears utterances in 20 ms frames; `feed` returns one when the caller stopped talking."""

    def __init__(self) -> None:
        self.frames: list[Pcm] = []
        self.speech = 0
        self.quiet = 0

    def feed(self, frame: Pcm) -> Pcm | None:
        loud = rms_dbfs(frame) > SPEECH_DBFS
        if loud or self.speech:
            self.frames.append(frame)
        self.speech += loud
        self.quiet = 0 if loud else self.quiet + 1
        if self.speech >= MIN_SPEECH_FRAMES and self.quiet >= END_SILENCE_FRAMES:
            utterance = np.concatenate(self.frames)
            self.frames, self.speech, self.quiet = [], 0, 0
            return utterance
        if not self.speech:
            self.frames.clear()
        return None


class Agent:
    def __init__(self, mode: str, phrases: list[str]) -> None:
        self.mode = mode
        self.phrases = phrases
        self._tts: Any = None
        self._asr: Any = None

    def answer(self, utterance: Pcm) -> Pcm:
        """ "you said ..." for an utterance (8 kHz PCM)."""
        if self._tts is None:  # pocketsphinx and espeak-ng load on first use
            from percl.media.asr import default_recognizer
            from percl.media.tts import default_synthesizer

            self._tts, self._asr = default_synthesizer(), default_recognizer()
        heard = self._asr.transcribe(utterance, self.phrases or None)
        text = f"you said {heard.text}" if heard.text else "sorry, I did not catch that"
        pcm: Pcm = self._tts.synthesize(text, None).pcm
        return pcm

    async def converse(self, requests: AsyncIterator[pb.PlatformMessage],
                       context: Any) -> AsyncIterator[pb.AppMessage]:
        codec: Codec | None = None
        parrot = Parrot()
        async for message in requests:
            event = wire.platform_event(message)
            if isinstance(event, m.CallStarted):
                codec = Codec(parse_content_type(event.content_type))
                print(f"call {event.call_id} started ({event.content_type})", flush=True)
            elif isinstance(event, m.AudioData) and codec is not None:
                if self.mode == "echo":
                    yield wire.app_message(m.PlayAudio("echo", event.audio, "", event.sequence))
                    continue
                frame = np.frombuffer(codec.from_agent(event.audio), dtype="<i2").astype(np.int16)
                utterance = parrot.feed(frame)
                if utterance is not None:
                    reply = await asyncio.to_thread(self.answer, utterance)
                    for chunk in _frames(reply, codec):
                        yield wire.app_message(m.PlayAudio("reply", chunk, ""))
            elif isinstance(event, m.DtmfEnded):
                print(f"caller pressed {event.digit}", flush=True)
            elif isinstance(event, m.CallEnded):
                print(f"call ended: {event.reason}", flush=True)


def _frames(pcm: Pcm, codec: Codec) -> list[bytes]:
    """8 kHz PCM as the stream's content type, 20 ms a message."""
    out: list[bytes] = []
    for start in range(0, len(pcm), FRAME_SAMPLES):
        out += codec.to_agent(pcm[start:start + FRAME_SAMPLES].astype("<i2").tobytes())
    return out


async def serve(port: int, mode: str, phrases: list[str]) -> None:
    agent = Agent(mode, phrases)
    server = grpc.aio.server()
    handler = grpc.stream_stream_rpc_method_handler(
        agent.converse, request_deserializer=pb.PlatformMessage.FromString,
        response_serializer=pb.AppMessage.SerializeToString)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "freeclimb.GRPCStreamService", {"SendIVRData": handler}),))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print(f"listening on {bound}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.stop(grace=1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=50051)
    parser.add_argument("--mode", choices=("echo", "parrot"), default="echo")
    parser.add_argument("--phrases", default="", help="comma-separated phrases parrot listens for")
    args = parser.parse_args()
    phrases = [p.strip() for p in args.phrases.split(",") if p.strip()]
    asyncio.run(serve(args.port, args.mode, phrases))


if __name__ == "__main__":
    main()
