"""Audio paths on the simulated network (telephony.sim.bridge): `relay` and conference beeps."""

from __future__ import annotations

import asyncio

import pytest
from sim_helpers import RecordingListener, running

from percl.engine.ports import Tone
from percl.telephony.sim.model import PhoneProgram, TranscriptEvent
from percl.telephony.sim.network import SimNetwork
from percl.testing.clock import FakeClock

AGENT, CALLER, PLATFORM = "+15550100002", "+15550100001", "+13125550100"
LEG_A, LEG_B = "CA" + "a" * 40, "CA" + "b" * 40


async def two_legs(net: SimNetwork, clock: FakeClock) -> None:
    """LEG_A: the platform called AGENT; LEG_B: the platform called CALLER. Both answered."""
    await net.dial(LEG_A, PLATFORM, AGENT, RecordingListener(clock), detect_machine=False)
    await net.dial(LEG_B, PLATFORM, CALLER, RecordingListener(clock), detect_machine=False)
    await clock.advance(1)


def heard(net: SimNetwork, call_id: str) -> list[tuple[str | None, str | None, str | None, str | None]]:
    transcript = net.transcript(call_id)
    assert transcript is not None
    return [(e.speaker, e.speaker_call_id, e.text, e.digits) for e in transcript.entries
            if e.type is TranscriptEvent.HEARD]


async def test_relay_records_what_the_other_leg_said(clock: FakeClock) -> None:
    async with running(clock) as net:
        await two_legs(net, clock)
        net.relay(LEG_A, LEG_B, text="hello agent")
        assert heard(net, LEG_A) == [(CALLER, LEG_B, "hello agent", None)]
        assert heard(net, LEG_B) == []  # one direction only


async def test_relayed_keys_from_one_speaker_gather_into_one_entry(clock: FakeClock) -> None:
    async with running(clock) as net:
        await two_legs(net, clock)
        net.relay(LEG_A, LEG_B, digits="1")
        net.relay(LEG_A, LEG_B, digits="2")
        net.relay(LEG_A, LEG_B, text="and")
        net.relay(LEG_A, LEG_B, digits="#")
        assert heard(net, LEG_A) == [(CALLER, LEG_B, None, "12"), (CALLER, LEG_B, "and", None),
                                     (CALLER, LEG_B, None, "#")]


async def test_relay_ignores_unknown_ringing_and_ended_legs(clock: FakeClock) -> None:
    async with running(clock) as net:
        net.program(AGENT, PhoneProgram(answer_after_ms=5000))
        await two_legs(net, clock)  # LEG_A still rings
        net.relay(LEG_A, LEG_B, text="too early")
        net.relay(LEG_B, "CA" + "0" * 40, text="nobody")
        await net.hangup(LEG_B)
        net.relay(LEG_B, LEG_A, text="too late")
        assert heard(net, LEG_A) == [] and heard(net, LEG_B) == []
        with pytest.raises(ValueError):
            net.relay(LEG_A, LEG_B, text="x", digits="1")


async def test_beep_is_played_as_media(clock: FakeClock) -> None:
    async with running(clock) as net:
        await two_legs(net, clock)
        start = clock.now()
        task = asyncio.ensure_future(net.play(LEG_A, Tone()))
        assert await clock.run_until(task.done, limit_s=5)
        assert round(clock.now() - start, 3) == 0.3
        transcript = net.transcript(LEG_A)
        assert transcript is not None
        assert [e.type for e in transcript.entries][-1] is TranscriptEvent.BEEP


def test_the_sim_api_renders_who_was_heard() -> None:
    from percl.telephony.sim.control.wire import render_entry
    from percl.telephony.sim.model import TranscriptEntry

    entry = TranscriptEntry(at_ms=1500, type=TranscriptEvent.HEARD, text="hi", speaker=CALLER,
                            speaker_call_id=LEG_B)
    assert render_entry(entry) == {"atMs": 1500, "type": "heard", "text": "hi", "speaker": CALLER,
                                   "speakerCallId": LEG_B}
    assert render_entry(TranscriptEntry(at_ms=0, type=TranscriptEvent.BEEP)) == {
        "atMs": 0, "type": "beep"}
