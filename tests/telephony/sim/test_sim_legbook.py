"""telephony/sim/legbook.py: the legs the network remembers, and the lookups' errors."""

from __future__ import annotations

import pytest

from percl.telephony.sim.legbook import LegBook
from percl.telephony.sim.model import LegState, PhoneProgram, TranscriptEvent
from percl.telephony.sim.phones import Leg
from percl.testing.clock import FakeClock

A, B = "+13125550100", "+13125550101"


def opened(book: LegBook, call_id: str, *, outbound: bool = True, to: str = B) -> Leg:
    return book.open(call_id, A, to, outbound=outbound, program=PhoneProgram(), listener=None)


async def test_a_new_leg_rings_and_ids_are_unique(clock: FakeClock) -> None:
    book = LegBook(clock, 10)
    leg = opened(book, "CA1")
    assert leg.state is LegState.RINGING and book.is_live("CA1") and not book.is_live("CA2")
    transcript = book.transcript("CA1")
    assert transcript is not None and [x.type for x in transcript.entries] == [TranscriptEvent.RINGING]
    with pytest.raises(ValueError, match="already in use"):
        opened(book, "CA1")


async def test_only_the_oldest_ended_legs_are_forgotten(clock: FakeClock) -> None:
    book = LegBook(clock, 2)
    first, second = opened(book, "CA1"), opened(book, "CA2")
    first.end()
    opened(book, "CA3")  # three legs, room for two: the ended one goes
    assert book.get("CA1") is None and book.get("CA2") is second
    opened(book, "CA4")  # nothing ended: live legs are never dropped
    assert [leg.call_id for leg in book] == ["CA2", "CA3", "CA4"]


async def test_lookups_raise_what_the_sim_api_reports(clock: FakeClock) -> None:
    book = LegBook(clock, 10)
    outbound, inbound = opened(book, "CA1"), opened(book, "CA2", outbound=False)
    with pytest.raises(KeyError):
        book.leg("CA9")
    with pytest.raises(ValueError, match="not answered yet"):
        book.answered_leg("CA1")
    with pytest.raises(ValueError, match="placed by the phone"):
        book.ringing_callee("CA2")
    assert book.ringing_callee("CA1") is outbound
    inbound.end()
    assert book.leg("CA2") is inbound
    with pytest.raises(KeyError):
        book.live_leg("CA2")


async def test_legs_of_a_number_newest_first(clock: FakeClock) -> None:
    book = LegBook(clock, 10)
    opened(book, "CA1")
    opened(book, "CA2", to="+13125550199")
    opened(book, "CA3")
    assert [s.call_id for s in book.legs_of(B)] == ["CA3", "CA1"]
    assert [s.call_id for s in book.legs_of(A)] == ["CA3", "CA2", "CA1"]


async def test_eviction_keeps_the_last_ended_legs_and_every_live_one(clock: FakeClock) -> None:
    book = LegBook(clock, 4)
    legs = [opened(book, f"CA{i}") for i in range(4)]
    legs[2].end()
    legs[0].end()
    legs[0].end()  # ending twice queues it once
    opened(book, "CA4")  # five legs, room for four: the first to end (CA2) goes
    assert book.get("CA2") is None and book.get("CA0") is legs[0]
    legs[1].end()
    opened(book, "CA5")  # then CA0, ended before CA1
    assert [leg.call_id for leg in book] == ["CA1", "CA3", "CA4", "CA5"]
    opened(book, "CA6")  # then CA1; the rest are live and stay, over the limit
    opened(book, "CA7")
    assert [leg.call_id for leg in book] == ["CA3", "CA4", "CA5", "CA6", "CA7"]
    assert all(leg.live for leg in book)


async def test_eviction_does_not_look_at_live_legs(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = LegBook(clock, 100)
    for i in range(150):
        opened(book, f"CA{i}")
    looked = 0
    real_live = Leg.live

    def counting(leg: Leg) -> bool:
        nonlocal looked
        looked += 1
        return bool(real_live.fget(leg))  # type: ignore[attr-defined]

    monkeypatch.setattr(Leg, "live", property(counting))
    for i in range(150, 200):
        opened(book, f"CA{i}")
    assert looked == 0 and len(list(book)) == 200
