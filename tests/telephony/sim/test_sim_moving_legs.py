"""Legs moving between two workers' simulated networks (LegMover: park, adopt, unpark): the phone
stays on the line, its events reach the adopting worker's listener, what it says reaches that
network's mixer; a network of another world (another process) cannot adopt it."""

from __future__ import annotations

from contextlib import AsyncExitStack

from sim_helpers import RecordingListener, running

from percl.engine.ports import LegMover, MixPath
from percl.telephony.sim.model import PhoneProgram, PhoneStep, TranscriptEvent
from percl.telephony.sim.network import SimNetwork
from percl.testing.clock import FakeClock

AGENT, CALLER, PLATFORM = "+15550100002", "+15550100001", "+13125550100"
LEG_A, LEG_B = "CA" + "a" * 40, "CA" + "b" * 40


def events(listener: RecordingListener) -> list[str]:
    return [name for _, name, _ in listener.events]


async def test_a_parked_leg_is_adopted_by_the_other_network_of_its_world(clock: FakeClock) -> None:
    async with AsyncExitStack() as stack:
        one = await stack.enter_async_context(running(clock))
        two = await stack.enter_async_context(running(clock))
        two.share_world(one)
        assert isinstance(one, LegMover)
        one.program(AGENT, PhoneProgram(script=(PhoneStep(3000, say="still here"),
                                                PhoneStep(4000, digits="5"))))
        first, second = RecordingListener(clock), RecordingListener(clock)
        await one.dial(LEG_A, PLATFORM, AGENT, first, detect_machine=False)
        await two.dial(LEG_B, PLATFORM, CALLER, RecordingListener(clock), detect_machine=False)
        await clock.advance(2)  # both answered
        assert one.park(LEG_A)
        assert not one.park(LEG_A)  # parked already: not live on this network any more
        assert two.adopt(LEG_A, second)
        two.mixer.add("CF1", LEG_A, MixPath())
        two.mixer.add("CF1", LEG_B, MixPath())
        await clock.advance(3)
        assert events(second) == ["speech", "digits"]
        assert "speech" not in events(first)
        transcript = two.transcript(LEG_B)
        assert transcript is not None  # the caller heard it through network two's mixer
        assert [(e.speaker, e.text) for e in transcript.entries
                if e.type is TranscriptEvent.HEARD][:1] == [(AGENT, "still here")]
        assert one.transcript(LEG_A) is None and two.is_live(LEG_A)
        await two.hangup(LEG_A)
        assert not two.is_live(LEG_A)


async def test_a_network_of_another_world_cannot_adopt_and_the_leg_goes_back(
        clock: FakeClock) -> None:
    async with AsyncExitStack() as stack:
        one = await stack.enter_async_context(running(clock))
        other: SimNetwork = await stack.enter_async_context(running(clock))  # another process
        listener = RecordingListener(clock)
        one.program(AGENT, PhoneProgram(script=(PhoneStep(3000, digits="7"),)))
        await one.dial(LEG_A, PLATFORM, AGENT, listener, detect_machine=False)
        await clock.advance(2)
        assert one.park(LEG_A)
        assert not other.adopt(LEG_A, RecordingListener(clock))
        one.unpark(LEG_A, listener)
        await clock.advance(2)
        assert events(listener)[-1] == "digits" and one.is_live(LEG_A)


async def test_a_leg_that_hangs_up_in_transit_is_reported_to_its_adopter(clock: FakeClock) -> None:
    async with AsyncExitStack() as stack:
        one = await stack.enter_async_context(running(clock))
        two = await stack.enter_async_context(running(clock))
        two.share_world(one)
        await one.dial(LEG_A, PLATFORM, AGENT, RecordingListener(clock), detect_machine=False)
        await clock.advance(2)
        assert one.park(LEG_A)
        parked = two._in_transit[LEG_A]
        parked.end()  # the phone hangs up while the leg is between the workers
        adopter = RecordingListener(clock)
        assert two.adopt(LEG_A, adopter)
        assert events(adopter) == ["hangup"]
        assert not two.is_live(LEG_A)


async def test_audio_legs_do_not_move(clock: FakeClock) -> None:
    from tests.audio_doubles import FakeKit

    async with running(clock, media="audio", audio_kit=FakeKit(), tracker=clock.tracker) as net:
        await net.dial(LEG_A, PLATFORM, AGENT, RecordingListener(clock), detect_machine=False)
        await clock.advance(2)
        assert not net.park(LEG_A)
