"""Conferences in audio fidelity: legs hear the sum of the others who talk (mix-minus), paths
apply from the next frame, keys stay out when dtmf_pass is off, and the `heard` transcript entries
read as on the symbolic network."""

from __future__ import annotations

import numpy as np
from audio_helpers import Listener, audio_network, peak, rms, speak, tone_power

from percl.engine.ports import MixPath
from percl.telephony.sim.model import TranscriptEvent
from percl.telephony.sim.network import SimNetwork
from percl.testing.clock import FakeClock

PLATFORM = "+13125550100"
PHONES = ("+15550100001", "+15550100002", "+15550100003")
LEGS = tuple("CA" + c * 40 for c in "abc")
MIX = "CF" + "1" * 40
RATE = 8000


async def three_in_a_mix(net: SimNetwork, clock: FakeClock) -> list[Listener]:
    listeners = []
    for call_id, phone in zip(LEGS, PHONES, strict=True):
        listener = Listener(clock)
        listeners.append(listener)
        await net.dial(call_id, PLATFORM, phone, listener, detect_machine=False)
    await clock.advance(1)
    for call_id in LEGS:
        net.mixer.add(MIX, call_id, MixPath())
    return listeners


def audio_of(net: SimNetwork, call_id: str) -> tuple[np.ndarray, np.ndarray]:
    audio = net.leg_audio(call_id)
    assert audio is not None
    return audio


def heard_entries(net: SimNetwork, call_id: str) -> list[tuple[str | None, str | None]]:
    transcript = net.transcript(call_id)
    assert transcript is not None
    return [(e.text, e.digits) for e in transcript.entries if e.type is TranscriptEvent.HEARD]


async def test_each_leg_hears_the_others_but_not_itself(clock: FakeClock) -> None:
    async with audio_network(clock) as net:
        await three_in_a_mix(net, clock)
        net.say(LEGS[0], "good morning everyone")
        net.say(LEGS[1], "hello")
        await clock.advance(2)
        speech_a, speech_b = speak("good morning everyone"), speak("hello")
        heard_c = audio_of(net, LEGS[2])[0]
        assert peak(heard_c, speech_a)[1] > 0.7 and peak(heard_c, speech_b)[1] > 0.3
        heard_a = audio_of(net, LEGS[0])[0]
        assert peak(heard_a, speech_b)[1] > 0.99  # only B spoke besides A: B as it is
        assert rms(heard_a) < rms(heard_c)  # and not A's own voice
        assert heard_entries(net, LEGS[2]) == [("good morning everyone", None), ("hello", None)]
        assert heard_entries(net, LEGS[0]) == [("hello", None)]


async def test_a_muted_talker_is_inaudible_to_the_others(clock: FakeClock) -> None:
    async with audio_network(clock) as net:
        await three_in_a_mix(net, clock)
        net.mixer.update(MIX, LEGS[0], MixPath(talk=False))
        net.say(LEGS[0], "you cannot hear me")
        await clock.advance(2)
        for other in LEGS[1:]:
            assert rms(audio_of(net, other)[0]) == 0
            assert heard_entries(net, other) == []
        assert peak(audio_of(net, LEGS[0])[1], speak("you cannot hear me"))[1] > 0.99


async def test_a_path_change_applies_from_the_next_frame(clock: FakeClock) -> None:
    async with audio_network(clock) as net:
        await three_in_a_mix(net, clock)
        net.mixer.update(MIX, LEGS[2], MixPath(listen=False))
        net.say(LEGS[0], "one two three four five six seven eight")
        await clock.advance(1)
        assert rms(audio_of(net, LEGS[2])[0]) == 0
        net.mixer.update(MIX, LEGS[2], MixPath())
        await clock.advance(0.02)
        assert rms(audio_of(net, LEGS[2])[0][-160:]) > 0


async def test_keys_stay_out_of_the_mix_without_dtmf_pass(clock: FakeClock) -> None:
    async with audio_network(clock) as net:
        await three_in_a_mix(net, clock)
        net.mixer.update(MIX, LEGS[0], MixPath(dtmf_pass=False))
        net.press(LEGS[0], "5")
        net.press(LEGS[1], "9")
        await clock.advance(1)
        heard_c = audio_of(net, LEGS[2])[0]
        assert tone_power(heard_c, 770) < 0.01  # A's 5 (770 + 1336 Hz) did not pass
        assert tone_power(heard_c, 852) > 0.2  # B's 9 (852 + 1477 Hz) did
        assert heard_entries(net, LEGS[2]) == [(None, "9")]


async def test_pass_dtmf_plays_held_keys_to_the_others(clock: FakeClock) -> None:
    async with audio_network(clock) as net:
        await three_in_a_mix(net, clock)
        net.mixer.pass_dtmf(MIX, LEGS[0], "4")
        await clock.advance(0.5)
        for other in LEGS[1:]:
            heard_other = audio_of(net, other)[0]
            assert tone_power(heard_other, 770) > 0.3 and tone_power(heard_other, 1209) > 0.3
            assert heard_entries(net, other) == [(None, "4")]
        assert rms(audio_of(net, LEGS[0])[0]) == 0


async def test_a_leg_that_ends_leaves_the_mix(clock: FakeClock) -> None:
    async with audio_network(clock) as net:
        await three_in_a_mix(net, clock)
        await net.hangup(LEGS[0])
        assert set(net.mixer.paths(MIX)) == set(LEGS[1:])
