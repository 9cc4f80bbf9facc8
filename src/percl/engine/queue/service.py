"""QueueService: the Enqueue and Dequeue commands, the REST queue operations and start-up cleanup.

How a queued leg lives (FREECLIMB.md §6):

* Enqueue creates the queue when its QU id is unknown, refuses the call when the queue is full
  (removeFromQueueNotification queueFull to actionUrl, whose PerCL then runs), or adds it: the
  member is stored, the call record gets its queueId, notificationUrl hears addToQueueNotification,
  and the leg is held (`Hold(Idle.NOTIFY)`): only the wait commands may run.
* Whenever the leg's script runs out, the session calls `on_idle` and the service asks waitUrl
  again with queueWait (position as a string, seconds waited, queue size). An empty or instant wait
  script would make that a hot loop, so two queueWait requests of one member are at least
  `min_wait_interval_s` of clock time apart.
* Ways out: the Dequeue command (from the wait script or its action scripts) and a REST dequeue
  both post `dequeue` to actionUrl and release the leg; a leg that ends while queued is removed
  and actionUrl gets removeFromQueueNotification (`hangup` when someone hung up, `systemError`
  when the platform ended it: shutdown, webhook failure, invalid wait script). queue/state.py
  holds the table that lets exactly one of those win.

Shared state is the store (members, queue totals); each queue has an asyncio.Lock held from the
read of its members to the write that changes them, and every change is stored before its
webhook is sent.

With several workers (docs/WORKERS.md, "Queues across workers") a queue runs on one of them, the
holder of its `queue` lease, so that lock is the only one that counts: the first worker to
enqueue a leg takes the lease, an Enqueue on another worker moves its leg there (the hand-over
AddToConference uses), and the lease is let go when no member is left on its worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from percl.domain import ids
from percl.domain import payloads as p
from percl.domain.enums import CallEndedReason, LogLevel
from percl.domain.json import JsonValue
from percl.domain.records import Account, Queue, QueueMember, revised
from percl.engine.context import EngineContext
from percl.engine.ports import LeaseKind
from percl.engine.queue.members import QueueExit, QueueMembership, remove_stale_members
from percl.engine.queue.state import (
    DEFAULT_MAX_SIZE,
    RESULTS,
    MemberEvent,
    MemberState,
    MemberView,
    admits,
    apply,
    exit_event,
    member_views,
    next_seq,
    whole_seconds,
    with_removal,
)
from percl.engine.runners import HandOver, Leg, run_elsewhere
from percl.engine.workers.cluster import Cluster
from percl.engine.workers.forwarding import Arguments, OwnerGone
from percl.errors import IllegalTransition, NotFound
from percl.percl import events as e
from percl.percl.commands import Command, Enqueue

#: What a queued leg's scripts may run (waitUrl answers and the action scripts of their GetDigits
#: and Redirect): FreeClimb's list plus Redirect, which its official queue sample uses.
WAIT_COMMANDS = frozenset({"Play", "Say", "Pause", "GetDigits", "Dequeue", "Hangup", "Redirect"})
#: Least clock time between two queueWait requests of one member (see the module docstring).
MIN_WAIT_INTERVAL_S = 1.0
#: How often an Enqueue tries to take a queue's lease or find its holder before it gives up and
#: runs the queue here (each miss means the holder let go in between).
OWNER_TRIES = 3

log = logging.getLogger("percl.engine.queue")


class QueueService:
    """Queues for every account. Construct once in app.py; it registers the Enqueue and Dequeue
    runners in `ctx.runners`. `sessions` is the CallService's live-session registry."""

    def __init__(
        self,
        ctx: EngineContext,
        sessions: Mapping[str, Leg],
        *,
        min_wait_interval_s: float = MIN_WAIT_INTERVAL_S,
        cluster: Cluster | None = None,
        hand_over: HandOver | None = None,
    ) -> None:
        self.ctx = ctx
        self.sessions = sessions
        # Several workers: a queue runs on the worker holding its lease, where every member's
        # leg waits (an Enqueue elsewhere moves its leg there: `hand_over`, CallService's).
        self._cluster = cluster
        self._hand_over = hand_over
        if cluster is not None:
            cluster.serve(DEQUEUE, self._forwarded_dequeue)
        self.min_wait_interval_s = min_wait_interval_s
        self.members: dict[str, QueueMembership] = {}  # call id -> its membership, while queued
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        ctx.runners.register("Enqueue", self.run_enqueue)
        ctx.runners.register("Dequeue", self.run_dequeue)

    def lock(self, queue_id: str) -> asyncio.Lock:
        """The lock that serialises every change to queue `queue_id` (its members and totals),
        from the read that decides to the write that records it. Tests hold it to stage races."""
        return self._locks[queue_id]

    # ---------------------------------------------------------------- PerCL runners

    async def run_enqueue(self, session: Leg, command: Command) -> e.Outcome:
        """Enqueue: refuse (queueFull / systemError, PerCL from actionUrl runs) or hold the leg;
        with workers, move the leg to the worker running the queue when that is another one."""
        assert isinstance(command, Enqueue)
        member = QueueMembership(self, command, session.call.call_id)
        session.join(member)  # before the first await: a hangup from now on reaches leg_ended
        async with self.lock(member.queue_id):
            queue = await self._queue_for_enqueue(session, member.queue_id)
            owner = await self._owner_elsewhere(member.queue_id) if queue else None
            admitted = await self._admit(session, member, queue) if owner is None else None
        if owner is not None:
            session.leave()  # it joins the queue there, not here
            return await self._move(session, command, owner)
        if isinstance(admitted, e.Fetch):
            return admitted
        await session.log(LogLevel.INFO, f"Call added to queue {member.queue_id} at position "
                          f"{admitted}", {"queueId": member.queue_id})
        if member.notification_url:
            await session.send_webhook(member.notification_url,
                                       p.AddToQueueNotification(member.queue_id))
        return e.Hold(e.Idle.NOTIFY, WAIT_COMMANDS)

    async def _admit(self, session: Leg, member: QueueMembership,
                     queue: Queue | None) -> e.Fetch | int:
        """Add the member to `queue` (hold its lock): its 1-based position, or the refusal that
        actionUrl gets (the queue is full, or None: another account's)."""
        if queue is None:
            return await self._refuse(session, member, MemberEvent.FAIL)
        members = await self.ctx.store.list_members(queue.queue_id)
        if not admits(len(members), queue.max_size):
            return await self._refuse(session, member, MemberEvent.REFUSE)
        # Ties on time go by seq, numbered here under this worker's lock: the queue runs on
        # this worker alone (its lease), so that is the order the members arrived in.
        await self.ctx.store.put_member(QueueMember(
            queue_id=queue.queue_id, call_id=member.call_id, account_id=queue.account_id,
            date_enqueued=self.ctx.clock.now(), seq=next_seq(members),
            wait_url=member.wait_url, action_url=member.action_url,
            notification_url=member.notification_url))
        member.state = apply(member.state, MemberEvent.ADMIT)
        self.members[member.call_id] = member
        await session.update(queue_id=member.queue_id)
        return len(members) + 1

    async def _queue_for_enqueue(self, session: Leg, queue_id: str) -> Queue | None:
        """The queue Enqueue names, created when unknown; None when another account owns it."""
        queue = await self.ctx.store.get_queue(queue_id)
        account_id = session.call.account_id
        if queue is None:
            now = self.ctx.clock.now()
            queue = Queue(queue_id=queue_id, account_id=account_id, max_size=DEFAULT_MAX_SIZE,
                          date_created=now, date_updated=now)
            await self.ctx.store.put_queue(queue)
            await session.log(LogLevel.INFO, f"Queue {queue_id} created by Enqueue",
                              {"queueId": queue_id})
        if queue.account_id != account_id:
            await session.log(LogLevel.ERROR, f"Enqueue failed: queue {queue_id} belongs to "
                              "another account; actionUrl gets systemError", {"queueId": queue_id})
            return None
        return queue

    async def _refuse(self, session: Leg, member: QueueMembership,
                      event: MemberEvent) -> e.Fetch:
        member.state = apply(member.state, event)
        session.leave()
        await self._let_go_if_empty(member.queue_id)  # an Enqueue refused took the lease
        left = QueueExit(member.queue_id, RESULTS[member.state], 0)
        return e.Fetch(member.action_url, left.removed(), release=True)

    async def run_dequeue(self, session: Leg, command: Command) -> e.Outcome:
        """Dequeue: leave the queue; the Enqueue actionUrl gets `dequeue` and its PerCL runs."""
        member = session.membership
        if not isinstance(member, QueueMembership):
            return e.Finish(CallEndedReason.PERCL_PROCESSING_ERROR,
                            "Dequeue is only allowed while the call waits in a queue; the call "
                            "ends with perclProcessingError")
        async with self.lock(member.queue_id):
            try:
                member.state = apply(member.state, MemberEvent.DEQUEUE)
            except IllegalTransition:
                # A REST dequeue won the race: its Interrupt was posted before this lock was
                # free, so it reaches the leg first and makes this outcome stale.
                return e.Proceed()
            left = await self._left(session, member, await self._remove_record(member))
            session.leave()  # last: a hangup until here still reaches leg_ended
        return e.Fetch(member.action_url, left.dequeue(), release=True)

    # ---------------------------------------------------------------- membership hooks

    async def wait_again(self, member: QueueMembership, session: Leg) -> None:
        """The wait script ran out: ask waitUrl again (queueWait), no sooner than
        `min_wait_interval_s` after the previous request."""
        clock = self.ctx.clock
        if member.last_wait_at is not None:
            delay = member.last_wait_at + self.min_wait_interval_s - clock.now()
            if delay > 0:
                await clock.sleep(delay)
        if not member.holds(session):
            return
        members = await self.ctx.store.list_members(member.queue_id)
        mine = [v for v in member_views(members, clock.now()) if v.member.call_id == member.call_id]
        if not mine or not member.holds(session):  # left while we read
            return
        member.last_wait_at = clock.now()
        session.post(e.Interrupt(member.wait_url, p.QueueWait(
            queue_id=member.queue_id,
            queue_position=str(mine[0].position),  # a JSON string: the SDK insists
            queue_time=mine[0].wait_time_s,
            current_queue_size=len(members),
        )))

    async def leg_ended(self, member: QueueMembership, session: Leg) -> None:
        """The queued leg ended: remove it and tell actionUrl (hangup or systemError; PerCL
        ignored). Nothing is sent for a leg that ended before it got into the queue, nor for one
        whose dequeue was under way (that removal is completed, silently: the leg is gone)."""
        async with self.lock(member.queue_id):
            if member.state is MemberState.DEQUEUED:
                await self._remove_record(member)
                await self._forget(member)
                return
            try:
                member.state = apply(member.state, exit_event(session.call.call_ended_reason))
            except IllegalTransition:
                return  # it had already left (refused)
            waited = await self._remove_record(member)
            if waited is None:
                await self._forget(member)
                return
            left = await self._left(session, member, waited)
        await session.send_webhook(member.action_url, left.removed())

    # ---------------------------------------------------------------- REST

    async def create_queue(self, account: Account, alias: str | None, max_size: int | None) -> Queue:
        """POST /Queues: a new empty queue (maxSize default 100)."""
        now = self.ctx.clock.now()
        queue = Queue(queue_id=self.ctx.ids.new(ids.QUEUE), account_id=account.account_id,
                      alias=alias, max_size=DEFAULT_MAX_SIZE if max_size is None else max_size,
                      date_created=now, date_updated=now)
        await self.ctx.store.put_queue(queue)
        return queue

    async def update_queue(self, account: Account, queue_id: str, changes: Mapping[str, Any]) -> Queue:
        """POST /Queues/{id}: apply `changes` (record attribute -> value: alias, max_size) as a
        new revision. Raises NotFound for an unknown or foreign queue."""
        async with self.lock(queue_id):
            queue = await self.owned_queue(account, queue_id)
            if changes:
                queue = revised(queue, self.ctx.clock.now(), **changes)
                await self.ctx.store.put_queue(queue)
        return queue

    async def dequeue(self, account: Account, queue_id: str, call_id: str | None) -> MemberView:
        """POST /Queues/{id}/Members/Front (call_id None) or /Members/{callId}: release the member
        to its actionUrl (`dequeue`). Returns the member as it was. Raises NotFound for an unknown
        queue, an empty queue, or a call that is not (or no longer) waiting in it."""
        await self.owned_queue(account, queue_id)
        if self._cluster is not None:
            return await self._dequeue_anywhere(account, queue_id, call_id)
        return await self._dequeue_here(queue_id, call_id)

    async def _dequeue_here(self, queue_id: str, call_id: str | None) -> MemberView:
        """Dequeue the first member waiting on this worker (or `call_id`). Raises NotFound."""
        async with self.lock(queue_id):
            picked = await self._dequeue_waiting(queue_id, call_id)
            if picked is None:
                what = f"Call {call_id} is not" if call_id else "There is no call"
                raise NotFound(f"{what} waiting in queue {queue_id}")
            view, member, session = picked
            left = await self._left(session, member, await self._remove_record(member))
            # Released and told in one step, under the lock: a Dequeue command the leg runs
            # meanwhile finds the member dequeued and this Interrupt already on its way.
            session.leave()
            session.post(e.Interrupt(member.action_url, left.dequeue(), release=True))
        return view

    async def _dequeue_waiting(
        self, queue_id: str, call_id: str | None
    ) -> tuple[MemberView, QueueMembership, Leg] | None:
        """Mark the first waiting member (or `call_id`) dequeued; hold the queue's lock."""
        members = await self.ctx.store.list_members(queue_id)
        for view in member_views(members, self.ctx.clock.now()):
            if call_id is not None and view.member.call_id != call_id:
                continue
            member = self.members.get(view.member.call_id)
            session = self.sessions.get(view.member.call_id)
            if member is None or session is None or not member.holds(session):
                continue  # its leg is ending: leg_ended removes it
            member.state = apply(member.state, MemberEvent.DEQUEUE)
            return view, member, session
        return None

    # ---------------------------------------------------------------- workers (issue 19)

    async def _owner_elsewhere(self, queue_id: str) -> str | None:
        """With workers (hold the queue's lock): the worker running the queue when it is another
        live one; None when this worker runs it. The first worker to enqueue a leg takes the
        queue's lease and runs it until no member of it is left there (`_let_go_if_empty`)."""
        cluster = self._cluster
        if cluster is None:
            return None
        for _ in range(OWNER_TRIES):
            if await cluster.own(LeaseKind.QUEUE, queue_id):
                return None
            holder = await cluster.holder(LeaseKind.QUEUE, queue_id)
            if holder is not None:
                return holder
            # Its owner let go between the two reads (its last member left): try again.
        log.warning("queue %s: its lease changed hands %d times while taken; enqueued here",
                    queue_id, OWNER_TRIES)
        return None

    async def _move(self, session: Leg, command: Enqueue, worker_id: str) -> e.Outcome:
        """Enqueue into a queue run by worker `worker_id`: the leg moves there (the conferences'
        hand-over, docs/WORKERS.md) and runs the Enqueue there."""
        return await run_elsewhere(self._hand_over, session, command, worker_id,
                                   f"queue {command.queue_id}")

    async def _forget(self, member: QueueMembership) -> None:
        """The member is no longer in its queue here (hold the queue's lock)."""
        self.members.pop(member.call_id, None)
        await self._let_go_if_empty(member.queue_id)

    async def _let_go_if_empty(self, queue_id: str) -> None:
        """Give up the queue's lease once no member of it waits on this worker (hold the
        queue's lock, so that an Enqueue here never finds it let go under a new member). A
        queue is never terminated: empty is when another worker may run it."""
        cluster = self._cluster
        if cluster is None or any(m.queue_id == queue_id for m in self.members.values()):
            return
        try:
            await cluster.disown(LeaseKind.QUEUE, queue_id)
        except Exception:  # this worker stays its owner (renewed): harmless, the next one here
            log.exception("could not let go of the lease of queue %s", queue_id)

    async def _dequeue_anywhere(self, account: Account, queue_id: str,
                                call_id: str | None) -> MemberView:
        """Dequeue with members on several workers: `call_id` where its leg runs; the front
        member (call_id None) by walking the queue in order, each member where its leg runs, until
        one is released (a member whose leg is ending is skipped, as on one worker)."""
        if call_id is not None:
            return await self._dequeue_member(account, queue_id, call_id)
        for view in member_views(await self.ctx.store.list_members(queue_id), self.ctx.clock.now()):
            try:
                return await self._dequeue_member(account, queue_id, view.member.call_id)
            except NotFound:
                continue
        raise NotFound(f"There is no call waiting in queue {queue_id}")

    async def _dequeue_member(self, account: Account, queue_id: str, call_id: str) -> MemberView:
        assert self._cluster is not None
        if call_id in self.sessions:
            return await self._dequeue_here(queue_id, call_id)
        try:
            answer = await self._cluster.ask_owner(LeaseKind.CALL, call_id, DEQUEUE, {
                "account_id": account.account_id, "queue_id": queue_id, "call_id": call_id})
        except OwnerGone:
            raise NotFound(f"Call {call_id} is not waiting in queue {queue_id}") from None
        return _view_from_json(answer)

    async def _forwarded_dequeue(self, arguments: Arguments) -> JsonValue:
        """Another worker's dequeue of a member whose leg runs here; never forwarded again."""
        queue_id, call_id = str(arguments.get("queue_id")), str(arguments.get("call_id"))
        account = await self.ctx.store.get_account(str(arguments.get("account_id")))
        if account is None or call_id not in self.sessions:
            raise NotFound(f"Call {call_id} is not waiting in queue {queue_id}")
        await self.owned_queue(account, queue_id)
        view = await self._dequeue_here(queue_id, call_id)
        return {"member": {f.name: getattr(view.member, f.name) for f in fields(QueueMember)},
                "position": view.position, "wait_time_s": view.wait_time_s}

    async def owned_queue(self, account: Account, queue_id: str) -> Queue:
        """The account's queue `queue_id`. Raises NotFound for unknown or foreign ids."""
        queue = await self.ctx.store.get_queue(queue_id)
        if queue is None or queue.account_id != account.account_id:
            raise NotFound(f"Queue {queue_id} not found")
        return queue

    # ---------------------------------------------------------------- start-up

    async def recover(self) -> int:
        """Remove members whose legs a previous process left behind (call after
        CallService.recover). Returns how many were removed; see queue/members.py."""
        return await remove_stale_members(self.ctx, self.sessions)

    # ---------------------------------------------------------------- helpers

    async def _remove_record(self, member: QueueMembership) -> float | None:
        """Delete the member and count it in the queue's totals (hold the queue's lock). Idempotent.
        Returns the seconds it waited, or None when it was not in the queue."""
        store = self.ctx.store
        record = await store.get_member(member.call_id)
        if record is None or record.queue_id != member.queue_id:
            return None
        await store.delete_member(member.call_id)
        waited = self.ctx.clock.now() - record.date_enqueued
        queue = await store.get_queue(member.queue_id)
        if queue is not None:
            dequeued = member.state is MemberState.DEQUEUED
            await store.put_queue(with_removal(queue, waited, dequeued=dequeued))
        return waited

    async def _left(self, session: Leg, member: QueueMembership,
                    waited: float | None) -> QueueExit:
        """After the member left: forget it, clear the call's queueId, log; how it left."""
        await self._forget(member)
        result = RESULTS[member.state]
        queue_time = whole_seconds(waited or 0.0)
        await session.update(queue_id=None)
        await session.log(LogLevel.INFO, f"Call left queue {member.queue_id}: {result.value} after "
                          f"{queue_time} s", {"queueId": member.queue_id})
        return QueueExit(member.queue_id, result, queue_time)


#: The operation another worker forwards a dequeue of a member whose leg runs here to.
DEQUEUE = "queue.dequeue"


def _view_from_json(value: JsonValue) -> MemberView:
    """The MemberView a forwarded dequeue answered with (see `_forwarded_dequeue`)."""
    assert isinstance(value, Mapping)
    member, position, waited = value["member"], value["position"], value["wait_time_s"]
    assert isinstance(member, Mapping) and isinstance(position, int) and isinstance(waited, int)
    return MemberView(QueueMember(**dict(member)), position, waited)  # type: ignore[arg-type]
