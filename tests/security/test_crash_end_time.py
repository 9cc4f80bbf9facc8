"""Issue 17.13: a call a crash left live is closed at the next start-up with the last moment percl
knew it alive as its endTime (the newest call change or log line the crashed process wrote), not
the restart time: the downtime is no part of the call."""

from __future__ import annotations

from pathlib import Path

from percl.domain.enums import CallDirection, CallEndedReason, CallStatus, LogLevel
from percl.domain.records import Call, LogEntry
from percl.store.sqlite import SqliteStore
from percl.testing.harness import Harness

CALLER = "+15550100001"


async def test_end_time_is_the_last_sign_of_life_not_the_restart(tmp_path: Path) -> None:
    db = tmp_path / "percl.db"
    async with Harness(store=SqliteStore.for_path(db)) as h:
        account_id = h.account.account_id
        restart = h.clock.now()  # the second harness's clock starts at the same moment
        answered = restart - 3600.0  # the call's last change, an hour before the restart
        alive_until = restart - 3000.0  # the crashed process's last log line
        live = Call(call_id="CA" + "1" * 40, account_id=account_id, from_=CALLER,
                    to="+13125550100", direction=CallDirection.INBOUND,
                    status=CallStatus.IN_PROGRESS, start_time=answered - 5, connect_time=answered,
                    date_created=answered - 5, date_updated=answered)
        # Written behind the engine's back, as if the process died with the call up.
        await h.store.put_call(live)
        await h.store.add_log(LogEntry(timestamp=int(alive_until * 1_000_000), level=LogLevel.INFO,
                                       account_id=account_id, message="a webhook of another call"))

    async with Harness(store=SqliteStore.for_path(db)) as h2:
        assert h2.platform.recovered == 1
        closed = await h2.call(live.call_id)
        assert closed.status is CallStatus.COMPLETED
        assert closed.call_ended_reason is CallEndedReason.INTERNAL_ERROR
        assert closed.end_time == alive_until  # not h2's start-up time (`restart`)
        assert closed.date_updated == restart  # the record itself changed at the restart
