"""What a person at a terminal does through the network: speak, pick up or decline a manual
phone, and follow the legs of a number."""

from __future__ import annotations

import pytest
from sim_helpers import RecordingHandler, RecordingListener, running

from percl.domain.enums import AnsweredBy, PhoneAnswer
from percl.engine.ports import DialResult
from percl.telephony.sim.model import LegState, PhoneProgram, PhoneStep
from percl.testing.clock import FakeClock

TO = "+13125550142"
FROM = "+18475550100"
CALL = "CA" + "1" * 40
OTHER = "CA" + "2" * 40


async def test_say_records_said_and_tells_the_listener(clock: FakeClock) -> None:
    async with running(clock) as net:
        ln = RecordingListener(clock)
        await net.dial(CALL, FROM, TO, ln, detect_machine=False)
        with pytest.raises(ValueError, match="not answered"):
            net.say(CALL, "too early")
        await clock.advance(1)
        net.say(CALL, "sales please")
        await clock.advance(0.5)
        assert ln.events[-1] == (1.0, "speech", "sales please")
        t = net.transcript(CALL)
        assert t is not None
        assert [(e.at_ms, str(e.type), e.text) for e in t.entries[-1:]] == [
            (1000, "said", "sales please")
        ]
        for blank in ("", "   "):
            with pytest.raises(ValueError, match="text"):
                net.say(CALL, blank)
        await net.hangup(CALL)
        with pytest.raises(KeyError):
            net.say(CALL, "anyone?")
        with pytest.raises(KeyError):
            net.say("CAnope", "hello")


async def test_inbound_caller_script_speaks_after_answer(clock: FakeClock) -> None:
    async with running(clock) as net:
        handler = RecordingHandler(net, clock)
        net.set_inbound_handler(handler)
        call_id = await net.place_call(FROM, TO, [PhoneStep(after_ms=700, say="billing")])
        await net.answer(call_id)
        await clock.advance(1)
        assert handler.listeners[call_id].events == [(0.7, "speech", "billing")]


async def test_manual_phone_rings_until_picked_up(clock: FakeClock) -> None:
    async with running(clock) as net:
        net.program(TO, PhoneProgram(answer=PhoneAnswer.MANUAL,
                                     script=(PhoneStep(after_ms=200, digits="5"),)))
        ln = RecordingListener(clock)
        await net.dial(CALL, FROM, TO, ln, detect_machine=True)
        await clock.advance(120)
        assert ln.names() == ["ringing"] and net.is_live(CALL)
        net.pick_up(CALL)
        await clock.advance(1)
        assert ln.events[1:] == [(120.0, "answered", AnsweredBy.HUMAN), (120.2, "digits", "5")]
        with pytest.raises(ValueError, match="not ringing"):
            net.pick_up(CALL)
        with pytest.raises(ValueError, match="not ringing"):
            net.decline(CALL)


async def test_manual_phone_declined_is_busy(clock: FakeClock) -> None:
    async with running(clock) as net:
        net.program(TO, PhoneProgram(answer=PhoneAnswer.MANUAL))
        ln = RecordingListener(clock)
        await net.dial(CALL, FROM, TO, ln, detect_machine=False)
        await clock.advance(3)
        net.decline(CALL)
        await clock.settle()
        assert ln.events == [(0.0, "ringing", None), (3.0, "failed", DialResult.BUSY)]
        t = net.transcript(CALL)
        assert t is not None and [str(e.type) for e in t.entries] == ["ringing", "busy"]
        with pytest.raises(KeyError):
            net.decline(CALL)


async def test_picking_up_early_answers_once(clock: FakeClock) -> None:
    async with running(clock) as net:  # an ordinary phone would answer by itself at 1 s
        ln = RecordingListener(clock)
        await net.dial(CALL, FROM, TO, ln, detect_machine=False)
        await clock.advance(0.3)
        net.pick_up(CALL)
        await clock.advance(5)
        assert ln.events == [(0.0, "ringing", None), (0.3, "answered", AnsweredBy.HUMAN)]


async def test_only_the_called_phone_can_pick_up(clock: FakeClock) -> None:
    async with running(clock) as net:
        net.set_inbound_handler(RecordingHandler(net, clock))
        call_id = await net.place_call(FROM, TO)
        for action in (net.pick_up, net.decline):
            with pytest.raises(ValueError, match="placed by the phone"):
                action(call_id)
        with pytest.raises(KeyError):
            net.pick_up("CAnope")


async def test_legs_of_a_number_newest_first(clock: FakeClock) -> None:
    async with running(clock) as net:
        net.set_inbound_handler(RecordingHandler(net, clock))
        await net.dial(CALL, "+15550000001", TO, RecordingListener(clock), detect_machine=False)
        await clock.advance(2)
        await net.hangup(CALL)
        inbound = await net.place_call(TO, "+15550000002")
        await net.dial(OTHER, FROM, "+15550000003", RecordingListener(clock), detect_machine=False)
        legs = net.legs_of(TO)
        assert [(leg.call_id, leg.outbound, leg.state, leg.live) for leg in legs] == [
            (inbound, False, LegState.RINGING, True),
            (CALL, True, LegState.ENDED, False),
        ]
        assert legs[1].created_ms == round((clock.now() - 2) * 1000)
        assert net.legs_of("+15559999999") == []
