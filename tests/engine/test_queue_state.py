"""The queue member table and the queue arithmetic (positions, waits, averages)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from percl.domain.enums import CallEndedReason, QueueResult
from percl.domain.records import Queue, QueueMember
from percl.engine.queue.state import (
    MEMBER_TRANSITIONS,
    RESULTS,
    MemberEvent,
    MemberState,
    admits,
    apply,
    average_removal_s,
    average_wait_s,
    exit_event,
    member_views,
    next_seq,
    whole_seconds,
    with_removal,
)
from percl.errors import IllegalTransition

QU = "QU" + "1" * 40


def _member(n: int, at: float, seq: int = 0) -> QueueMember:
    return QueueMember(queue_id=QU, call_id=f"CA{n:040d}", account_id="AC" + "0" * 40,
                       date_enqueued=at, seq=seq)


@pytest.mark.parametrize(
    ("start", "event", "end"),
    [
        (MemberState.NEW, MemberEvent.ADMIT, MemberState.WAITING),
        (MemberState.NEW, MemberEvent.REFUSE, MemberState.REFUSED),
        (MemberState.NEW, MemberEvent.HANG_UP, MemberState.HUNG_UP),
        (MemberState.NEW, MemberEvent.FAIL, MemberState.FAILED),
        (MemberState.WAITING, MemberEvent.DEQUEUE, MemberState.DEQUEUED),
        (MemberState.WAITING, MemberEvent.HANG_UP, MemberState.HUNG_UP),
        (MemberState.WAITING, MemberEvent.FAIL, MemberState.FAILED),
    ],
)
def test_legal_moves(start: MemberState, event: MemberEvent, end: MemberState) -> None:
    assert apply(start, event) is end


def test_every_final_state_is_final_and_has_a_result() -> None:
    finals = set(MemberState) - {MemberState.NEW, MemberState.WAITING}
    assert set(RESULTS) == finals
    for state in finals:
        for event in MemberEvent:
            with pytest.raises(IllegalTransition, match="queue member"):
                apply(state, event)


def test_the_second_way_out_loses() -> None:
    """A REST dequeue and a hangup race: the first move wins, the second is refused."""
    state = apply(MemberState.WAITING, MemberEvent.DEQUEUE)
    with pytest.raises(IllegalTransition):
        apply(state, MemberEvent.HANG_UP)
    with pytest.raises(IllegalTransition):  # and a waiting member cannot be admitted twice
        apply(MemberState.WAITING, MemberEvent.ADMIT)


def test_results_are_the_wire_values() -> None:
    assert RESULTS[MemberState.REFUSED] is QueueResult.QUEUE_FULL
    assert RESULTS[MemberState.DEQUEUED] is QueueResult.DEQUEUED
    assert RESULTS[MemberState.HUNG_UP] is QueueResult.HANGUP
    assert RESULTS[MemberState.FAILED] is QueueResult.SYSTEM_ERROR


@pytest.mark.parametrize(
    ("reason", "event"),
    [
        (CallEndedReason.FAR_END_HANGUP, MemberEvent.HANG_UP),
        (CallEndedReason.APP_HANGUP, MemberEvent.HANG_UP),
        (CallEndedReason.INTERNAL_ERROR, MemberEvent.FAIL),
        (CallEndedReason.WEBHOOK_FAILED, MemberEvent.FAIL),
        (CallEndedReason.PERCL_PROCESSING_ERROR, MemberEvent.FAIL),
        (None, MemberEvent.FAIL),
    ],
)
def test_exit_event(reason: CallEndedReason | None, event: MemberEvent) -> None:
    assert exit_event(reason) is event


def test_table_has_no_self_loops() -> None:
    assert all(start is not end for (start, _), end in MEMBER_TRANSITIONS.items())


@pytest.mark.parametrize(("s", "n"), [(0.0, 0), (0.49, 0), (0.5, 1), (11.6, 12), (-3.0, 0)])
def test_whole_seconds(s: float, n: int) -> None:
    assert whole_seconds(s) == n


def test_admits_until_max_and_while_over_a_lowered_max() -> None:
    assert admits(0, 1) and admits(99, 100)
    assert not admits(100, 100)
    assert not admits(5, 2)  # maxSize lowered below the size: refuse until it shrinks below


def test_views_are_one_based_head_first_with_waits() -> None:
    members = [_member(1, 100.0), _member(2, 103.2), _member(3, 110.0)]
    views = member_views(members, now=112.0)
    assert [v.position for v in views] == [1, 2, 3]
    assert [v.member.call_id for v in views] == [m.call_id for m in members]
    assert [v.wait_time_s for v in views] == [12, 9, 2]


def test_next_seq_follows_every_member() -> None:
    assert next_seq([]) == 0
    assert next_seq([_member(1, 0.0, seq=4), _member(2, 0.0, seq=1)]) == 5


def test_average_wait_is_of_the_calls_in_the_queue() -> None:
    assert average_wait_s([], now=50.0) == 0
    assert average_wait_s([_member(1, 10.0), _member(2, 40.0)], now=50.0) == 25


def test_removal_totals_and_average() -> None:
    queue = Queue(queue_id=QU, account_id="AC" + "0" * 40, revision=3, date_updated=7.0)
    assert average_removal_s(queue) == 0
    queue = with_removal(queue, 10.0, dequeued=True)
    queue = with_removal(queue, 5.0, dequeued=False)
    assert (queue.removed_count, queue.removed_total_s) == (2, 15.0)
    assert (queue.dequeued_count, queue.dequeued_total_s) == (1, 10.0)
    assert average_removal_s(queue) == 8  # 7.5 rounds half up
    assert (queue.revision, queue.date_updated) == (3, 7.0)  # members moving is not an update


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), max_size=30),
       st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_average_wait_lies_between_the_shortest_and_longest_wait(
    enqueued: list[float], extra: float
) -> None:
    now = max(enqueued, default=0.0) + extra
    members = [_member(i, at) for i, at in enumerate(enqueued)]
    avg = average_wait_s(members, now)
    waits = [v.wait_time_s for v in member_views(members, now)]
    assert min(waits, default=0) <= avg <= max(waits, default=0)
