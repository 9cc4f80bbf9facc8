"""Outbound legs: how virtual phones ring, answer, fail, run scripts and hang up."""

from __future__ import annotations

from sim_helpers import RecordingListener, running

from percl.domain.enums import AnsweredBy, MachineType, PhoneAnswer
from percl.engine.ports import DialResult
from percl.telephony.sim.model import HangupBy, PhoneProgram, PhoneStep, TranscriptEvent
from percl.testing.clock import FakeClock

TO = "+13125550142"
FROM = "+18475550100"
CALL = "CA" + "1" * 40


def types(net: object, call_id: str = CALL) -> list[str]:
    t = net.transcript(call_id)  # type: ignore[attr-defined]
    assert t is not None
    return [str(e.type) for e in t.entries]


async def test_unprogrammed_phone_answers_as_human_after_one_second(clock: FakeClock) -> None:
    async with running(clock) as net:
        ln = RecordingListener(clock)
        await net.dial(CALL, FROM, TO, ln, detect_machine=True)
        await clock.advance(0.999)
        assert ln.events == [(0.0, "ringing", None)]
        await clock.advance(0.001)
        assert ln.events[-1] == (1.0, "answered", AnsweredBy.HUMAN)
        await clock.advance(3600)
        assert net.is_live(CALL)  # stays on the line
        t = net.transcript(CALL)
        assert t is not None and t.live
        assert [(e.at_ms, e.type) for e in t.entries] == [
            (0, TranscriptEvent.RINGING),
            (1000, TranscriptEvent.ANSWERED),
        ]
        assert (t.from_, t.to) == (FROM, TO)


async def test_busy_reports_after_answer_delay_and_ends_leg(clock: FakeClock) -> None:
    async with running(clock) as net:
        net.program(TO, PhoneProgram(answer=PhoneAnswer.BUSY, answer_after_ms=2000))
        ln = RecordingListener(clock)
        await net.dial(CALL, FROM, TO, ln, detect_machine=False)
        await clock.advance(5)
        assert ln.events == [(0.0, "ringing", None), (2.0, "failed", DialResult.BUSY)]
        assert not net.is_live(CALL)
        assert types(net) == ["ringing", "busy"]


async def test_failed_program_and_non_e164_fail_at_once(clock: FakeClock) -> None:
    async with running(clock) as net:
        net.program(TO, PhoneProgram(answer=PhoneAnswer.FAILED))
        a, b = RecordingListener(clock), RecordingListener(clock)
        await net.dial(CALL, FROM, TO, a, detect_machine=False)
        await net.dial("CA" + "2" * 40, FROM, "sip:nobody", b, detect_machine=False)
        await clock.settle()
        for ln in (a, b):
            assert ln.events == [(0.0, "ringing", None), (0.0, "failed", DialResult.FAILED)]
        assert types(net) == ["ringing", "failed"]
        assert not net.is_reachable("sip:nobody") and net.is_reachable(TO)


async def test_no_answer_rings_until_platform_cancels(clock: FakeClock) -> None:
    async with running(clock) as net:
        net.program(TO, PhoneProgram(answer=PhoneAnswer.NO_ANSWER))
        ln = RecordingListener(clock)
        await net.dial(CALL, FROM, TO, ln, detect_machine=False)
        await clock.advance(30)
        assert net.is_live(CALL)
        await net.hangup(CALL)
        await net.hangup(CALL)  # idempotent
        await clock.advance(60)
        assert ln.names() == ["ringing"]
        assert types(net) == ["ringing", "canceled"]
        t = net.transcript(CALL)
        assert t is not None and t.entries[-1].at_ms == 30_000 and not t.live


