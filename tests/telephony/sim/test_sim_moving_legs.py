"""Legs moving between two workers' simulated networks (LegMover: park, adopt, unpark): the phone
stays on the line, its events reach the adopting worker's listener, what it says reaches that
network's mixer; a network of another world (another process) adopts it from its parcel, in
symbolic and in audio fidelity; a leg whose audio comes from outside (an external line) stays."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack

from sim_helpers import RecordingListener, running

from percl.engine.ports import LegMover, MixPath
from percl.telephony.sim.model import PhoneProgram, PhoneStep, TranscriptEvent
from percl.telephony.sim.network import SimNetwork
from percl.telephony.sim.parcel import PARCEL_BYTES, unpack
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


async def test_an_audio_leg_moves_to_another_process_network_and_is_heard_there(
        clock: FakeClock) -> None:
    """Audio fidelity: the phone travels in its parcel as in symbolic, the adopting network's
    plane makes its frames (what it says is heard, by correlation, by a caller of that network
    through its mixer, and its keys reach the adopter's listener through the ear); its first
    network keeps the leg's audio until the move, and none after."""
    from tests.audio_doubles import FakeKit
    from tests.telephony.sim.audio.audio_helpers import peak, rms

    kit_one, kit_two = FakeKit(), FakeKit()
    async with AsyncExitStack() as stack:
        one = await stack.enter_async_context(
            running(clock, media="audio", audio_kit=kit_one, tracker=clock.tracker))
        two = await stack.enter_async_context(  # another process
            running(clock, media="audio", audio_kit=kit_two, tracker=clock.tracker))
        one.program(AGENT, PhoneProgram(script=(PhoneStep(3000, say="still here"),
                                                PhoneStep(6000, digits="5"))))
        first, second = RecordingListener(clock), RecordingListener(clock)
        await one.dial(LEG_A, PLATFORM, AGENT, first, detect_machine=False)
        await two.dial(LEG_B, PLATFORM, CALLER, RecordingListener(clock), detect_machine=False)
        await clock.advance(2)  # both answered (at 1 s)
        assert one.park(LEG_A)
        parcel = json.loads(json.dumps(one.parcel(LEG_A)))
        assert two.adopt(LEG_A, second, parcel)
        one.let_go(LEG_A)
        two.mixer.add("CF1", LEG_A, MixPath())
        two.mixer.add("CF1", LEG_B, MixPath())
        await clock.advance(8)

        assert [(name, arg) for _, name, arg in second.events] == [
            ("speech", "still here"), ("digits", "5")]  # heard by network two's ear
        assert events(first) == ["ringing", "answered"]
        heard = two.leg_audio(LEG_B)
        assert heard is not None
        _, score = peak(heard[0], kit_two.said["still here"])
        assert score > 0.95  # the caller on network two heard the moved phone
        assert "still here" not in kit_one.said  # network one made none of its voice
        before = one.leg_audio(LEG_A)  # what network one carried: the first 1 s, silence
        assert before is not None and 0 < len(before[1]) <= 8000 * 1.1 and rms(before[1]) == 0
        assert two.is_live(LEG_A) and not one.is_live(LEG_A)


async def test_an_audio_leg_of_an_external_line_does_not_move(clock: FakeClock) -> None:
    """A leg whose audio comes from outside the process (a SIP or browser phone) stays; an
    audio leg of the simulated phones beside it may move."""
    from tests.audio_doubles import FakeKit

    from percl.telephony.sim.audio.ear import ZERO
    from percl.telephony.sim.lines import LineCall

    class Far:  # a real phone's audio: digital silence both ways
        def take(self) -> object:
            return ZERO

        def give(self, frame: object) -> None:
            pass

        def close(self) -> None:
            pass

    class Line:  # a SIP line that answers at once
        name = "test"

        def handles(self, to: str) -> bool:
            return to.startswith("sip:")

        async def dial(self, call: LineCall) -> None:
            call.answer(Far())  # type: ignore[arg-type]

        def answered(self, call_id: str) -> None:
            pass

        def ended(self, call_id: str) -> None:
            pass

    async with running(clock, media="audio", audio_kit=FakeKit(), tracker=clock.tracker) as net:
        net.add_line(Line())  # type: ignore[arg-type]
        await net.dial(LEG_A, PLATFORM, "sip:bob@127.0.0.1", RecordingListener(clock),
                       detect_machine=False)
        await net.dial(LEG_B, PLATFORM, AGENT, RecordingListener(clock), detect_machine=False)
        await clock.advance(2)
        assert not net.park(LEG_A)
        assert net.is_live(LEG_A)
        assert net.park(LEG_B)
        net.unpark(LEG_B, RecordingListener(clock))
        assert net.is_live(LEG_B)


async def test_a_leg_moves_to_another_process_network_in_its_parcel(clock: FakeClock) -> None:
    """Two networks of two worlds (two processes): the leg travels as JSON, arrives with its
    transcript and times, and its phone goes on with the script steps it had not started."""
    async with AsyncExitStack() as stack:
        one = await stack.enter_async_context(running(clock))
        other = await stack.enter_async_context(running(clock))  # another process
        one.program(AGENT, PhoneProgram(hangup_after_ms=9000, script=(
            PhoneStep(1000, digits="1"), PhoneStep(3000, say="still here"),
            PhoneStep(4000, digits="5"))))
        first = RecordingListener(clock)
        await one.dial(LEG_A, PLATFORM, AGENT, first, detect_machine=False)
        await clock.advance(2.5)  # answered at 1 s; "1" pressed at 2 s
        before = one.transcript(LEG_A)
        assert one.park(LEG_A)
        parcel = json.loads(json.dumps(one.parcel(LEG_A)))  # only JSON crosses
        assert len(json.dumps(parcel)) <= PARCEL_BYTES
        second = RecordingListener(clock)
        assert other.adopt(LEG_A, second, parcel)
        one.let_go(LEG_A)
        await clock.advance(10)
        assert events(first) == ["ringing", "answered", "digits"]
        assert events(second) == ["speech", "digits", "hangup"]  # not "1" again
        assert [(t, name) for t, name, _ in second.events] == [
            (1.5, "speech"), (2.5, "digits"), (7.5, "hangup")]  # times count from the answer (1 s)
        after = other.transcript(LEG_A)
        assert before is not None and after is not None and not after.live
        assert after.created_ms == before.created_ms
        assert after.entries[:len(before.entries)] == before.entries
        assert [e.type for e in after.entries[len(before.entries):]] == [
            TranscriptEvent.SAID, TranscriptEvent.DIGITS_PRESSED, TranscriptEvent.HANGUP]
        assert one.transcript(LEG_A) is None and not one.park(LEG_A)


async def test_a_parcel_keeps_the_newest_entries_and_refuses_a_phone_too_large(
        clock: FakeClock) -> None:
    async with AsyncExitStack() as stack:
        one = await stack.enter_async_context(running(clock))
        other = await stack.enter_async_context(running(clock))
        one.program(AGENT, PhoneProgram(script=tuple(
            PhoneStep(1000 + i, say=f"line {i} " + "x" * 80) for i in range(60))))
        one.program(CALLER, PhoneProgram(script=tuple(
            PhoneStep(60_000 + i, say="y" * 1000) for i in range(10))))
        await one.dial(LEG_A, PLATFORM, AGENT, RecordingListener(clock), detect_machine=False)
        await one.dial(LEG_B, PLATFORM, CALLER, RecordingListener(clock), detect_machine=False)
        await clock.advance(5)  # A said all 60 lines: more transcript than a parcel holds
        assert one.park(LEG_A) and one.park(LEG_B)
        assert one.parcel(LEG_B) is None  # its unstarted script alone is over the budget
        assert not other.adopt(LEG_B, RecordingListener(clock), one.parcel(LEG_B))
        parcel = one.parcel(LEG_A)
        assert isinstance(parcel, dict) and parcel["dropped"] > 0
        assert other.adopt(LEG_A, RecordingListener(clock), parcel)
        moved = other.transcript(LEG_A)
        assert moved is not None and moved.entries[-1].text is not None
        assert moved.entries[-1].text.startswith("line 59 ")  # the newest entries came


def test_a_parcel_that_is_not_one_is_refused() -> None:
    for junk in (None, 3, {"v": 2}, {"v": 1, "callId": LEG_A}, [1, 2]):
        assert unpack(junk) is None
