"""CallSession: the asyncio shell around one leg's Interpreter.

The session owns a TaskGroup. Everything that takes time for the leg (a prompt playing, a timer,
a webhook in flight, digits being sent) is a child task that reports back by putting an event on
the session's queue; the session's own loop is the only place that feeds the interpreter or
changes the call record. So there is exactly one writer per leg, and cancelling a child (barge-in,
hangup) is just `task.cancel()`.

Before any webhook leaves, the state change it reports is already in the store.

The session performs everything itself: the interpreter's actions (quick ones at once in the loop,
the rest as child tasks; the command families of the other services reach their runner through
`Invoke`, so the session holds no command-specific code), an outbound leg's dial progress and the
leg's end. What is decided without I/O lives beside it, one concept a module, and never touches
the session: dial progress (dialing.py), how a leg ends (ending.py), a webhook's answer read as a
script (script.py), the OutDial children's gates (children.py), the children by token (tasks.py)
and the events posted to the leg (events.py).
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
    RequestType,
)
from percl.domain.json import JsonValue
from percl.domain.payloads import wire_fields
from percl.domain.records import Account, Call, revised
from percl.engine import durable
from percl.engine.admission import DialAdmission
from percl.engine.context import EngineContext
from percl.engine.grammars import load_grammar, recognize
from percl.engine.ports import DialResult, WebhookRequest, WebhookResult
from percl.engine.runners import CallChanges, Membership
from percl.engine.session import dialing, ending
from percl.engine.session.children import ChildGates
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
from percl.engine.session.media import media_source
from percl.engine.session.script import received_metadata, script_event
from percl.engine.session.tasks import LegTasks
from percl.engine.state import CallEvent, apply
from percl.percl import actions as a
from percl.percl import events as e
from percl.percl.interpreter import Interpreter
from percl.percl.parse import Script

if TYPE_CHECKING:
    from percl.percl.commands import Command, OutDial

__all__ = ["ApiUpdate", "CallSession", "ChildDialer", "ParentEnded", "Shutdown"]

#: Called with a parent session, an OutDial and the gate the parent opens once its outDialStart
#: has been answered and its script started (the child's connect webhook waits for it); returns
#: the child's call id.
ChildDialer = Callable[["CallSession", "OutDial", asyncio.Event], Awaitable[str]]


class CallSession:
    """One live leg. Create it with its stored Call, then `await run()` inside the service's TaskGroup.

    It implements the telephony LegListener: the network's callbacks only enqueue events.
    `voice_urls` are the inbound leg's voiceUrl and its fallback (which backs the inboundCall
    webhook only); `dial_child` starts an OutDial's child leg (None: OutDial ends the leg with
    internalError).
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
        adopted: Script | None = None,
    ) -> None:
        self.ctx = ctx
        #: A leg another worker handed over (engine/workers/handover.py): the session starts
        #: by running this script (the AddToConference it was running there).
        self._adopted = adopted
        #: True once this worker let the leg go to another (it is not ended: see `let_go`).
        self.moved = False
        #: Paces this leg's dial (REST legs; None: it dials at once). See engine/admission.py.
        self.admission = admission
        #: An OutDial child's: set once the parent's outDialStart has been answered and its script
        #: started (or the parent will send none); the connect webhook waits for it.
        self.parent_started = parent_started
        self.call = call
        self.account = account
        self._voice_url, self._voice_fallback_url = voice_urls
        self._dial_child = dial_child
        self._on_end = on_end
        self._queue: asyncio.Queue[SessionEvent] = asyncio.Queue()
        self._tasks = LegTasks()
        self._children = ChildGates()
        self._ring_timer: int | None = None
        self.interp: Interpreter | None = None
        self.done = False
        self.membership: Membership | None = None

    # ------------------------------------------------------------- LegListener

    def on_ringing(self) -> None:
        self._queue.put_nowait(Ringing())

    def on_answered(self, answered_by: AnsweredBy, *, web_rtc: bool = False) -> None:
        self._queue.put_nowait(Answered(answered_by, web_rtc))

    def on_dial_failed(self, result: DialResult) -> None:
        self._queue.put_nowait(DialFailed(result))

    def on_machine_detected(self, machine_type: MachineType) -> None:
        self._queue.put_nowait(MachineDetected(machine_type))

    def on_dtmf(self, digits: str) -> None:
        self._queue.put_nowait(e.DigitsPressed(digits))

    def on_speech_started(self) -> None:
        self._queue.put_nowait(e.SpeechStarted())  # GetSpeech barges in at once

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
            self._children.release_all()  # a child must never wait on an ended parent
            if self._on_end is not None:
                self._on_end(self)

    async def _begin(self) -> None:
        limit = self.ctx.settings.max_call_duration_s
        if limit > 0:
            self._tasks.spawn(None, self._duration_limit(limit))
        if self._adopted is not None:
            self.interp = Interpreter(answered=True, settings=self.ctx.settings.interpreter)
            await self.perform(self.interp.resume(self._adopted))
        elif self.call.direction is CallDirection.INBOUND:
            await self._begin_inbound()
        else:
            await self._dial()

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
                await self._ringing()
            case Answered(by=by, web_rtc=web_rtc):
                await self._answered(by, web_rtc)
            case DialFailed(result=result):
                ev, reason = dialing.DIAL_FAILURES[result]
                await self.finish(reason, ev)
            case RingTimeout():
                await self.finish(CallEndedReason.NO_ANSWER, CallEvent.NO_ANSWER)
            case MachineDetected(machine_type=mt):
                await self._machine(mt)
            case e.DialStarted() if self.interp is not None:
                actions = self.interp.handle(event)
                await self.perform(actions)
                self._children.dial_started(event.child_call_id, actions)
            case ApiUpdate(status=status):
                await self._api_update(status)
            case MaxDuration():
                await self._max_duration()
            case Shutdown():
                await self.finish(CallEndedReason.INTERNAL_ERROR)
            case ParentEnded():
                answered = self.call.status is CallStatus.IN_PROGRESS
                await self._api_update("completed" if answered else "canceled")
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
                self._children.after_event(event, self.interp.waits_for_engine)
            case _:
                pass

    # ------------------------------------------------------------- dial progress (dialing.py)

    async def _dial(self) -> None:
        """Dial the leg once admitted (now, or in turn); its progress comes back as events."""
        admission = self.admission
        if admission is None or admission.admit_now(self.call.account_id):
            await self._dial_now()
        else:
            self._tasks.spawn(None, admission.dial_in_turn(
                self.call.account_id, self.call.call_id, self._dial_now, self))

    async def _dial_now(self) -> None:
        detect = self.call.if_machine is not None
        await self.ctx.telephony.dial(
            self.call.call_id, self.call.from_, self.call.to, self, detect_machine=detect
        )

    async def _ringing(self) -> None:
        ring = dialing.ringing(self.call, self.ctx.clock.now())
        if ring is None:
            return
        await self.update(**ring.changes)
        self._ring_timer = self._tasks.spawn(None, self._ring_timeout(ring.timeout_s))

    async def _ring_timeout(self, seconds: float) -> None:
        await self.ctx.clock.sleep(seconds)
        self.post(RingTimeout())

    async def _answered(self, by: AnsweredBy, web_rtc: bool) -> None:
        """Answered: stop the ring timer, play sendDigits, then ask callConnectUrl for a script."""
        connect = dialing.answered(self.call, by, self.ctx.clock.now(), web_rtc=web_rtc)
        if connect is None:
            return
        if self._ring_timer is not None:
            self._tasks.cancel(self._ring_timer)
        await self.update(**connect.changes)
        if connect.send_digits:
            pause = self.ctx.settings.interpreter.send_digits_pause_ms
            await self.ctx.telephony.media(self.call.call_id).send_dtmf(connect.send_digits, pause)
        self.interp = Interpreter(answered=True, settings=self.ctx.settings.interpreter)
        if connect.url is None:  # cannot happen for API calls (validated) or OutDial (required)
            await self.finish(CallEndedReason.INTERNAL_ERROR)
            return
        await self._parent_started()
        await self.perform(self.interp.request(connect.url, connect.payload))

    async def _machine(self, machine_type: MachineType) -> None:
        """A machine answered: `ifMachine` says whether the leg ends or is redirected."""
        if self.done or self.call.if_machine is None or self.interp is None:
            return
        await self.update(answered_by=AnsweredBy.MACHINE)
        event = dialing.machine_event(self.call, machine_type)
        if event is not None:
            await self.perform(self.interp.handle(event))

    async def _parent_started(self) -> None:
        """Wait, if this leg is an OutDial child, until its parent's outDialStart was answered and
        its script started (or the parent will send none). Call right before the connect webhook."""
        gate = self.parent_started
        if gate is not None and not gate.is_set():
            await gate.wait()

    # ------------------------------------------------------------- the interpreter's actions

    async def perform(self, actions: list[a.Action]) -> None:
        """Perform the interpreter's `actions` in order (from the session's loop only)."""
        for action in actions:
            await self._perform_one(action)

    async def _perform_one(self, action: a.Action) -> None:
        spawn = self._tasks.spawn
        match action:
            case a.Answer():
                await self.answer()
            case a.RejectCall(reason=reason):
                await self._reject(reason)
            case a.PlayMedia():
                spawn(action.token, self._play(action))
            case a.Cancel(token=t):
                self._tasks.cancel(t)
            case a.StartTimer(token=t, ms=ms):
                spawn(t, self._timer(t, ms))
            case a.PostWebhook():
                spawn(action.token, self._webhook(action))
            case a.SendDigitsOut():
                spawn(action.token, self._send_digits(action))
            case a.Dial(token=t, command=command):
                await self._out_dial(t, command)
            case a.Invoke(token=t, command=command):
                spawn(t, self._invoke(t, command))
            case a.LegIdle():
                if self.membership is not None:
                    spawn(None, self.membership.on_idle(self))
            case a.EndCall(reason=reason, notices=notices):
                await self.finish(reason, notices=notices)
            case a.LetGo():
                await self._let_go()
            case a.LoadGrammar():
                spawn(action.token, self._load_grammar(action))
            case a.Recognize():
                self.post(recognize(action))
            case a.Log(level=level, message=message, metadata=metadata):
                await self.log(level, message, metadata)

    async def _reject(self, reason: str | None) -> None:
        await self.ctx.telephony.reject(self.call.call_id)
        await self.log(LogLevel.INFO, f"Call rejected by the application: {reason or ''}".strip(),
                       {"reason": reason} if reason else None)
        await self.finish(CallEndedReason.APP_REJECT, CallEvent.REJECT, hang_up=False)

    async def _out_dial(self, token: int, command: OutDial) -> None:
        if self._dial_child is None:
            await self.finish(CallEndedReason.INTERNAL_ERROR)
            return
        gate = asyncio.Event()
        child_id = await self._dial_child(self, command, gate)
        self._children.add(child_id, gate)
        await self.log(LogLevel.INFO, f"OutDial: dialing {command.destination} as leg {child_id}",
                       {"dialCallId": child_id, "destination": command.destination})
        self.post(e.DialStarted(token, child_id))

    # ------------------------------------------------------------- child tasks

    async def _play(self, action: a.PlayMedia) -> None:
        await self.ctx.telephony.media(self.call.call_id).play(media_source(action))
        self.post(e.MediaDone(action.token))

    async def _timer(self, token: int, ms: int) -> None:
        await self.ctx.clock.sleep(ms / 1000)
        self.post(e.TimerFired(token))

    async def _send_digits(self, action: a.SendDigitsOut) -> None:
        await self.ctx.telephony.media(self.call.call_id).send_dtmf(action.digits, action.pause_ms)
        self.post(e.DigitsSent(action.token))

    async def _load_grammar(self, action: a.LoadGrammar) -> None:
        media = self.ctx.telephony.media(self.call.call_id)
        self.post(await load_grammar(self.ctx, action, media))

    async def _invoke(self, token: int, command: Command) -> None:
        runner = self.ctx.runners.get(command.NAME)
        outcome: e.Outcome
        if runner is None:
            outcome = e.Finish(
                CallEndedReason.PERCL_PROCESSING_ERROR,
                f"PerCL command {command.NAME} is not supported by percl yet; the call ends with "
                "perclProcessingError",
            )
        else:
            try:
                outcome = await runner(self, command)
            except Exception as exc:  # a runner bug ends this leg, never the server
                outcome = e.Finish(
                    CallEndedReason.INTERNAL_ERROR, f"Internal error running {command.NAME}: {exc!r}"
                )
        self.post(e.Invoked(token, outcome))

    async def _webhook(self, action: a.PostWebhook) -> None:
        fallback = (
            self._voice_fallback_url if action.request_type is RequestType.INBOUND_CALL else None
        )
        child = action.payload.dial_call_id if isinstance(action.payload, p.OutDialStart) else None
        try:
            result = await self.send_webhook(action.url, action.payload, fallback,
                                             action.privacy_mode, action.expects_percl)
        except BaseException:
            if action.request_type is RequestType.OUT_DIAL_START:
                self._children.release(child)  # abandoned: the leg ends, the child must not wait
            raise
        if not action.expects_percl:
            return
        event = script_event(action, result, private_call=self.call.privacy_mode)
        if action.request_type is RequestType.OUT_DIAL_START and isinstance(event, e.ScriptReceived):
            # FreeClimb's carrier always takes time: the app has the parent's outDialStart, and
            # the parent runs what it answered, before the child's outDialConnect, however fast
            # the child fails (a busy or invalid destination). A failed outDialStart ends the
            # parent, which releases the child then.
            self._children.script_answered(action.token, str(child))
        if isinstance(event, e.ScriptReceived):
            await self.log(LogLevel.INFO, f"PerCL received from {result.url}",
                           received_metadata(event.script,
                                             action.privacy_mode or self.call.privacy_mode))
        self.post(event)

    # ------------------------------------------------------------- webhooks and logs

    async def send_webhook(
        self,
        url: str,
        payload: p.Payload,
        fallback_url: str | None = None,
        privacy_mode: bool = False,
        expects_percl: bool = False,
    ) -> WebhookResult:
        """POST `payload` about this leg, with its current record as the standard fields.
        `expects_percl`: the answer is the leg's next script (the result carries its JSON)."""
        request = WebhookRequest(
            request_type=payload.REQUEST_TYPE,
            url=url,
            account=self.account,
            call=self.call,
            fields=wire_fields(payload),
            fallback_url=fallback_url,
            privacy_mode=privacy_mode or self.call.privacy_mode,
            request_id=self.call.request_id,
            expects_percl=expects_percl,
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

    # ------------------------------------------------------------- ending (ending.py)

    async def _api_update(self, status: str) -> None:
        """POST /Calls/{id} `canceled` / `completed`, and a parent's end (ending.api_end)."""
        if self.done:
            return
        match ending.api_end(self.call, status):
            case ending.ApiEnd.CANCEL:
                await self.finish(CallEndedReason.CALL_CANCELED, CallEvent.CANCEL)
            case ending.ApiEnd.ANSWER_THEN_HANG_UP:
                await self.answer()
                await self.finish(CallEndedReason.APP_HANGUP)
            case ending.ApiEnd.HANG_UP if self.interp is not None:
                await self.perform(self.interp.handle(e.Terminate(CallEndedReason.APP_HANGUP)))
            case ending.ApiEnd.HANG_UP:
                await self.finish(CallEndedReason.APP_HANGUP)

    async def _duration_limit(self, limit_s: float) -> None:
        """The leg's maximum-duration timer (a child task): posts MaxDuration when it runs out."""
        clock = self.ctx.clock
        await clock.sleep(max(0.0, self.call.date_created + limit_s - clock.now()))
        self.post(MaxDuration())

    async def _max_duration(self) -> None:
        """The leg reached the maximum call duration: a warning, then the end (maxCallDuration)."""
        limit = self.ctx.settings.max_call_duration_s
        await self.log(LogLevel.WARNING, f"Call reached the maximum call duration of {limit:g} s",
                       {"maxCallDurationS": limit})
        if self.interp is not None and not self.interp.ended:
            await self.perform(self.interp.handle(e.Terminate(CallEndedReason.MAX_DURATION)))
        else:
            await self.finish(CallEndedReason.MAX_DURATION)

    async def finish(
        self,
        reason: CallEndedReason,
        event: CallEvent | None = None,
        *,
        hang_up: bool = True,
        notices: tuple[a.PostWebhook, ...] = (),
    ) -> None:
        """End the leg: stop its work, hang up, store the final record, release the holder, then
        notify (the order ending.py's module doc promises). Ending an ended leg does nothing."""
        if self.done:
            return
        self.done = True
        if self.admission is not None:
            self.admission.withdraw(self.call.call_id)  # a dial still waiting never happens
        self._tasks.cancel_all()
        self._children.release_all()  # no outDialStart will be sent now
        if self.interp is not None:
            self.interp.ended = True
        was_answered = self.call.status is CallStatus.IN_PROGRESS
        status = apply(self.call.status, event or ending.end_event(self.call.status, reason))
        if hang_up and reason is not CallEndedReason.FAR_END_HANGUP:
            await self.ctx.telephony.hangup(self.call.call_id)
        await self.update(status=status, call_ended_reason=reason, end_time=self.ctx.clock.now())
        await self.log(LogLevel.INFO, f"Call ended: {status.value} ({reason.value})",
                       {"status": status.value, "callEndedReason": reason.value})
        await self._release_membership()
        await self._notify_end(was_answered, notices)

    async def _release_membership(self) -> None:
        membership = self.membership
        self.leave()
        if membership is None:
            return
        try:
            await membership.on_leg_ended(self)
        except Exception as exc:  # the leg is over either way; the service's bug is logged
            await self.log(LogLevel.ERROR, f"Internal error releasing the ended leg: {exc!r}")

    async def _notify_end(self, was_answered: bool, notices: tuple[a.PostWebhook, ...]) -> None:
        for notice in notices:  # e.g. the getSpeech `hangup` of a GetSpeech the end cut short
            await self.send_webhook(notice.url, notice.payload, privacy_mode=notice.privacy_mode)
        url = self.call.call_connect_url
        if ending.owes_connect_webhook(self.call, was_answered) and url is not None:
            await self._parent_started()  # an OutDial child: after its parent's outDialStart
            # its PerCL is ignored; dialCallStatus mirrors callStatus
            await self.send_webhook(url, dialing.connect_payload(self.call))
        status = await self.ctx.runners.call_status(self)  # also saves a StartRecordCall's take
        if self.call.status_callback_url:  # callEndedReason and callDuration come from the record
            await self.send_webhook(self.call.status_callback_url, status)

    async def _let_go(self) -> None:
        """The leg now runs on another worker: stop its work here without ending it (no
        hang-up, no record, no webhook; its holder, if any, was left before it moved)."""
        if self.done:
            return
        self.done = self.moved = True
        if self.admission is not None:
            self.admission.withdraw(self.call.call_id)
        self._tasks.cancel_all()
        self._children.release_all()
        self.leave()
        # What this worker's services kept for the leg ends here: a StartRecordCall's take is
        # saved now (listed with the call's recordings; the final callStatus, sent by the
        # other worker, does not name it), not lost with this session.
        await self.ctx.runners.call_status(self)

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
