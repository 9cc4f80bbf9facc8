"""`bounded`: one outbound HTTP request with a clock deadline and a byte cap.

Every outbound read goes through it: webhook POSTs (dispatcher.py), and the GETs of grammar,
Play and waitUrl files (fetch.py, which media/probe.py uses through the Fetcher port).

Why the deadline is a clock timer and not asyncio.wait_for: wait_for measures time with the event
loop's clock, which a test cannot move. The request runs in the caller's task and a clock timer
(`clock.call_later(timeout_s, ...)`) cancels it (as asyncio.timeout does), so a FakeClock expires
a 10-second webhook in microseconds. A timed-out request is abandoned, a finished one drops its
timer. One task per request and no timer task: webhooks are the hot path, and a task sleeping
for the deadline doubled the cost of `bounded` (93k -> 46k instructions a request, callgrind).

Why the cap is passed down to the transport: only the transport reads the socket, so only it can
stop reading at the cap; an answer read whole and cut afterwards has already cost its memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from percl.domain.clock import Clock
from percl.webhooks.transport import TransportResponse

Request = Callable[[int], Awaitable[TransportResponse]]
"""Sends the request, reading at most the given number of bytes of the answer's body (a transport
method with its `limit` bound, e.g. `lambda cap: transport.get(url, headers, limit=cap)`)."""


async def bounded(
    clock: Clock, timeout_s: float, max_bytes: int, request: Request
) -> TransportResponse | None:
    """The answer to `request(max_bytes)`, or None when `timeout_s` of clock time passed first.

    The answer's body has at most `max_bytes` bytes (`truncated` says whether more was sent).
    Raises what the request raises (TransportError), and CancelledError when the caller is
    cancelled. Must be awaited inside a task.
    """
    task = asyncio.current_task()
    assert task is not None, "bounded() runs inside a task"
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    timer = clock.call_later(timeout_s, expire)
    try:
        return await request(max_bytes)
    except asyncio.CancelledError:
        # Ours only if the timer fired and nobody else cancelled the caller meanwhile.
        if expired and task.uncancel() == 0:
            return None
        raise
    finally:
        timer.cancel()  # no-op once it fired