async def test_machine_detected_after_detect_time_when_asked(clock: FakeClock) -> None:
    async with running(clock, machine_detect_ms=2500) as net:
        net.program(TO, PhoneProgram(answer=PhoneAnswer.MACHINE, answer_after_ms=500))
        ln = RecordingListener(clock)
        await net.dial(CALL, FROM, TO, ln, detect_machine=True)
        await clock.advance(10)
        assert ln.events[1:] == [
            (0.5, "answered", AnsweredBy.MACHINE),
            (3.0, "machine", MachineType.ANSWERING_MACHINE),
        ]
        assert types(net) == ["ringing", "answered", "machineDetected"]


async def test_fax_is_a_machine_and_detected_as_fax_modem(clock: FakeClock) -> None:
    async with running(clock) as net:
        net.program(TO, PhoneProgram(answer=PhoneAnswer.FAX))
        ln = RecordingListener(clock)
        await net.dial(CALL, FROM, TO, ln, detect_machine=True)
        await clock.advance(10)
        assert ln.events[1:] == [
            (1.0, "answered", AnsweredBy.MACHINE),
            (3.5, "machine", MachineType.FAX_MODEM),
        ]


async def test_no_machine_detection_when_not_asked(clock: FakeClock) -> None:
    async with running(clock) as net:
        net.program(TO, PhoneProgram(answer=PhoneAnswer.MACHINE))
        ln = RecordingListener(clock)
        await net.dial(CALL, FROM, TO, ln, detect_machine=False)
        await clock.advance(10)
        assert ln.names() == ["ringing", "answered"]


async def test_script_presses_keys_100ms_apart_from_answer(clock: FakeClock) -> None:
    async with running(clock) as net:
        script = (PhoneStep(after_ms=500, digits="1#"), PhoneStep(after_ms=2000, say="hi"))
        net.program(TO, PhoneProgram(script=script))
        ln = RecordingListener(clock)
        await net.dial(CALL, FROM, TO, ln, detect_machine=False)
        await clock.advance(10)
        assert ln.events[2:] == [(1.5, "digits", "1"), (1.6, "digits", "#"), (3.0, "speech", "hi")]
        t = net.transcript(CALL)
        assert t is not None
        pressed = t.entries[2]
        assert (pressed.type, pressed.at_ms, pressed.digits) == ("digitsPressed", 1500, "1#")
        assert (t.entries[3].type, t.entries[3].at_ms, t.entries[3].text) == ("said", 3000, "hi")
        assert net.is_live(CALL)


async def test_script_hangup_step_ends_leg_from_far_end(clock: FakeClock) -> None:
    async with running(clock) as net:
        script = (PhoneStep(after_ms=2000, hangup=True), PhoneStep(after_ms=3000, digits="9"))
        net.program(TO, PhoneProgram(script=script))
        ln = RecordingListener(clock)
        await net.dial(CALL, FROM, TO, ln, detect_machine=False)
        await clock.advance(10)
        assert ln.events[-1] == (3.0, "hangup", None)
        assert "digits" not in ln.names()
        t = net.transcript(CALL)
        assert t is not None and not t.live
        assert (t.entries[-1].type, t.entries[-1].by, t.entries[-1].at_ms) == (
            TranscriptEvent.HANGUP,
            HangupBy.FAR_END,
            3000,
        )


async def test_hangup_after_ms_counts_from_answer(clock: FakeClock) -> None:
    async with running(clock) as net:
        net.program(TO, PhoneProgram(answer_after_ms=250, hangup_after_ms=4000))
        ln = RecordingListener(clock)
        await net.dial(CALL, FROM, TO, ln, detect_machine=False)
        await clock.advance(10)
        assert ln.events[-1] == (4.25, "hangup", None)
        assert not net.is_live(CALL)


