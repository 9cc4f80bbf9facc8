"""A queued leg: the Membership the Enqueue runner joins to it, the exit webhook's fields, and the
start-up cleanup of members whose legs a previous process left behind.

The membership keeps what the engine needs while the leg waits (its URLs, its place in the member
table of queue/state.py, when waitUrl was last asked) and hands the session's hooks to the
QueueService, which owns the queues' locks and the store writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from percl.domain import payloads as p
from percl.domain.enums import LogLevel, QueueResult
from percl.domain.records import revised
from percl.engine.context import EngineContext
from percl.engine.queue.state import MemberState
from percl.percl.commands import Enqueue

if TYPE_CHECKING:
    from percl.engine.runners import Leg


class MemberHooks(Protocol):
    """What a membership asks of its service (engine.queues.QueueService)."""

    async def wait_again(self, member: QueueMembership, session: Leg) -> None: ...
    async def leg_ended(self, member: QueueMembership, session: Leg) -> None: ...


class QueueMembership:
    """One leg's place in a queue, from Enqueue until it leaves (engine.runners.Membership)."""

    def __init__(self, service: MemberHooks, command: Enqueue, call_id: str) -> None:
        self.service = service
        self.queue_id = command.queue_id
        self.call_id = call_id
        self.wait_url = command.wait_url
        self.action_url = command.action_url
        self.notification_url = command.notification_url
        self.state = MemberState.NEW
        self.last_wait_at: float | None = None  # clock time of the latest queueWait request

    def holds(self, session: Leg) -> bool:
        """True while `session` is live and waiting in the queue through this membership."""
        return session.membership is self and self.state is MemberState.WAITING and not session.done

    def on_digits(self, session: Leg, digits: str) -> bool:
        return False  # keys go to the wait script's GetDigits

    def on_speech(self, session: Leg, text: str) -> bool:
        return False

    async def on_idle(self, session: Leg) -> None:
        await self.service.wait_again(self, session)

    async def on_leg_ended(self, session: Leg) -> None:
        await self.service.leg_ended(self, session)


@dataclass(frozen=True, slots=True)
class QueueExit:
    """How a leg left its queue: what its dequeue / removeFromQueueNotification webhook says."""

    queue_id: str
    result: QueueResult
    queue_time: int

    def dequeue(self) -> p.Dequeue:
        return p.Dequeue(self.queue_id, self.result, self.queue_time)

    def removed(self) -> p.RemoveFromQueueNotification:
        return p.RemoveFromQueueNotification(self.queue_id, self.result, self.queue_time)


async def remove_stale_members(ctx: EngineContext, live: Mapping[str, object]) -> int:
    """At start-up: remove every member whose call has no live session in `live` (after
    CallService.recover, that is every member) and clear its call's queueId. Returns how many.

    Their time in the queue was cut short by the crash, so it is kept out of the averages, and no
    webhook is sent: start-up must not wait on customers' apps. Each removal is logged as an error.
    """
    store, removed = ctx.store, 0
    for account in await store.list_accounts():
        for queue in await store.list_queues(account.account_id):
            for member in await store.list_members(queue.queue_id):
                if member.call_id in live:
                    continue
                await store.delete_member(member.call_id)
                call = await store.get_call(member.call_id)
                if call is not None and call.queue_id == queue.queue_id:
                    await store.put_call(revised(call, ctx.clock.now(), queue_id=None))
                await ctx.logs.log(
                    LogLevel.ERROR, account.account_id,
                    f"Call was waiting in queue {queue.queue_id} when percl stopped; removed at "
                    "start-up", call_id=member.call_id, metadata={"queueId": queue.queue_id})
                removed += 1
    return removed
