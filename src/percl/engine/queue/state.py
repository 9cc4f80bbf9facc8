"""The queue member lifecycle as one table, and the arithmetic of a queue (positions, averages).

Why a table: a call leaves a queue in one of four ways (the Dequeue command, a REST dequeue, the
caller hanging up, a platform failure), and two of them can race: an agent's REST dequeue arrives
while the caller hangs up. Whichever move reaches the table first wins; the other meets
IllegalTransition and backs off, so a member is removed, counted and reported exactly once.

    new ──admit──▶ waiting ──dequeue──▶ dequeued   dequeue -> Enqueue actionUrl (PerCL runs)
     │                │
     ├─refuse─▶ refused    ├─hang_up─▶ hungUp       removeFromQueueNotification hangup (ignored)
     ├─hang_up─▶ hungUp    └─fail────▶ failed       removeFromQueueNotification systemError
     └─fail────▶ failed

`refused` is queueFull (the queue was at maxSize); `new --fail--> failed` is an Enqueue that could
not add the call (the queue id belongs to another account), reported as systemError while the leg
still lives. Nothing here does I/O: engine/queue/service.py drives it.

Positions are 1-based, head first, in the order the store lists members (date enqueued, then a
sequence number). Durations on the wire are whole seconds, rounded half up.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from percl.domain.enums import CallEndedReason, QueueResult
from percl.domain.records import Queue, QueueMember
from percl.errors import IllegalTransition

#: maxSize of a queue created by Enqueue or by POST /Queues without maxSize; FreeClimb's default.
DEFAULT_MAX_SIZE = 100
#: The largest maxSize FreeClimb accepts.
MAX_MAX_SIZE = 1000


class MemberState(StrEnum):
    NEW = "new"  # Enqueue is running: not in the queue yet
    WAITING = "waiting"
    REFUSED = "refused"
    DEQUEUED = "dequeued"
    HUNG_UP = "hungUp"
    FAILED = "failed"


class MemberEvent(StrEnum):
    ADMIT = "admit"
    REFUSE = "refuse"
    DEQUEUE = "dequeue"
    HANG_UP = "hang_up"
    FAIL = "fail"


N, W = MemberState.NEW, MemberState.WAITING

MEMBER_TRANSITIONS: dict[tuple[MemberState, MemberEvent], MemberState] = {
    (N, MemberEvent.ADMIT): W,
    (N, MemberEvent.REFUSE): MemberState.REFUSED,
    (N, MemberEvent.HANG_UP): MemberState.HUNG_UP,
    (N, MemberEvent.FAIL): MemberState.FAILED,
    (W, MemberEvent.DEQUEUE): MemberState.DEQUEUED,
    (W, MemberEvent.HANG_UP): MemberState.HUNG_UP,
    (W, MemberEvent.FAIL): MemberState.FAILED,
}

#: The queueResult each way out reports.
RESULTS: dict[MemberState, QueueResult] = {
    MemberState.REFUSED: QueueResult.QUEUE_FULL,
    MemberState.DEQUEUED: QueueResult.DEQUEUED,
    MemberState.HUNG_UP: QueueResult.HANGUP,
    MemberState.FAILED: QueueResult.SYSTEM_ERROR,
}

# Legs that ended because someone hung up (the caller, the app's Hangup, a REST `completed`):
# the queue reports `hangup`. Any other end of a queued leg is the platform's: `systemError`.
_HANGUPS = frozenset({CallEndedReason.FAR_END_HANGUP, CallEndedReason.APP_HANGUP})


def apply(state: MemberState, event: MemberEvent) -> MemberState:
    """The state after `event`; raises IllegalTransition for a move the table does not allow."""
    try:
        return MEMBER_TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition("queue member", state.value, event.value) from None


def exit_event(reason: CallEndedReason | None) -> MemberEvent:
    """How a queued leg that ended with `reason` leaves its queue."""
    return MemberEvent.HANG_UP if reason in _HANGUPS else MemberEvent.FAIL


# --------------------------------------------------------------------------- arithmetic


def whole_seconds(seconds: float) -> int:
    """`seconds` as FreeClimb's integer seconds (half up, never negative)."""
    return max(0, math.floor(seconds + 0.5))


def admits(current_size: int, max_size: int) -> bool:
    """True when a queue holding `current_size` calls takes one more. A maxSize lowered below
    the current size refuses every Enqueue until the queue has shrunk below it."""
    return current_size < max_size


def next_seq(members: Sequence[QueueMember]) -> int:
    """The tie-breaker for a member enqueued now: after every current member's."""
    return max((m.seq for m in members), default=-1) + 1


@dataclass(frozen=True, slots=True)
class MemberView:
    """A member as QueueMember renders it: its record, 1-based position and seconds waited."""

    member: QueueMember
    position: int
    wait_time_s: int


def member_views(members: Sequence[QueueMember], now: float) -> list[MemberView]:
    """Views of `members` (head first, as the store lists them) at clock time `now`."""
    return [
        MemberView(m, position, whole_seconds(now - m.date_enqueued))
        for position, m in enumerate(members, start=1)
    ]


def average_wait_s(members: Sequence[QueueMember], now: float) -> int:
    """averageWaitTime: the mean time the calls now in the queue have waited so far (0 when empty);
    FreeClimb: "the average wait time of all Calls in the Queue"."""
    if not members:
        return 0
    return whole_seconds(sum(now - m.date_enqueued for m in members) / len(members))


def average_removal_s(queue: Queue) -> int:
    """averageQueueRemovalTime: the mean time in the queue of every call that has left it, however
    it left (dequeued, hung up, failed); 0 before the first one left. Refused calls never entered."""
    if queue.removed_count == 0:
        return 0
    return whole_seconds(queue.removed_total_s / queue.removed_count)


def with_removal(queue: Queue, waited_s: float, *, dequeued: bool) -> Queue:
    """`queue` with one more member that left after `waited_s` seconds counted in its totals.

    Not a new revision: members coming and going are not updates of the queue resource (its
    revision and dateUpdated change only when the client updates alias or maxSize)."""
    return dataclasses.replace(
        queue,
        removed_count=queue.removed_count + 1,
        removed_total_s=queue.removed_total_s + waited_s,
        dequeued_count=queue.dequeued_count + (1 if dequeued else 0),
        dequeued_total_s=queue.dequeued_total_s + (waited_s if dequeued else 0.0),
    )
