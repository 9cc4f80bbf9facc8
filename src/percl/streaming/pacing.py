"""Messages in flight between the platform and in-process test agents, for the FakeClock.

Why: a test drives percl with a FakeClock that moves on as soon as the event loop is quiet. A
stream's messages cross real (loopback) sockets, and gRPC's own threads, where the loop cannot
see them: without help the clock would run ahead of an agent's reply. Both ends report to one
`InFlight`: the sender calls `sent` before it writes a message, the receiver `arrived` once it
read it (an agent registers its replies first). While any stream has messages in flight, the
tracker the FakeClock settles on is busy, so audio moves in lockstep with the clock.

Only locations `claim`ed by a test agent are counted: a real agent elsewhere is never waited for.
A stream that ends is `forget`-ten: what it left unread no longer counts, nor do late reports.
Production builds none of this (the connector's InFlight is None).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol

Key = tuple[str, str]  # (location, call id)


class WorkCounter(Protocol):
    def enter(self) -> None: ...
    def leave(self) -> None: ...


class InFlight:
    def __init__(self, tracker: WorkCounter) -> None:
        self._tracker = tracker
        self._claimed: set[str] = set()
        self._counts: dict[Key, int] = {}
        self._dead: set[Key] = set()

    @contextlib.contextmanager
    def connecting(self) -> Iterator[None]:
        """A connection attempt is under way (real time: a refused port or a TLS handshake takes
        what it takes): the FakeClock waits for it instead of running ahead of it."""
        self._tracker.enter()
        try:
            yield
        finally:
            self._tracker.leave()

    def claim(self, location: str) -> None:
        """A test agent serves `location`: count its streams' messages."""
        self._claimed.add(location)

    def release(self, location: str) -> None:
        self._claimed.discard(location)
        for key in [k for k in self._counts if k[0] == location]:
            self.forget(key)

    def sent(self, key: Key, *, opening: bool = False) -> None:
        """A message of stream `key` is about to be written. `opening`: the stream's first (a
        stream on the same call and location after an ended one counts again)."""
        if key[0] not in self._claimed:
            return
        if opening:
            self._dead.discard(key)
        if key in self._dead:
            return
        count = self._counts.get(key, 0)
        self._counts[key] = count + 1
        if count == 0:
            self._tracker.enter()

    def arrived(self, key: Key) -> None:
        """A message of stream `key` was read."""
        count = self._counts.get(key, 0)
        if count <= 0 or key in self._dead:
            return
        self._counts[key] = count - 1
        if count == 1:
            del self._counts[key]
            self._tracker.leave()

    def forget(self, key: Key) -> None:
        """Stream `key` ended: nothing it left in flight will arrive."""
        self._dead.add(key)
        if self._counts.pop(key, 0) > 0:
            self._tracker.leave()
