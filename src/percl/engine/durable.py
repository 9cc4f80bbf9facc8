"""Call records written through a busy database: retried with backoff, never given up early.

Why: the engine stores a call's record before it reports the change (ARCHITECTURE.md). When
another process held the database's write lock for a few seconds, the write failed, the session
crashed on it and the call stayed `inProgress` until a restart, with no callStatus. A busy
database now fails a write at once (`StoreBusy`, so the event loop never waits for the lock) and
the leg waits here on the injected clock, retrying: once the lock is gone the record converges,
with the times of the changes themselves (endTime is when the leg ended, not when the write got
through), and the webhooks follow. REST requests do not retry: they answer 503 at once.
"""

from __future__ import annotations

import logging

from percl.domain.records import Call
from percl.engine.context import EngineContext
from percl.errors import StoreBusy

_log = logging.getLogger(__name__)

#: First wait after a busy write (clock seconds); doubles up to RETRY_MAX_S.
RETRY_FIRST_S = 0.05
RETRY_MAX_S = 2.0
#: How long a leg keeps retrying one record before StoreBusy ends it (the session's crash path,
#: and at worst the next start-up's recovery, closes it).
RETRY_FOR_S = 120.0


async def put_call(ctx: EngineContext, call: Call) -> None:
    """Store `call`, retrying while the database is busy. Raises StoreBusy after RETRY_FOR_S."""
    delay, waited = RETRY_FIRST_S, 0.0
    while True:
        try:
            await ctx.store.put_call(call)
            return
        except StoreBusy:
            if waited >= RETRY_FOR_S:
                raise
            if waited == 0:
                _log.warning("database busy: retrying the record of call %s", call.call_id)
        await ctx.clock.sleep(delay)
        waited += delay
        delay = min(delay * 2, RETRY_MAX_S)
