"""The legs the simulated network remembers: live ones, and ended ones for their transcripts.

Transcripts stay readable after a leg ends; the book keeps the legs of the last `max_transcripts`
calls, forgetting the ones that ended first (a live leg is never dropped). The lookups raise what
the sim API turns into its errors: KeyError for an unknown (or ended) leg, ValueError for a leg in
the wrong state.

Why ended legs have their own queue: with 10,000 calls held, scanning every leg for an ended one on
each new call was a quarter of percl's CPU (docs/BENCHMARKS.md, fix 3). The book makes its legs as
`_BookedLeg`s, which tell it when they end, so eviction pops the front of that queue: O(1), and it
never looks at a live leg.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from percl.domain.clock import Clock
from percl.engine.ports import LegListener
from percl.telephony.sim.model import LegSummary, PhoneProgram, Transcript, TranscriptEvent
from percl.telephony.sim.parcel import LegParcel
from percl.telephony.sim.phones import Leg, LegState


class _BookedLeg(Leg):
    """A Leg that reports its end to the book, at once (a done-callback on `ended` would run a
    loop step later, after the next `open` may already have needed the room)."""

    def __init__(self, *args: Any, on_end: Callable[[str], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_end = on_end

    def end(self) -> None:
        was_live = self.live
        super().end()
        if was_live:
            self._on_end(self.call_id)


class LegBook:
    """Legs by call id, oldest first. Legs are made on `clock` (inside the running loop)."""

    def __init__(
        self, clock: Clock, max_transcripts: int, on_end: Callable[[str], None] | None = None,
    ) -> None:
        self._clock = clock
        self._on_end = on_end  # told of every leg that ends, at once
        self._legs: OrderedDict[str, Leg] = OrderedDict()
        self._ended: OrderedDict[str, None] = OrderedDict()  # ended legs still held, in end order
        self._max = max_transcripts

    def open(
        self, call_id: str, from_: str, to: str, *, outbound: bool, program: PhoneProgram,
        listener: LegListener | None,
    ) -> Leg:
        """A new ringing leg, remembered. Raises ValueError for a call id already in use."""
        if call_id in self._legs:
            raise ValueError(f"call id {call_id} is already in use")
        leg = _BookedLeg(
            call_id, from_, to, outbound=outbound, program=program, clock=self._clock,
            listener=listener, on_end=self._ended_now,
        )  # fmt: skip
        leg.transcript.add(TranscriptEvent.RINGING)
        self._legs[call_id] = leg
        self._evict()
        return leg

    def restore(self, parcel: LegParcel, listener: LegListener | None) -> Leg:
        """Remember a live leg that moved here from another process's network (parcel.py), as
        it was there: its state, its times (relative to this clock now) and its transcript.
        Raises ValueError for a call id already in use."""
        if parcel.call_id in self._legs:
            raise ValueError(f"call id {parcel.call_id} is already in use")
        leg = _BookedLeg(
            parcel.call_id, parcel.from_, parcel.to, outbound=parcel.outbound,
            program=parcel.program, clock=self._clock, listener=listener,
            on_end=self._ended_now,
        )  # fmt: skip
        now = self._clock.now()
        leg.created_at = now - parcel.created_ago_ms / 1000
        if parcel.answered_ago_ms is not None:
            leg.answered_at = now - parcel.answered_ago_ms / 1000
        leg.state = parcel.state
        leg.transcript.restore(leg.created_at, parcel.entries)
        self._legs[parcel.call_id] = leg
        self._evict()
        return leg

    def take(self, call_id: str) -> Leg | None:
        """Forget the live leg `call_id` without ending it (it moves to another network's
        book: `put`); None when it is not live here."""
        leg = self._legs.get(call_id)
        if leg is None or not leg.live:
            return None
        del self._legs[call_id]
        if isinstance(leg, _BookedLeg):
            leg._on_end = _nobody  # ending in transit: the adopting book learns it in `put`
        return leg

    def put(self, leg: Leg) -> None:
        """Remember a live leg another book let go (`take`); its end is reported here now.
        Raises ValueError for a call id already in use."""
        if leg.call_id in self._legs:
            raise ValueError(f"call id {leg.call_id} is already in use")
        if isinstance(leg, _BookedLeg):
            leg._on_end = self._ended_now
        self._legs[leg.call_id] = leg
        if not leg.live:
            self._ended[leg.call_id] = None
        self._evict()

    def __iter__(self) -> Iterator[Leg]:
        return iter(self._legs.values())

    def get(self, call_id: str) -> Leg | None:
        return self._legs.get(call_id)

    def leg(self, call_id: str) -> Leg:
        """The leg `call_id`, live or ended. Raises KeyError for unknown legs."""
        leg = self._legs.get(call_id)
        if leg is None:
            raise KeyError(call_id)
        return leg

    def live_leg(self, call_id: str) -> Leg:
        """The live leg `call_id`. Raises KeyError for unknown or ended legs."""
        leg = self.leg(call_id)
        if not leg.live:
            raise KeyError(call_id)
        return leg

    def answered_leg(self, call_id: str) -> Leg:
        """The live, answered leg `call_id`: raises like `live_leg`, and ValueError while it rings."""
        leg = self.live_leg(call_id)
        if leg.state is not LegState.ANSWERED:
            raise ValueError(f"call {call_id} is not answered yet")
        return leg

    def ringing_callee(self, call_id: str) -> Leg:
        """The ringing outbound leg `call_id` (its phone may pick up or decline). Raises like
        `live_leg`, and ValueError for a leg the phone placed itself or one not ringing."""
        leg = self.live_leg(call_id)
        if not leg.outbound:
            raise ValueError(f"call {call_id} was placed by the phone: there is nothing to answer")
        if leg.state is not LegState.RINGING:
            raise ValueError(f"call {call_id} is not ringing")
        return leg

    def legs_of(self, number: str) -> list[LegSummary]:
        """The legs from or to `number` the book still holds, newest first."""
        return [leg.summary() for leg in reversed(self._legs.values())
                if number in (leg.transcript.from_, leg.transcript.to)]  # fmt: skip

    def transcript(self, call_id: str) -> Transcript | None:
        leg = self._legs.get(call_id)
        return None if leg is None else leg.transcript.snapshot(live=leg.live)

    def is_live(self, call_id: str) -> bool:
        leg = self._legs.get(call_id)
        return leg is not None and leg.live

    def _ended_now(self, call_id: str) -> None:
        self._ended[call_id] = None
        if self._on_end is not None:
            self._on_end(call_id)

    def _evict(self) -> None:
        """Forget the earliest-ended legs beyond `max_transcripts` (live legs are never dropped).

        Pops the front of the ended queue: amortised O(1) per `open`, live legs never looked at."""
        excess = len(self._legs) - self._max
        while excess > 0 and self._ended:
            call_id, _ = self._ended.popitem(last=False)
            del self._legs[call_id]
            excess -= 1


def _nobody(call_id: str) -> None:
    """A parked leg's end goes to no book (see LegBook.take)."""
