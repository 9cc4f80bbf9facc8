"""An outbound leg until it is answered: dialing, ringing, the ring timeout, the answer, and
answering-machine detection.

A REST leg first passes call admission (engine/admission.py): it dials at once, or waits for its
account's turn in a task of its own while the session's loop goes on; ending the leg withdraws it.
The leg is `queued` until the network reports ringing (then its ring timeout starts), `ringing`
until it is answered (sendDigits are played first, then the connect webhook asks for the first
script) or fails (busy, failed, noAnswer). With `ifMachine` set, a machine detected after the
answer either ends the leg (`hangup`) or interrupts its script with a machineDetected webhook to
ifMachineUrl (`redirect`).

An OutDial child's connect webhook (outDialConnect, answered or not) waits until its parent's
outDialStart has been answered and the script it returned has started: on FreeClimb the carrier
always takes longer than that, so apps rely on the order (the parent joins a conference from
outDialStart; the child's failure terminates it). The simulated network can fail a dial in no
time, so the order is kept by a gate the parent opens (session/children.py), not by a made-up
delay.

This module is the pure half: given the leg's record and the network's news, it says what follows
(`Ring`, `Connect`, the interpreter event for a machine); CallSession performs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from percl.domain import payloads as p
from percl.domain.enums import (
    AnsweredBy,
    CallDirection,
    CallEndedReason,
    CallStatus,
    IfMachine,
    MachineType,
    RequestType,
)
from percl.domain.records import Call
from percl.engine.ports import DialResult
from percl.engine.runners import CallChanges
from percl.engine.state import CallEvent, apply
from percl.percl import events as e

#: How each dial failure moves the call record, and the reason it ends with.
DIAL_FAILURES = {
    DialResult.BUSY: (CallEvent.BUSY, CallEndedReason.BUSY),
    DialResult.FAILED: (CallEvent.FAIL, CallEndedReason.FAILED),
    DialResult.NO_ANSWER: (CallEvent.NO_ANSWER, CallEndedReason.NO_ANSWER),
}


def connect_payload(call: Call) -> p.OutDialConnect | p.OutDialApiConnect:
    """An outbound leg's connect webhook (OutDial child or REST call)."""
    if call.direction is CallDirection.OUTBOUND_DIAL:
        return p.OutDialConnect()
    return p.OutDialApiConnect()


def connect_type(call: Call) -> RequestType:
    """The requestType of an outbound leg's connect webhook."""
    return connect_payload(call).REQUEST_TYPE


@dataclass(frozen=True, slots=True)
class Ring:
    """The leg rings: store `changes`, then start the ring timer of `timeout_s`."""

    changes: CallChanges
    timeout_s: float


@dataclass(frozen=True, slots=True)
class Connect:
    """The leg was answered: stop the ring timer, store `changes`, play `send_digits`, then (once
    the parent's outDialStart is done) ask `url` for the first script with `payload`; no `url`
    ends the leg with internalError."""

    changes: CallChanges
    send_digits: str | None
    url: str | None
    payload: p.OutDialConnect | p.OutDialApiConnect


def ringing(call: Call, now: float) -> Ring | None:
    """The network says the far end rings; None when the leg is past `queued` (late news)."""
    if call.status is not CallStatus.QUEUED:
        return None
    changes: CallChanges = {"status": apply(call.status, CallEvent.RING), "start_time": now}
    return Ring(changes, call.timeout_s)


def answered(call: Call, by: AnsweredBy, now: float, *, web_rtc: bool = False) -> Connect | None:
    """The network says the far end answered; None unless the leg was ringing. Who answered is
    recorded only when the leg asked for machine detection (`ifMachine`); `web_rtc`: a browser
    phone answered."""
    if call.status is not CallStatus.RINGING:
        return None
    changes: CallChanges = {
        "status": apply(call.status, CallEvent.ANSWER),
        "connect_time": now,
        "answered_by": by if call.if_machine is not None else None,
    }
    if web_rtc:
        changes["web_rtc"] = True
    return Connect(changes, call.send_digits, call.call_connect_url, connect_payload(call))


def machine_event(call: Call, machine_type: MachineType) -> e.Terminate | e.Interrupt | None:
    """What the interpreter is told when a machine answered: `ifMachine=hangup` ends the leg,
    `redirect` interrupts its script with machineDetected to ifMachineUrl."""
    if call.if_machine == IfMachine.HANGUP.value:
        return e.Terminate(CallEndedReason.MACHINE_DETECTED)
    if call.if_machine is not None and call.if_machine_url is not None:
        return e.Interrupt(call.if_machine_url, p.MachineDetected(machine_type))
    return None
