"""CallSession: the asyncio shell around one leg's Interpreter.

The session owns a TaskGroup. Everything that takes time for the leg (a prompt playing, a timer,
a webhook in flight, digits being sent) is a child task that reports back by putting an event on
the session's queue; the session's own loop is the only place that feeds the interpreter or
changes the call record. So there is exactly one writer per leg, and cancelling a child (barge-in,
hangup) is just `task.cancel()`.

Before any webhook leaves, the state change it reports is already in the store.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from percl.domain.enums import (
    AnsweredBy,
    CallDirection,
    CallEndedReason,
    CallStatus,
    IfMachine,
    LogLevel,
    MachineType,
    RequestType,
)
from percl.domain.records import Account, Call, revised
from percl.engine.context import EngineContext
from percl.engine.grammars import load_grammar, recognize
from percl.engine.ports import DialResult, Media, MediaKind, WebhookRequest, WebhookResult
from percl.engine.runners import Membership
from percl.engine.state import CallEvent, apply
from percl.errors import PerclScriptError
from percl.percl import actions as a
from percl.percl import events as e
from percl.percl.interpreter import Interpreter
from percl.percl.parse import PerclJsonError, parse_script
from percl.percl.serialize import serialize_script

if TYPE_CHECKING:
    from percl.percl.commands import Command, OutDial

# ----------------------------------------------------------------- network-side events


@dataclass(frozen=True, slots=True)
class _Ringing:
    pass


@dataclass(frozen=True, slots=True)
class _Answered:
    by: AnsweredBy


@dataclass(frozen=True, slots=True)
class _DialFailed:
    result: DialResult


@dataclass(frozen=True, slots=True)
class _Machine:
    machine_type: MachineType


@dataclass(frozen=True, slots=True)
class _RingTimeout:
    pass


@dataclass(frozen=True, slots=True)
class ApiUpdate:
    """POST /Calls/{id} {status}: `canceled` or `completed`."""

    status: str


@dataclass(frozen=True, slots=True)
class ParentEnded:
    pass


@dataclass(frozen=True, slots=True)
class _MaxDuration:
    """The leg reached EngineSettings.max_call_duration_s."""


@dataclass(frozen=True, slots=True)
class Shutdown:
    """percl is stopping: end the leg now (internalError)."""


_DIAL_FAILURES = {
    DialResult.BUSY: (CallEvent.BUSY, CallEndedReason.BUSY),
    DialResult.FAILED: (CallEvent.FAIL, CallEndedReason.FAILED),
    DialResult.NO_ANSWER: (CallEvent.NO_ANSWER, CallEndedReason.NO_ANSWER),
}

#: Called with a parent session and an OutDial; returns the child's call id.
ChildDialer = Callable[["CallSession", "OutDial"], Awaitable[str]]


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
    ) -> None:
        self.ctx = ctx
        self.call = call
        self.account = account
        self._voice_url, self._voice_fallback_url = voice_urls
        self._dial_child = dial_child
        self._on_end = on_end
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._ring_task: asyncio.Task[None] | None = None
        self._tg: asyncio.TaskGroup | None = None
        self.interp: Interpreter | None = None
        self.done = False
        self.membership: Membership | None = None
        self._aux_tokens = itertools.count(-1, -1)  # tokens of tasks the interpreter did not ask for

    # ------------------------------------------------------------- LegListener

    def on_ringing(self) -> None:
        self._queue.put_nowait(_Ringing())

    def on_answered(self, answered_by: AnsweredBy) -> None:
        self._queue.put_nowait(_Answered(answered_by))

    def on_dial_failed(self, result: DialResult) -> None:
        self._queue.put_nowait(_DialFailed(result))

    def on_machine_detected(self, machine_type: MachineType) -> None:
        self._queue.put_nowait(_Machine(machine_type))

    def on_digits(self, digits: str) -> None:
        self._queue.put_nowait(e.DigitsPressed(digits))

    def on_speech(self, text: str) -> None:
        self._queue.put_nowait(e.SpeechHeard(text))

    def on_far_end_hangup(self) -> None:
        self._queue.put_nowait(e.FarEndHangup())

    def post(self, event: Any) -> None:
        """Deliver an outside event (ApiUpdate, ParentEnded, Terminate, Interrupt) to this leg."""
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
                self._tg = tg
                await self._begin()
                while not self.done:
                    await self._dispatch(await self._queue.get())
                self._cancel_children()
        except Exception as exc:  # a bug must end this leg, never the server
            await self._crash(exc)
        finally:
            if self._on_end is not None:
                self._on_end(self)

    async def _begin(self) -> None:
        limit = self.ctx.settings.max_call_duration_s
        if limit > 0:
            self._spawn(next(self._aux_tokens), self._duration_limit(limit))
        if self.call.direction is CallDirection.INBOUND:
            await self._begin_inbound()
        else:
            await self._begin_outbound()

    async def _begin_inbound(self) -> None:
        if self._voice_url is None:
            return  # the service already ended it with a configuration error
        self.interp = Interpreter(
            answered=False, inbound=True, settings=self.ctx.settings.interpreter
        )
        await self._perform(self.interp.request(RequestType.INBOUND_CALL, self._voice_url))

    async def _begin_outbound(self) -> None:
        detect = self.call.if_machine is not None
        await self.ctx.telephony.dial(
            self.call.call_id, self.call.from_, self.call.to, self, detect_machine=detect
        )

    async def _dispatch(self, event: Any) -> None:
        match event:
            case _Ringing():
                await self._ringing()
            case _Answered(by=by):
                await self._answered(by)
            case _DialFailed(result=result):
                ev, reason = _DIAL_FAILURES[result]
                await self._finish(reason, ev)
            case _RingTimeout():
                await self._finish(CallEndedReason.NO_ANSWER, CallEvent.NO_ANSWER)
            case _Machine(machine_type=mt):
                await self._machine(mt)
            case ApiUpdate(status=status):
                await self._api_update(status)
            case _MaxDuration():
                await self._max_duration()
            case Shutdown():
                await self._finish(CallEndedReason.INTERNAL_ERROR)
            case ParentEnded():
                await self._api_update("canceled" if not self._answered_yet else "completed")
            case e.FarEndHangup() if self.interp is None:
                await self._finish(CallEndedReason.FAR_END_HANGUP)
            case e.DigitsPressed(digits=digits) if (
                self.membership is not None and self.membership.on_digits(self, digits)
            ):
                pass
            case e.SpeechHeard(text=text) if (
                self.membership is not None and self.membership.on_speech(self, text)
            ):
                pass
            case _ if self.interp is not None:
                await self._perform(self.interp.handle(event))
            case _:
                pass

    @property
    def _answered_yet(self) -> bool:
        return self.call.status is CallStatus.IN_PROGRESS

    # ------------------------------------------------------------- outbound progress

    async def _ringing(self) -> None:
        if self.call.status is not CallStatus.QUEUED:
            return
        await self.update(status=apply(self.call.status, CallEvent.RING), start_time=self._now())
        assert self._tg is not None
        self._ring_task = self._tg.create_task(self._ring_timer(self.call.timeout_s))

    async def _ring_timer(self, seconds: float) -> None:
        await self.ctx.clock.sleep(seconds)
        self._queue.put_nowait(_RingTimeout())

    async def _answered(self, by: AnsweredBy) -> None:
        if self.call.status is not CallStatus.RINGING:
            return
        if self._ring_task is not None:
            self._ring_task.cancel()
        answered_by = by if self.call.if_machine is not None else None
        await self.update(
            status=apply(self.call.status, CallEvent.ANSWER),
            connect_time=self._now(),
            answered_by=answered_by,
        )
        if self.call.send_digits:
            pause = self.ctx.settings.interpreter.send_digits_pause_ms
            await self.ctx.telephony.send_digits(self.call.call_id, self.call.send_digits, pause)
        self.interp = Interpreter(answered=True, settings=self.ctx.settings.interpreter)
        url = self.call.call_connect_url
        if url is None:  # cannot happen for API calls (validated) or OutDial (required attribute)
            await self._finish(CallEndedReason.INTERNAL_ERROR)
            return
        await self._perform(self.interp.request(self._connect_type(), url))

    def _connect_type(self) -> RequestType:
        if self.call.direction is CallDirection.OUTBOUND_DIAL:
            return RequestType.OUT_DIAL_CONNECT
        return RequestType.OUT_DIAL_API_CONNECT

    async def _machine(self, machine_type: MachineType) -> None:
        if self.done or self.call.if_machine is None or self.interp is None:
            return
        await self.update(answered_by=AnsweredBy.MACHINE)
        if self.call.if_machine == IfMachine.HANGUP.value:
            await self._perform(self.interp.handle(e.Terminate(CallEndedReason.MACHINE_DETECTED)))
        elif self.call.if_machine_url is not None:
            interrupt = e.Interrupt(
                RequestType.MACHINE_DETECTED,
                self.call.if_machine_url,
                {"machineType": machine_type.value},
            )
            await self._perform(self.interp.handle(interrupt))

    async def _api_update(self, status: str) -> None:
        if self.done:
            return
        if self.call.status in (CallStatus.QUEUED, CallStatus.RINGING):
            if self.call.direction is CallDirection.INBOUND and status == "completed":
                await self._answer()  # "completed" answers a ringing inbound call, then hangs up
                await self._finish(CallEndedReason.APP_HANGUP)
            else:
                await self._finish(CallEndedReason.CALL_CANCELED, CallEvent.CANCEL)
            return
        if self.interp is not None:
            await self._perform(self.interp.handle(e.Terminate(CallEndedReason.APP_HANGUP)))
        else:
            await self._finish(CallEndedReason.APP_HANGUP)

    # ------------------------------------------------------------- performing actions

    async def _perform(self, actions: list[a.Action]) -> None:
        for action in actions:
            await self._perform_one(action)

    async def _perform_one(self, action: a.Action) -> None:
        match action:
            case a.Answer():
                await self._answer()
            case a.RejectCall(reason=reason):
                await self._reject(reason)
            case a.PlayMedia():
                self._spawn(action.token, self._play(action))
            case a.StopMedia(token=t) | a.CancelTimer(token=t) | a.Cancel(token=t):
                task = self._tasks.pop(t, None)
                if task is not None:
                    task.cancel()
            case a.StartTimer(token=t, ms=ms):
                self._spawn(t, self._timer(t, ms))
            case a.PostWebhook():
                self._spawn(action.token, self._webhook(action))
            case a.SendDigitsOut():
                self._spawn(action.token, self._send_digits(action))
            case a.Dial(token=t, command=command):
                await self._dial(t, command)
            case a.Invoke(token=t, command=command):
                self._spawn(t, self._invoke(t, command))
            case a.LegIdle():
                if self.membership is not None:
                    self._spawn(next(self._aux_tokens), self.membership.on_idle(self))
            case a.EndCall(reason=reason, notices=notices):
                await self._finish(reason, notices=notices)
            case a.LoadGrammar():
                self._spawn(action.token, self._load_grammar(action))
            case a.Recognize():
                self._queue.put_nowait(recognize(action))
            case a.Log(level=level, message=message, metadata=metadata):
                await self.log(level, message, metadata)

    def _spawn(self, token: int, coro: Any) -> None:
        assert self._tg is not None
        task = self._tg.create_task(coro)
        self._tasks[token] = task
        task.add_done_callback(functools.partial(self._forget_task, token))

    def _forget_task(self, token: int, _task: asyncio.Task[None]) -> None:
        self._tasks.pop(token, None)

    async def _play(self, action: a.PlayMedia) -> None:
        media = Media(
            kind=MediaKind(action.kind),
            text=action.text,
            language=action.language,
            url=action.url,
            length_ms=action.length_ms,
            privacy_mode=action.privacy_mode,
        )
        await self.ctx.telephony.play(self.call.call_id, media)
        self._queue.put_nowait(e.MediaDone(action.token))

    async def _timer(self, token: int, ms: int) -> None:
        await self.ctx.clock.sleep(ms / 1000)
        self._queue.put_nowait(e.TimerFired(token))

    async def _load_grammar(self, action: a.LoadGrammar) -> None:
        self._queue.put_nowait(await load_grammar(self.ctx, action))

    async def _duration_limit(self, limit_s: float) -> None:
        await self.ctx.clock.sleep(max(0.0, self.call.date_created + limit_s - self._now()))
        self._queue.put_nowait(_MaxDuration())

    async def _max_duration(self) -> None:
        limit = self.ctx.settings.max_call_duration_s
        await self.log(LogLevel.WARNING, f"Call reached the maximum call duration of {limit:g} s",
                       {"maxCallDurationS": limit})
        if self.interp is not None and not self.interp.ended:
            await self._perform(self.interp.handle(e.Terminate(CallEndedReason.MAX_DURATION)))
        else:
            await self._finish(CallEndedReason.MAX_DURATION)

    async def _send_digits(self, action: a.SendDigitsOut) -> None:
        await self.ctx.telephony.send_digits(self.call.call_id, action.digits, action.pause_ms)
        self._queue.put_nowait(e.DigitsSent(action.token))

    async def _dial(self, token: int, command: OutDial) -> None:
        if self._dial_child is None:
            await self._finish(CallEndedReason.INTERNAL_ERROR)
            return
        child_id = await self._dial_child(self, command)
        await self.log(LogLevel.INFO, f"OutDial: dialing {command.destination} as leg {child_id}",
                       {"dialCallId": child_id, "destination": command.destination})
        self._queue.put_nowait(e.DialStarted(token, child_id))

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
        self._queue.put_nowait(e.Invoked(token, outcome))

    async def _webhook(self, action: a.PostWebhook) -> None:
        fallback = (
            self._voice_fallback_url if action.request_type is RequestType.INBOUND_CALL else None
        )
        result = await self.send_webhook(
            action.request_type, action.url, action.fields, fallback, action.privacy_mode
        )
        if action.expects_percl:
            self._queue.put_nowait(await self._script_from(action, result))

    async def send_webhook(
        self,
        request_type: RequestType,
        url: str,
        fields: dict[str, Any] | None = None,
        fallback_url: str | None = None,
        privacy_mode: bool = False,
    ) -> WebhookResult:
        """POST a webhook about this leg with its current record as the standard fields."""
        request = WebhookRequest(
            request_type=request_type,
            url=url,
            account=self.account,
            call=self.call,
            fields=dict(fields or {}),
            fallback_url=fallback_url,
            privacy_mode=privacy_mode or self.call.privacy_mode,
            request_id=self.call.request_id,
        )
        return await self.ctx.webhooks.send(request)

    async def _script_from(self, action: a.PostWebhook, result: WebhookResult) -> e.Event:
        token = action.token
        if not result.ok:
            why = result.error or f"HTTP {result.status}"
            return e.WebhookBroken(
                token, CallEndedReason.WEBHOOK_FAILED,
                f"{action.request_type.value} webhook to {result.url} failed: {why}",
            )
        body = result.body
        if not body.strip():
            return e.ScriptReceived(token, parse_script([]))
        try:
            script = parse_script(body)
        except PerclJsonError as exc:
            return e.WebhookBroken(
                token, CallEndedReason.WEBHOOK_INVALID_RESPONSE,
                f"the answer of {result.url} is not JSON: {exc.problem}",
            )
        except PerclScriptError as exc:  # the interpreter logs it once, as the reason the call ends
            return e.WebhookBroken(
                token, CallEndedReason.APP_INVALID_PERCL,
                f"invalid PerCL from {result.url} at {exc}", {"path": exc.path, "problem": exc.problem},
            )
        await self.log(LogLevel.INFO, f"PerCL received from {result.url}",
                        {"percl": serialize_script(script) if not action.privacy_mode else "xxxxx"})
        return e.ScriptReceived(token, script)

    # ------------------------------------------------------------- state changes

    async def _answer(self) -> None:
        if self.call.status is not CallStatus.RINGING:
            return
        await self.ctx.telephony.answer(self.call.call_id)
        await self.update(status=apply(self.call.status, CallEvent.ANSWER),
                           connect_time=self._now())

    async def _reject(self, reason: str | None) -> None:
        await self.ctx.telephony.reject(self.call.call_id)
        await self.log(LogLevel.INFO, f"Call rejected by the application: {reason or ''}".strip(),
                       {"reason": reason} if reason else None)
        await self._finish(CallEndedReason.APP_REJECT, CallEvent.REJECT, hang_up=False)

    async def _finish(
        self,
        reason: CallEndedReason,
        event: CallEvent | None = None,
        *,
        hang_up: bool = True,
        notices: tuple[a.PostWebhook, ...] = (),
    ) -> None:
        """End the leg: stop its work, write the final record, then send the notifications."""
        if self.done:
            return
        self.done = True
        self._cancel_children()
        if self.interp is not None:
            self.interp.ended = True
        was_answered = self.call.status is CallStatus.IN_PROGRESS
        status = apply(self.call.status, event or self._end_event(reason))
        if hang_up and reason is not CallEndedReason.FAR_END_HANGUP:
            await self.ctx.telephony.hangup(self.call.call_id)
        await self.update(status=status, call_ended_reason=reason, end_time=self._now())
        await self.log(LogLevel.INFO, f"Call ended: {status.value} ({reason.value})")
        await self._release_membership()
        for notice in notices:  # e.g. the getSpeech `hangup` of a GetSpeech the end cut short
            await self.send_webhook(notice.request_type, notice.url, notice.fields,
                                    privacy_mode=notice.privacy_mode)
        if not was_answered and self.call.direction is not CallDirection.INBOUND:
            await self._notify_connect_failure()
        if self.call.status_callback_url:  # callEndedReason and callDuration come from the record
            await self.send_webhook(RequestType.CALL_STATUS, self.call.status_callback_url)

    async def _release_membership(self) -> None:
        membership, self.membership = self.membership, None
        if membership is None:
            return
        try:
            await membership.on_leg_ended(self)
        except Exception as exc:  # the leg is over either way; the service's bug is logged
            await self.log(LogLevel.ERROR, f"Internal error releasing the ended leg: {exc!r}")

    def _end_event(self, reason: CallEndedReason) -> CallEvent:
        if self.call.status is CallStatus.IN_PROGRESS:
            return CallEvent.COMPLETE
        if reason in (CallEndedReason.FAR_END_HANGUP, CallEndedReason.CALL_CANCELED):
            return CallEvent.CANCEL
        return CallEvent.FAIL

    async def _notify_connect_failure(self) -> None:
        """An unanswered outbound leg still gets its connect webhook; its PerCL is ignored."""
        url = self.call.call_connect_url
        if url is None:
            return
        await self.send_webhook(self._connect_type(), url)  # dialCallStatus mirrors callStatus

    async def update(self, **changes: Any) -> None:
        """Change the call record (a new revision), stored before anything reports it."""
        previous = self.call.status
        self.call = revised(self.call, self._now(), **changes)
        await self.ctx.store.put_call(self.call)
        if self.call.status is not previous and not self.call.status.is_final:
            # Final statuses get their own "Call ended" line (with the reason); this one lets
            # `percl trace` and PQL queries follow every other change.
            await self.log(LogLevel.INFO, f"Call status {previous.value} -> {self.call.status.value}",
                           {"status": self.call.status.value, "previous": previous.value})

    async def log(
        self, level: LogLevel, message: str, metadata: dict[str, Any] | None = None
    ) -> None:
        await self.ctx.logs.log(
            level, self.account.account_id, message,
            call_id=self.call.call_id, request_id=self.call.request_id, metadata=metadata,
        )

    async def end_with(self, reason: CallEndedReason) -> None:
        """End a leg that never ran a script (configuration errors at arrival)."""
        await self.log(LogLevel.ERROR, f"Call cannot be handled: {reason.value}")
        await self._finish(reason)

    def _cancel_children(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        self._tasks.clear()
        if self._ring_task is not None:
            self._ring_task.cancel()

    async def _crash(self, exc: BaseException) -> None:
        try:
            await self.log(LogLevel.ERROR, f"Internal error, call ended: {exc!r}")
            if not self.call.status.is_final:
                self.done = False  # the crash may have hit _finish itself: finish the record
                await self._finish(CallEndedReason.INTERNAL_ERROR)
        except Exception:  # the store itself is failing: nothing more to do for this leg
            pass
        self.done = True

    def _now(self) -> float:
        return self.ctx.clock.now()