async def test_platform_hangup_cancels_pending_script(clock: FakeClock) -> None:
    async with running(clock) as net:
        script = (PhoneStep(after_ms=500, digits="123"),)
        net.program(TO, PhoneProgram(script=script, hangup_after_ms=5000))
        ln = RecordingListener(clock)
        await net.dial(CALL, FROM, TO, ln, detect_machine=False)
        await clock.advance(1.55)  # answered at 1.0, keys due at 1.5, 1.6, 1.7
        await net.hangup(CALL)
        await clock.advance(10)
        assert ln.names() == ["ringing", "answered", "digits"]
        t = net.transcript(CALL)
        assert t is not None
        assert [(str(e.type), e.digits, e.by) for e in t.entries[2:]] == [
            ("digitsPressed", "1", None),
            ("hangup", None, HangupBy.PLATFORM),
        ]
        assert clock.next_deadline() is None  # nothing of that leg is still waiting


async def test_far_end_hangup_while_outbound_ringing_is_busy(clock: FakeClock) -> None:
    async with running(clock) as net:
        ln = RecordingListener(clock)
        await net.dial(CALL, FROM, TO, ln, detect_machine=False)
        await clock.advance(0.5)
        net.far_end_hangup(CALL)
        assert not net.is_live(CALL)  # ends at once; the listener hears it from a network task
        await clock.advance(5)
        assert ln.events == [(0.0, "ringing", None), (0.5, "failed", DialResult.BUSY)]


async def test_press_and_far_end_hangup_on_answered_leg(clock: FakeClock) -> None:
    async with running(clock) as net:
        ln = RecordingListener(clock)
        await net.dial(CALL, FROM, TO, ln, detect_machine=False)
        await clock.advance(1)
        net.press(CALL, "42")
        net.press(CALL, "*")  # queued behind the first press, never interleaved
        await clock.advance(1)
        assert [(at, arg) for at, name, arg in ln.events if name == "digits"] == [
            (1.0, "4"),
            (1.1, "2"),
            (1.1, "*"),
        ]
        net.far_end_hangup(CALL)
        await clock.settle()
        assert ln.events[-1] == (2.0, "hangup", None)
        assert types(net)[-1] == "hangup"


async def test_no_listener_calls_after_leg_ended(clock: FakeClock) -> None:
    async with running(clock) as net:
        net.program(TO, PhoneProgram(answer=PhoneAnswer.MACHINE, hangup_after_ms=100))
        ln = RecordingListener(clock)
        await net.dial(CALL, FROM, TO, ln, detect_machine=True)
        await clock.advance(10)
        # detection (due 2.5 s after answer) never fires: the phone hung up at 0.1 s
        assert ln.names() == ["ringing", "answered", "hangup"]


async def test_listener_that_raises_does_not_break_the_network(clock: FakeClock) -> None:
    class Exploding(RecordingListener):
        def on_answered(self, answered_by: AnsweredBy, *, web_rtc: bool = False) -> None:
            raise RuntimeError("engine bug")

    async with running(clock) as net:
        net.program(TO, PhoneProgram(hangup_after_ms=1000))
        ln = Exploding(clock)
        await net.dial(CALL, FROM, TO, ln, detect_machine=False)
        await clock.advance(5)
        assert ln.names() == ["ringing", "hangup"]


async def test_an_ended_leg_lets_go_of_the_engine_listener(clock: FakeClock) -> None:
    # Ended legs stay in the book for their transcripts; holding the listener would keep the
    # engine's whole call session alive (and walked by every full GC pass) with them.
    async with running(clock) as net:
        net.program(TO, PhoneProgram(answer=PhoneAnswer.HUMAN, hangup_after_ms=1000))
        ln = RecordingListener(clock)
        await net.dial(CALL, FROM, TO, ln, detect_machine=False)
        leg = net._legs.leg(CALL)  # the book's leg: white-box, nothing public exposes it
        await clock.advance(1)
        assert leg.listener is ln
        await clock.advance(2)
        assert ln.events[-1][1] == "hangup"  # the end was still reported
        assert leg.listener is None and types(net)[-1] == "hangup"
        other = "CA" + "3" * 40  # ended by the platform: no report, still let go
        await net.dial(other, FROM, TO, ln, detect_machine=False)
        await net.hangup(other)
        assert net._legs.leg(other).listener is None
