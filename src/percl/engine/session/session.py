"""CallSession: the asyncio shell around one leg's Interpreter.

The session owns a TaskGroup. Everything that takes time for the leg (a prompt playing, a timer,
a webhook in flight, digits being sent) is a child task that reports back by putting an event on
the session's queue; the session's own loop is the only place that feeds the interpreter or
changes the call record. So there is exactly one writer per leg, and cancelling a child (barge-in,
hangup) is just `task.cancel()`.

Before any webhook leaves, the state change it reports is already in the store.

The session is the loop and the leg's record; the work is done beside it, one concern a module:
performing the interpreter's actions (session/actions.py, which hands the other command families
to their runners), an outbound leg's dial progress (session/dialing.py), a webhook's answer read as
a script (session/script.py), how a leg ends (session/ending.py), the children by token
(session/tasks.py) and the events posted to the leg (session/events.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Unpack

from percl.domain import payloads as p
from percl.domain.enums import (
    AnsweredBy,
    CallDirection,
    CallEndedReason,
    CallStatus,
    LogLevel,
    MachineType,
)
from percl.domain.json import JsonValue
from percl.domain.payloads import wire_fields
from percl.domain.records import Account, Call, revised
from percl.engine import durable
from percl.engine.admission import DialAdmission
from percl.engine.context import EngineContext
from percl.engine.ports import DialResult, WebhookRequest, WebhookResult
from percl.engine.runners import CallChanges, Membership
from percl.engine.session import ending
from percl.engine.session.actions import ActionPerformer
from percl.engine.session.dialing import DIAL_FAILURES, DialProgress
from percl.engine.session.events import (
    Answered,
    ApiUpdate,
    DialFailed,
    MachineDetected,
    MaxDuration,
    ParentEnded,
    Ringing,
    RingTimeout,
    SessionEvent,
    Shutdown,
)
from percl.engine.session.tasks import LegTasks
from percl.engine.state import CallEvent, apply
from percl.percl import actions as a
from percl.percl import events as e
from percl.percl.interpreter import Interpreter

if TYPE_CHECKING:
    from percl.percl.commands import OutDial

__all__ = ["ApiUpdate", "CallSession", "ChildDialer", "ParentEnded", "Shutdown"]

#: Called with a parent session, an OutDial and the gate the parent opens once its outDialStart
#: has been answered and its script started (the child's connect webhook waits for it); returns
#: the child's call id.
ChildDialer = Callable[["CallSession", "OutDial", asyncio.Event], Awaitable[str]]


class CallSession:
    """One live leg. Create it with its stored Call, then `await run()` inside the service's TaskGroup.

    It implements the telephony LegListener: the network's callbacks only enqueue events.
    """

    def __init__(
        self,
        ctx: EngineContext,
        call: Call,
        account: Account,
        *,
        voice_urls: tuple[str | None, str | None] = (None, None),
        dial_child: ChildDialer | None = None,
        on_end: Callable[[CallSession], None] | None = None,
        parent_started: asyncio.Event | None = None,
        admission: DialAdmission | None = None,
    ) -> None:
        self.ctx = ctx
        #: Paces this leg's dial (REST legs; None: it dials at once). See session/dialing.py.
        self.admission = admission
        #: An OutDial child's: set once the parent's outDialStart has been answered and its script
        #: started (or the parent will send none); the connect webhook waits for it.
        self.parent_started = parent_started
        self.call = call
        self.account = account
        self._voice_url, voice_fallback_url = voice_urls
        self._on_end = on_end
        self._queue: asyncio.Queue[SessionEvent] = asyncio.Queue()
        self._tasks = LegTasks()
        self._dialing = DialProgress(self, self._tasks)
        self._performer = ActionPerformer(
            self, self._tasks, voice_fallback_url=voice_fallback_url, dial_child=dial_child
        )
        self.interp: Interpreter | None = None
        self.done = False
        self.membership: Membership | None = None

    # ------------------------------------------------------------- LegListener

    def on_ringing(self) -> None:
        self._queue.put_nowait(Ringing())

    def on_answered(self, answered_by: AnsweredBy) -> None:
        self._queue.put_nowait(Answered(answered_by))

    def on_dial_failed(self, result: DialResult) -> None:
        self._queue.put_nowait(DialFailed(result))

    def on_machine_detected(self, machine_type: MachineType) -> None:
        self._queue.put_nowait(MachineDetected(machine_type))

    def on_dtmf(self, digits: str) -> None:
        self._queue.put_nowait(e.DigitsPressed(digits))

    def on_speech_started(self) -> None:
        pass  # the interpreter acts on whole utterances (speech ended); nothing starts before

    def on_speech_ended(self, text: str) -> None:
        self._queue.put_nowait(e.SpeechHeard(text))

    def on_far_end_hangup(self) -> None:
        self._queue.put_nowait(e.FarEndHangup())

    def post(self, event: SessionEvent) -> None:
        """Deliver an event to this leg's loop: from the services (ApiUpdate, ParentEnded,
        Terminate, Interrupt) and from the leg's own child tasks."""
        self._queue.put_nowait(event)

    # ------------------------------------------------------------- services holding the leg

    def join(self, membership: Membership) -> None:
        """A service now holds this leg (see engine.runners). Replaces any previous holder."""
        self.membership = membership

    def leave(self) -> None:
        """The holding service lets the leg go (call before posting its Interrupt/Terminate)."""
        self.membership = None

    # ------------------------------------------------------------- main loop

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as tg:
                self._tasks.bind(tg)
                await self._begin()
                while not self.done:
                    await self._dispatch(await self._queue.get())
                self._tasks.cancel_all()
        except Exception as exc:  # a bug must end this leg, never the server
            await self._crash(exc)
        finally:
            self._performer.release_children()  # a child must never wait on an ended parent
            if self._on_end is not None:
                self._on_end(self)

    async def _begin(self) -> None:
        limit = self.ctx.settings.max_call_duration_s
        if limit > 0:
            self._tasks.spawn(None, ending.duration_limit(self, limit))
        if self.call.direction is CallDirection.INBOUND:
            await self._begin_inbound()
        else:
            await self._dialing.dial()

    async def _begin_inbound(self) -> None:
        if self._voice_url is None:
            return  # the service already ended it with a configuration error
        self.interp = Interpreter(
            answered=False, inbound=True, settings=self.ctx.settings.interpreter
        )
        await self.perform(self.interp.request(self._voice_url, p.InboundCall()))

    async def _dispatch(self, event: SessionEvent) -> None:
        match event:
            case Ringing():
                await self._dialing.ringing()
            case Answered(by=by):
                await self._dialing.answered(by)
            case DialFailed(result=result):
                ev, reason = DIAL_FAILURES[result]
                await self.finish(reason, ev)
            case RingTimeout():
                await self.finish(CallEndedReason.NO_ANSWER, CallEvent.NO_ANSWER)
            case MachineDetected(machine_type=mt):
                await self._dialing.machine(mt)
            case e.DialStarted() if self.interp is not None:
                await self._performer.dial_started(event, self.interp.handle(event))
            case ApiUpdate(status=status):
                await ending.api_update(self, status)
            case MaxDuration():
                await ending.max_duration(self)
            case Shutdown():
                await self.finish(CallEndedReason.INTERNAL_ERROR)
            case ParentEnded():
                answered = self.call.status is CallStatus.IN_PROGRESS
                await ending.api_update(self, "completed" if answered else "canceled")
            case e.FarEndHangup() if self.interp is None:
                await self.finish(CallEndedReason.FAR_END_HANGUP)
            case e.DigitsPressed(digits=digits) if (
                self.membership is not None and self.membership.on_digits(self, digits)
            ):
                pass
            case e.SpeechHeard(text=text) if (
                self.membership is not None and self.membership.on_speech(self, text)
            ):
                pass
            case _ if self.interp is not None and isinstance(event, e.Event):
                await self.perform(self.interp.handle(event))
                self._performer.after_event(event, self.interp.waits_for_engine)
            case _:
                pass

    async def perform(self, actions: list[a.Action]) -> None:
        """Perform the interpreter's `actions` (from the session's loop only)."""
        await self._performer.perform(actions)

    # ------------------------------------------------------------- webhooks and logs

    async def send_webhook(
        self,
        url: str,
        payload: p.Payload,
        fallback_url: str | None = None,
        privacy_mode: bool = False,
    ) -> WebhookResult:
        """POST `payload` about this leg, with its current record as the standard fields."""
        request = WebhookRequest(
            request_type=payload.REQUEST_TYPE,
            url=url,
            account=self.account,
            call=self.call,
            fields=wire_fields(payload),
            fallback_url=fallback_url,
            privacy_mode=privacy_mode or self.call.privacy_mode,
            request_id=self.call.request_id,
        )
        return await self.ctx.webhooks.send(request)

    async def log(
        self, level: LogLevel, message: str, metadata: Mapping[str, JsonValue] | None = None
    ) -> None:
        await self.ctx.logs.log(
            level, self.account.account_id, message,
            call_id=self.call.call_id, request_id=self.call.request_id, metadata=metadata,
        )

    # ------------------------------------------------------------- state changes

    async def update(self, **changes: Unpack[CallChanges]) -> None:
        """Change the call record (a new revision), stored before anything reports it."""
        previous = self.call.status
        self.call = revised(self.call, self.ctx.clock.now(), **changes)
        await durable.put_call(self.ctx, self.call)  # a busy database is retried
        if self.call.status is not previous and not self.call.status.is_final:
            # Final statuses get their own "Call ended" line (with the reason); this one lets
            # `percl trace` and PQL queries follow every other change.
            await self.log(LogLevel.INFO, f"Call status {previous.value} -> {self.call.status.value}",
                           {"status": self.call.status.value, "previous": previous.value})

    async def answer(self) -> None:
        """Answer a ringing (inbound) leg; any other leg is left alone."""
        if self.call.status is not CallStatus.RINGING:
            return
        await self.ctx.telephony.answer(self.call.call_id)
        await self.update(status=apply(self.call.status, CallEvent.ANSWER),
                          connect_time=self.ctx.clock.now())

    async def finish(
        self,
        reason: CallEndedReason,
        event: CallEvent | None = None,
        *,
        hang_up: bool = True,
        notices: tuple[a.PostWebhook, ...] = (),
    ) -> None:
        """End the leg: stop its work, write the final record, then send the notifications
        (ending.close_leg). Ending an ended leg does nothing."""
        if self.done:
            return
        self.done = True
        self._dialing.withdraw()
        self._tasks.cancel_all()
        self._performer.release_children()  # no outDialStart will be sent now
        if self.interp is not None:
            self.interp.ended = True
        await ending.close_leg(self, reason, event, hang_up=hang_up, notices=notices)

    async def end_with(self, reason: CallEndedReason) -> None:
        """End a leg that never ran a script (configuration errors at arrival)."""
        await self.log(LogLevel.ERROR, f"Call cannot be handled: {reason.value}")
        await self.finish(reason)

    async def _crash(self, exc: BaseException) -> None:
        try:
            await self.log(LogLevel.ERROR, f"Internal error, call ended: {exc!r}")
            if not self.call.status.is_final:
                self.done = False  # the crash may have hit finish itself: finish the record
                await self.finish(CallEndedReason.INTERNAL_ERROR)
        except Exception:  # the store itself is failing: nothing more to do for this leg
            pass
        self.done = True
