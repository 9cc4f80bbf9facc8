"""GET /sim/v1/calls/{callId}/audio: a leg's audio as WAV, scoped like the transcript.

The network here is the symbolic SimNetwork (legs, transcripts, owners) with a stand-in for its
`leg_audio`: a dict of the tracks a leg of audio fidelity would have kept.
"""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import numpy as np
import pytest
from tests.simapi.test_simapi_app import (
    ALICE,
    ALICE_NUMBER,
    BOB,
    BOB_NUMBER,
    PHONE,
    Engine,
    FakeStore,
    auth,
)

from percl.domain.enums import CallDirection
from percl.domain.ids import SequentialIds
from percl.domain.records import Call, IncomingNumber
from percl.errors import Conflict, NotFound
from percl.media.audio.pcm import Pcm
from percl.simapi import SimApiDeps, create_sim_api
from percl.telephony.sim.control import NetworkControl
from percl.telephony.sim.network import SimNetwork
from percl.testing.clock import FakeClock


@dataclass
class AudioEnv:
    client: httpx.AsyncClient
    sim: SimNetwork
    store: FakeStore
    tracks: dict[str, tuple[Pcm, Pcm]] = field(default_factory=dict)

    async def leg(self, *, audio: bool = True) -> str:
        """A live leg of Alice's; with `audio`, 0.25 s heard (a ramp) and 0.125 s sent."""
        r = await self.client.post("/calls", json={"from": PHONE, "to": ALICE_NUMBER})
        call_id = str(r.json()["callId"])
        self.store.calls[call_id] = Call(call_id, ALICE.account_id, PHONE, ALICE_NUMBER,
                                         CallDirection.INBOUND)
        if audio:
            heard = np.arange(2000, dtype=np.int16) * 10
            sent = np.full(1000, -1234, dtype=np.int16)
            self.tracks[call_id] = (heard, sent)
        return call_id


@pytest.fixture
async def env() -> AsyncIterator[AudioEnv]:
    clock = FakeClock()
    store = FakeStore(accounts={a.account_id: a for a in (ALICE, BOB)})
    for n, owner in ((ALICE_NUMBER, ALICE), (BOB_NUMBER, BOB)):
        store.numbers[n] = IncomingNumber("PN" + n[1:].rjust(40, "0"), owner.account_id, n)
    sim = SimNetwork(clock, SequentialIds("api"), call_owner=store.owner_of)
    sim.set_inbound_handler(Engine())
    tracks: dict[str, tuple[Pcm, Pcm]] = {}
    control = NetworkControl(sim, store, leg_audio=tracks.get)  # type: ignore[arg-type]
    app = create_sim_api(SimApiDeps(store=store, sim=control))  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with sim, httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        client.headers.update(auth(ALICE))
        yield AudioEnv(client, sim, store, tracks)


def read(body: bytes) -> tuple[int, int, int, np.ndarray]:
    """(channels, rate, sample width, frames as (n, channels) int16) of a WAV."""
    with wave.open(io.BytesIO(body)) as wav:
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        channels = wav.getnchannels()
        return channels, wav.getframerate(), wav.getsampwidth(), frames.reshape(-1, channels)


async def test_stereo_wav_heard_left_sent_right_padded(env: AudioEnv) -> None:
    call_id = await env.leg()
    r = await env.client.get(f"/calls/{call_id}/audio")
    assert r.status_code == 200
    assert r.headers["content-type"] == "audio/wav"
    assert r.headers["cache-control"] == "no-store"
    channels, rate, width, frames = read(r.content)
    assert (channels, rate, width, frames.shape) == (2, 8000, 2, (2000, 2))
    heard, sent = env.tracks[call_id]
    assert np.array_equal(frames[:, 0], heard)
    assert np.array_equal(frames[:1000, 1], sent) and not frames[1000:, 1].any()


@pytest.mark.parametrize("side", ["heard", "sent"])
async def test_one_channel_is_a_mono_wav(env: AudioEnv, side: str) -> None:
    call_id = await env.leg()
    r = await env.client.get(f"/calls/{call_id}/audio", params={"channel": side})
    channels, rate, _, frames = read(r.content)
    heard, sent = env.tracks[call_id]
    assert (channels, rate) == (1, 8000)
    assert np.array_equal(frames[:, 0], heard if side == "heard" else sent)


async def test_from_ms_skips_what_was_already_read(env: AudioEnv) -> None:
    call_id = await env.leg()
    r = await env.client.get(f"/calls/{call_id}/audio",
                             params={"channel": "heard", "fromMs": "100"})
    _, _, _, frames = read(r.content)
    assert np.array_equal(frames[:, 0], env.tracks[call_id][0][800:])
    r = await env.client.get(f"/calls/{call_id}/audio", params={"fromMs": "5000"})
    assert r.status_code == 200 and read(r.content)[3].shape == (0, 2)


@pytest.mark.parametrize(("params", "field_name"), [
    ({"channel": "left"}, "channel"), ({"fromMs": "-1"}, "fromMs"), ({"fromMs": "1.5"}, "fromMs"),
])
async def test_bad_parameters_are_400_naming_them(env: AudioEnv, params: dict[str, str],
                                                  field_name: str) -> None:
    call_id = await env.leg()
    r = await env.client.get(f"/calls/{call_id}/audio", params=params)
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == 3 and body["details"] == {"field": field_name}
    assert field_name in body["message"]


async def test_unknown_and_foreign_legs_are_404(env: AudioEnv) -> None:
    r = await env.client.get(f"/calls/CA{'0' * 40}/audio")
    assert r.status_code == 404 and r.json()["code"] == 1
    call_id = await env.leg()
    r = await env.client.get(f"/calls/{call_id}/audio", headers=auth(BOB))
    assert r.status_code == 404  # Alice's call: Bob cannot even learn that it exists
    r = await env.client.get(f"/calls/{call_id}/audio", headers={"Authorization": ""})
    assert r.status_code == 401


async def test_a_symbolic_leg_is_409_saying_why(env: AudioEnv) -> None:
    call_id = await env.leg(audio=False)
    r = await env.client.get(f"/calls/{call_id}/audio")
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == 108
    assert "symbolic media fidelity" in body["message"] and call_id in body["message"]
    # its transcript is still there
    assert (await env.client.get(f"/calls/{call_id}/transcript")).status_code == 200


async def test_a_network_without_audio_answers_409_for_known_legs() -> None:
    """NetworkControl without `leg_audio` (a symbolic network): known legs 409, others 404."""
    clock = FakeClock()
    store = FakeStore(accounts={ALICE.account_id: ALICE})
    sim = SimNetwork(clock, SequentialIds("api"))
    sim.set_inbound_handler(Engine())
    control = NetworkControl(sim, store)  # type: ignore[arg-type]
    async with sim:
        call_id = await sim.place_call(PHONE, ALICE_NUMBER)
        with pytest.raises(Conflict, match="symbolic"):
            await control.audio(ALICE.account_id, call_id)
        with pytest.raises(NotFound, match="unknown"):
            await control.audio(ALICE.account_id, "CA" + "1" * 40)
