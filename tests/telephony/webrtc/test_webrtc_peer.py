"""The browser leg's peer and audio bridge against a second aiortc peer playing the browser.

Real WebRTC on loopback (ICE, DTLS, SRTP): aiortc runs on the real clock, so these tests wait for
frames with bounded timeouts instead of a FakeClock. The codecs are the two the softphone offers.
"""

from __future__ import annotations

import asyncio
from fractions import Fraction

import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from av import AudioFrame

from percl.media.audio.pcm import FRAME_SAMPLES
from percl.media.audio.tones import sine
from percl.telephony.webrtc.audio import BrowserAudio
from percl.telephony.webrtc.peer import Peer, first_codec, offer_addresses

TIMEOUT_S = 10.0


class ToneTrack(MediaStreamTrack):
    """The 'browser microphone': a 440 Hz tone at 8 kHz, paced at 20 ms a frame."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pcm = sine(440, 2000, -12)
        self._n = 0

    async def recv(self) -> AudioFrame:
        await asyncio.sleep(0.02)
        start = (self._n * FRAME_SAMPLES) % (len(self._pcm) - FRAME_SAMPLES)
        chunk = self._pcm[start:start + FRAME_SAMPLES]
        frame = AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 8000
        frame.time_base = Fraction(1, 8000)
        frame.pts = self._n * FRAME_SAMPLES
        self._n += 1
        return frame


async def _browser(codec: str) -> tuple[RTCPeerConnection, asyncio.Queue[MediaStreamTrack]]:
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver(ToneTrack(), direction="sendrecv")
    caps = RTCRtpSender.getCapabilities("audio")
    transceiver.setCodecPreferences([c for c in caps.codecs if c.name == codec])
    tracks: asyncio.Queue[MediaStreamTrack] = asyncio.Queue()
    pc.on("track", tracks.put_nowait)
    await pc.setLocalDescription(await pc.createOffer())
    return pc, tracks


@pytest.fixture(autouse=True)
def loopback_only() -> None:
    offer_addresses(["127.0.0.1"])


@pytest.mark.parametrize("codec", ["PCMU", "opus"])
async def test_audio_flows_both_ways(codec: str) -> None:
    tasks: set[asyncio.Task[None]] = set()
    lost: list[bool] = []
    peer = Peer(lambda coro: tasks.add(asyncio.ensure_future(coro)), lambda: lost.append(True))
    browser, tracks = await _browser(codec)
    try:
        answer = await peer.answer(browser.localDescription.sdp)
        assert peer.codec == codec and first_codec(answer) == codec
        candidates = [line for line in answer.splitlines() if line.startswith("a=candidate:")]
        assert candidates and all(" 127.0.0.1 " in line for line in candidates)  # offer_addresses
        await browser.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        heard = await _frames_from(peer.audio, 25)
        assert np.abs(heard).max() > 3000  # the tone, not silence
        tone = sine(1000, 1000, -12)
        for start in range(0, len(tone), FRAME_SAMPLES):
            peer.audio.give(tone[start:start + FRAME_SAMPLES])
        remote = await asyncio.wait_for(tracks.get(), TIMEOUT_S)
        got = await asyncio.wait_for(remote.recv(), TIMEOUT_S)
        assert isinstance(got, AudioFrame) and got.to_ndarray().any()
    finally:
        await peer.close()
        await browser.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert not lost


async def _frames_from(audio: BrowserAudio, n: int) -> np.ndarray:
    frames = []
    async with asyncio.timeout(TIMEOUT_S):
        while len(frames) < n:
            frame = audio.take()
            if frame is None:
                await asyncio.sleep(0.02)
            else:
                frames.append(frame)
    return np.concatenate(frames[5:])


async def test_an_offer_without_audio_is_refused() -> None:
    pc = RTCPeerConnection()
    pc.createDataChannel("x")
    await pc.setLocalDescription(await pc.createOffer())
    peer = Peer(lambda coro: coro.close(), lambda: None)
    try:
        with pytest.raises(ValueError, match="no audio"):
            await peer.answer(pc.localDescription.sdp)
    finally:
        await peer.close()
        await pc.close()


async def test_the_browser_going_away_is_reported_once() -> None:
    tasks: set[asyncio.Task[None]] = set()
    lost = asyncio.Event()
    calls: list[int] = []

    def on_lost() -> None:
        calls.append(1)
        lost.set()

    peer = Peer(lambda coro: tasks.add(asyncio.ensure_future(coro)), on_lost)
    browser, _ = await _browser("PCMU")
    try:
        answer = await peer.answer(browser.localDescription.sdp)
        await browser.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await _frames_from(peer.audio, 6)  # connected: audio flows
        await browser.close()
        await asyncio.wait_for(lost.wait(), TIMEOUT_S)
    finally:
        await peer.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert calls == [1]
