"""The pure decisions of a leg's end and dial progress (session/ending.py, session/dialing.py);
the whole flows run end-to-end in tests/e2e."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from percl.domain import payloads as p
from percl.domain.enums import (
    AnsweredBy,
    CallDirection,
    CallEndedReason,
    CallStatus,
    MachineType,
    RequestType,
)
from percl.domain.records import Call
from percl.engine.ports import DialResult
from percl.engine.session import dialing
from percl.engine.session.dialing import DIAL_FAILURES, connect_type
from percl.engine.session.ending import ApiEnd, api_end, end_event, owes_connect_webhook
from percl.engine.state import CallEvent, apply
from percl.percl import events as e


@pytest.mark.parametrize(
    ("status", "reason", "final"),
    [
        (CallStatus.IN_PROGRESS, CallEndedReason.APP_HANGUP, CallStatus.COMPLETED),
        (CallStatus.IN_PROGRESS, CallEndedReason.FAR_END_HANGUP, CallStatus.COMPLETED),
        (CallStatus.RINGING, CallEndedReason.FAR_END_HANGUP, CallStatus.CANCELED),
        (CallStatus.QUEUED, CallEndedReason.CALL_CANCELED, CallStatus.CANCELED),
        (CallStatus.RINGING, CallEndedReason.INTERNAL_ERROR, CallStatus.FAILED),
    ],
)
def test_how_a_leg_ends_depends_on_whether_it_was_answered(
    status: CallStatus, reason: CallEndedReason, final: CallStatus
) -> None:
    assert apply(status, end_event(status, reason)) is final


def test_dial_failures_end_with_freeclimbs_statuses() -> None:
    finals = {result: (apply(CallStatus.RINGING, ev), reason)
              for result, (ev, reason) in DIAL_FAILURES.items()}
    assert finals == {
        DialResult.BUSY: (CallStatus.BUSY, CallEndedReason.BUSY),
        DialResult.FAILED: (CallStatus.FAILED, CallEndedReason.FAILED),
        DialResult.NO_ANSWER: (CallStatus.NO_ANSWER, CallEndedReason.NO_ANSWER),
    }
    assert DIAL_FAILURES[DialResult.BUSY][0] is CallEvent.BUSY


def test_connect_webhook_type_by_direction() -> None:
    def leg(direction: CallDirection) -> Call:
        return Call("CA" + "1" * 40, "AC" + "2" * 40, "+13125550100", "+13125550101", direction)

    assert connect_type(leg(CallDirection.OUTBOUND_DIAL)) is RequestType.OUT_DIAL_CONNECT
    assert connect_type(leg(CallDirection.OUTBOUND_API)) is RequestType.OUT_DIAL_API_CONNECT


def _leg(direction: CallDirection = CallDirection.OUTBOUND_API, **fields: Any) -> Call:
    call = Call("CA" + "1" * 40, "AC" + "2" * 40, "+13125550100", "+13125550101", direction)
    return replace(call, **fields)


def test_ringing_starts_the_ring_timer_only_from_queued() -> None:
    ring = dialing.ringing(_leg(timeout_s=45), 12.5)
    assert ring == dialing.Ring({"status": CallStatus.RINGING, "start_time": 12.5}, 45)
    assert dialing.ringing(_leg(status=CallStatus.RINGING), 13.0) is None  # late news


def test_answered_connects_a_ringing_leg_and_records_who_only_when_asked() -> None:
    leg = _leg(status=CallStatus.RINGING, call_connect_url="https://app/connect", send_digits="12")
    connect = dialing.answered(leg, AnsweredBy.HUMAN, 20.0)
    assert connect == dialing.Connect(
        {"status": CallStatus.IN_PROGRESS, "connect_time": 20.0, "answered_by": None},
        "12", "https://app/connect", p.OutDialApiConnect(),
    )
    detecting = dialing.answered(replace(leg, if_machine="redirect"), AnsweredBy.HUMAN, 20.0)
    assert detecting is not None and detecting.changes["answered_by"] is AnsweredBy.HUMAN
    assert dialing.answered(_leg(), AnsweredBy.HUMAN, 20.0) is None  # not ringing yet
    child = dialing.answered(replace(leg, direction=CallDirection.OUTBOUND_DIAL), AnsweredBy.HUMAN, 1)
    assert child is not None and child.payload == p.OutDialConnect()


def test_a_machine_ends_or_redirects_the_leg_as_if_machine_says() -> None:
    fax = MachineType.FAX_MODEM
    assert dialing.machine_event(_leg(if_machine="hangup"), fax) == e.Terminate(
        CallEndedReason.MACHINE_DETECTED)
    redirect = dialing.machine_event(_leg(if_machine="redirect", if_machine_url="https://app/m"), fax)
    assert redirect == e.Interrupt("https://app/m", p.MachineDetected(fax))
    assert dialing.machine_event(_leg(if_machine="redirect"), fax) is None
    assert dialing.machine_event(_leg(), fax) is None


@pytest.mark.parametrize(
    ("direction", "status", "asked", "end"),
    [
        (CallDirection.OUTBOUND_API, CallStatus.QUEUED, "canceled", ApiEnd.CANCEL),
        (CallDirection.OUTBOUND_API, CallStatus.RINGING, "completed", ApiEnd.CANCEL),
        (CallDirection.INBOUND, CallStatus.RINGING, "canceled", ApiEnd.CANCEL),
        (CallDirection.INBOUND, CallStatus.RINGING, "completed", ApiEnd.ANSWER_THEN_HANG_UP),
        (CallDirection.INBOUND, CallStatus.IN_PROGRESS, "canceled", ApiEnd.HANG_UP),
        (CallDirection.OUTBOUND_API, CallStatus.IN_PROGRESS, "completed", ApiEnd.HANG_UP),
    ],
)
def test_a_rest_update_cancels_what_was_not_answered(
    direction: CallDirection, status: CallStatus, asked: str, end: ApiEnd
) -> None:
    assert api_end(_leg(direction, status=status), asked) is end


def test_only_an_unanswered_outbound_leg_owes_its_connect_webhook() -> None:
    assert owes_connect_webhook(_leg(), was_answered=False)
    assert owes_connect_webhook(_leg(CallDirection.OUTBOUND_DIAL), was_answered=False)
    assert not owes_connect_webhook(_leg(), was_answered=True)
    assert not owes_connect_webhook(_leg(CallDirection.INBOUND), was_answered=False)
