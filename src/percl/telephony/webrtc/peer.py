"""One browser leg's WebRTC session with aiortc: the page offers, percl answers (non-trickle).

The page always makes the offer (placing a call or accepting one), with its microphone track and
the codecs it prefers (PCMU or Opus; aiortc answers with the first of the offer's codecs it
supports). `Peer.answer` sets the offer, attaches the leg's `LegTrack`, starts reading the
browser's track into the leg's BrowserAudio and returns the answer once ICE gathering is done, so
the answer carries every candidate and no trickling is needed.

Which addresses percl offers as ICE host candidates: aioice offers every interface but loopback.
`offer_addresses` replaces that choice for the process (aioice has no per-connection setting):
PERCL_WEBRTC_ADDRESSES, e.g. `127.0.0.1` for a browser on the same machine started with
`--allow-loopback-in-peer-connection`, or the LAN address a phone on the network can reach.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import aioice.ice
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

from percl.telephony.webrtc.audio import BrowserAudio

#: Runs a coroutine as a task of the line (its TaskGroup owns it).
Spawn = Callable[[Coroutine[Any, Any, None]], None]

_AIOICE_HOSTS = aioice.ice.get_host_addresses


def offer_addresses(addresses: Sequence[str]) -> None:
    """Make aioice offer exactly `addresses` as host candidates (its own choice when empty)."""
    chosen = list(addresses)

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        if not chosen:
            return _AIOICE_HOSTS(use_ipv4, use_ipv6)
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = host_addresses


class Peer:
    """The peer connection of one browser leg and the audio it carries."""

    def __init__(self, spawn: Spawn, on_lost: Callable[[], None]) -> None:
        """`on_lost` is called once if the connection fails or closes from the browser's side."""
        self.audio = BrowserAudio()
        self._pc = RTCPeerConnection()
        self._spawn = spawn
        self._on_lost = on_lost
        self._closing: asyncio.Future[None] | None = None
        self._pc.on("track", self._track)
        self._pc.on("connectionstatechange", self._state)

    async def answer(self, offer_sdp: str) -> str:
        """The SDP answer to the page's offer. Raises ValueError for an offer without audio or
        one aiortc cannot use."""
        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        except Exception as exc:  # aiortc raises ValueError and its own errors for bad SDP
            raise ValueError(f"the offer cannot be used: {exc}") from None
        if not any(t.kind == "audio" for t in self._pc.getTransceivers()):
            raise ValueError("the offer has no audio")
        self._pc.addTrack(self.audio.track)
        answer = await self._pc.createAnswer()
        await self._pc.setLocalDescription(answer)  # gathers every candidate first
        return self._pc.localDescription.sdp

    @property
    def codec(self) -> str | None:
        """The audio codec the answer chose ("PCMU", "opus"); None before `answer`."""
        description = self._pc.localDescription
        return None if description is None else first_codec(description.sdp)

    async def close(self) -> None:
        """Stop the audio and close the connection. Idempotent: every caller waits for the one
        closing, and a caller cancelled meanwhile does not cancel it (a line shutting down
        still waits for it)."""
        if self._closing is None:
            self.audio.close()
            self._closing = asyncio.ensure_future(self._pc.close())
        await asyncio.shield(self._closing)

    def _track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._spawn(self.audio.pump(track))

    def _state(self) -> None:
        if self._pc.connectionState in ("failed", "closed") and self._closing is None:
            on_lost, self._on_lost = self._on_lost, _nothing  # once: "failed" then "closed"
            on_lost()


def _nothing() -> None:
    pass


def first_codec(sdp: str) -> str | None:
    """The name of the first payload type of the first audio m-line of `sdp`."""
    lines = sdp.splitlines()
    audio = next((line.split() for line in lines if line.startswith("m=audio ")), None)
    if audio is None or len(audio) < 4:
        return None
    prefix = f"a=rtpmap:{audio[3]} "
    found = next((line for line in lines if line.startswith(prefix)), None)
    return None if found is None else found[len(prefix):].split("/")[0]
