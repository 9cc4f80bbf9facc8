"""The running transcript of one leg: what its far end heard and did, stamped by the Clock.

Entries are appended in the order things happen; media that is cut short is amended in place
(`interrupted`, `heard_ms`), so the order stays the order in which things started.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from percl.domain.clock import Clock
from percl.telephony.sim.model import Transcript, TranscriptEntry, TranscriptEvent


class TranscriptLog:
    """Append-only (plus amendments) record of one leg, with times since the leg was created."""

    def __init__(self, clock: Clock, call_id: str, from_: str, to: str) -> None:
        self._clock = clock
        self._created_at = clock.now()
        self.call_id = call_id
        self.from_ = from_
        self.to = to
        self._entries: list[TranscriptEntry] = []

    def elapsed_ms(self, since: float | None = None) -> int:
        """Milliseconds from `since` (default: the leg's creation) to now, rounded."""
        start = self._created_at if since is None else since
        return round((self._clock.now() - start) * 1000)

    def add(self, type_: TranscriptEvent, **fields: Any) -> int:
        """Append an entry stamped now; returns its index for `amend`."""
        self._entries.append(TranscriptEntry(at_ms=self.elapsed_ms(), type=type_, **fields))
        return len(self._entries) - 1

    def amend(self, index: int, **fields: Any) -> None:
        """Change fields of an entry already written (media cut short, digits still coming)."""
        self._entries[index] = dataclasses.replace(self._entries[index], **fields)

    def restore(self, created_at: float, entries: Sequence[TranscriptEntry]) -> None:
        """Take the creation time and entries of a leg that moved here from another process's
        network (parcel.py), before anything else is written."""
        self._created_at = created_at
        self._entries = list(entries)

    def types(self) -> list[TranscriptEvent]:
        return [e.type for e in self._entries]

    def snapshot(self, *, live: bool) -> Transcript:
        return Transcript(
            call_id=self.call_id,
            from_=self.from_,
            to=self.to,
            entries=tuple(self._entries),
            live=live,
            created_ms=round(self._created_at * 1000),
        )
