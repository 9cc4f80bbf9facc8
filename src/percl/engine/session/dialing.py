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
time, so the order is kept here, by a gate the parent opens (session/actions.py), not by a
made-up delay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
from percl.engine.session.events import RingTimeout
from percl.engine.session.tasks import LegTasks
from percl.engine.state import CallEvent, apply
from percl.percl import events as e
from percl.percl.interpreter import Interpreter

if TYPE_CHECKING:
    from percl.engine.session.session import CallSession

#: How each dial failure moves the call record, and the reason it ends with.
DIAL_FAILURES = {
    DialResult.BUSY: (CallEvent.BUSY, CallEndedReason.BUSY),
    DialResult.FAILED: (CallEvent.FAIL, CallEndedReason.FAILED),
    DialResult.NO_ANSWER: (CallEvent.NO_ANSWER, CallEndedReason.NO_ANSWER),
}


async def parent_started(session: CallSession) -> None:
    """Wait, if `session` is an OutDial child, until its parent's outDialStart was answered and
    its script started (or the parent will send none). Call right before the connect webhook."""
    gate = session.parent_started
    if gate is not None and not gate.is_set():
        await gate.wait()


def connect_payload(call: Call) -> p.OutDialConnect | p.OutDialApiConnect:
    """An outbound leg's connect webhook (OutDial child or REST call)."""
    if call.direction is CallDirection.OUTBOUND_DIAL:
        return p.OutDialConnect()
    return p.OutDialApiConnect()


def connect_type(call: Call) -> RequestType:
    """The requestType of an outbound leg's connect webhook."""
    return connect_payload(call).REQUEST_TYPE


class DialProgress:
    """The outbound half of one CallSession; the session's loop calls it for the network's news."""

    def __init__(self, session: CallSession, tasks: LegTasks) -> None:
        self._session = session
        self._tasks = tasks
        self._ring_timer: int | None = None

    async def dial(self) -> None:
        """Dial the leg once admitted (now, or in turn); its progress comes back through the
        session."""
        s = self._session
        admission = s.admission
        if admission is None or admission.admit_now(s.call.account_id):
            await self._dial_now()
        else:
            self._tasks.spawn(None, admission.dial_in_turn(
                s.call.account_id, s.call.call_id, self._dial_now, s))

    def withdraw(self) -> None:
        """The leg ends: a dial still waiting for admission never happens."""
        s = self._session
        if s.admission is not None:
            s.admission.withdraw(s.call.call_id)

    async def _dial_now(self) -> None:
        s = self._session
        detect = s.call.if_machine is not None
        await s.ctx.telephony.dial(s.call.call_id, s.call.from_, s.call.to, s, detect_machine=detect)

    async def ringing(self) -> None:
        s = self._session
        if s.call.status is not CallStatus.QUEUED:
            return
        await s.update(status=apply(s.call.status, CallEvent.RING), start_time=s.ctx.clock.now())
        self._ring_timer = self._tasks.spawn(None, self._ring_timeout(s.call.timeout_s))

    async def _ring_timeout(self, seconds: float) -> None:
        await self._session.ctx.clock.sleep(seconds)
        self._session.post(RingTimeout())

    async def answered(self, by: AnsweredBy) -> None:
        """Answered: stop the ring timer, play sendDigits, then ask callConnectUrl for a script."""
        s = self._session
        if s.call.status is not CallStatus.RINGING:
            return
        if self._ring_timer is not None:
            self._tasks.cancel(self._ring_timer)
        answered_by = by if s.call.if_machine is not None else None
        await s.update(
            status=apply(s.call.status, CallEvent.ANSWER),
            connect_time=s.ctx.clock.now(),
            answered_by=answered_by,
        )
        if s.call.send_digits:
            pause = s.ctx.settings.interpreter.send_digits_pause_ms
            await s.ctx.telephony.media(s.call.call_id).send_dtmf(s.call.send_digits, pause)
        s.interp = Interpreter(answered=True, settings=s.ctx.settings.interpreter)
        url = s.call.call_connect_url
        if url is None:  # cannot happen for API calls (validated) or OutDial (required attribute)
            await s.finish(CallEndedReason.INTERNAL_ERROR)
            return
        await parent_started(s)
        await s.perform(s.interp.request(url, connect_payload(s.call)))

    async def machine(self, machine_type: MachineType) -> None:
        """A machine answered: `ifMachine` says whether the leg ends or is redirected."""
        s = self._session
        if s.done or s.call.if_machine is None or s.interp is None:
            return
        await s.update(answered_by=AnsweredBy.MACHINE)
        if s.call.if_machine == IfMachine.HANGUP.value:
            await s.perform(s.interp.handle(e.Terminate(CallEndedReason.MACHINE_DETECTED)))
        elif s.call.if_machine_url is not None:
            interrupt = e.Interrupt(s.call.if_machine_url, p.MachineDetected(machine_type))
            await s.perform(s.interp.handle(interrupt))
