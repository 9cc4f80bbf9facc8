"""Performing the interpreter's actions for one leg.

Quick actions (answer, reject, end, log, cancel by token) happen at once, in the session's loop.
Everything that takes time (media, timers, webhooks, sending digits, a runner, a grammar fetch) is
a child task under the action's token that reports back by posting an event to the session, so the
loop stays the only place that feeds the interpreter. Commands of the other families reach their
runner here (`Invoke`): the session itself holds no command-specific code.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from percl.domain import payloads as p
from percl.domain.enums import CallEndedReason, LogLevel, RequestType
from percl.engine.grammars import load_grammar, recognize
from percl.engine.ports import Media, MediaKind
from percl.engine.session.script import received_metadata, script_event
from percl.engine.session.tasks import LegTasks
from percl.engine.state import CallEvent
from percl.percl import actions as a
from percl.percl import events as e

if TYPE_CHECKING:
    from percl.engine.session.session import CallSession, ChildDialer
    from percl.percl.commands import Command, OutDial


class ActionPerformer:
    """Performs one leg's actions. `voice_fallback_url` backs the inboundCall webhook only;
    `dial_child` starts an OutDial's child leg (None: OutDial ends the leg with internalError)."""

    def __init__(
        self, session: CallSession, tasks: LegTasks, *, voice_fallback_url: str | None,
        dial_child: ChildDialer | None,
    ) -> None:
        self._session = session
        self._tasks = tasks
        self._voice_fallback_url = voice_fallback_url
        self._dial_child = dial_child
        # OutDial children whose connect webhook waits for this leg's outDialStart, by call id,
        # and those whose outDialStart answered with a script, by that webhook's token.
        self._started_gates: dict[str, asyncio.Event] = {}
        self._start_scripts: dict[int, str] = {}
        self._starting: set[str] = set()

    async def perform(self, actions: list[a.Action]) -> None:
        """Perform `actions` in order (call from the session's loop only)."""
        for action in actions:
            await self._perform_one(action)

    async def _perform_one(self, action: a.Action) -> None:
        s, spawn = self._session, self._tasks.spawn
        match action:
            case a.Answer():
                await s.answer()
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
                await self._dial(t, command)
            case a.Invoke(token=t, command=command):
                spawn(t, self._invoke(t, command))
            case a.LegIdle():
                if s.membership is not None:
                    spawn(None, s.membership.on_idle(s))
            case a.EndCall(reason=reason, notices=notices):
                await s.finish(reason, notices=notices)
            case a.LoadGrammar():
                spawn(action.token, self._load_grammar(action))
            case a.Recognize():
                s.post(recognize(action))
            case a.Log(level=level, message=message, metadata=metadata):
                await s.log(level, message, metadata)

    # ------------------------------------------------------------- done at once

    async def _reject(self, reason: str | None) -> None:
        s = self._session
        await s.ctx.telephony.reject(s.call.call_id)
        await s.log(LogLevel.INFO, f"Call rejected by the application: {reason or ''}".strip(),
                    {"reason": reason} if reason else None)
        await s.finish(CallEndedReason.APP_REJECT, CallEvent.REJECT, hang_up=False)

    async def _dial(self, token: int, command: OutDial) -> None:
        s = self._session
        if self._dial_child is None:
            await s.finish(CallEndedReason.INTERNAL_ERROR)
            return
        gate = asyncio.Event()
        child_id = await self._dial_child(s, command, gate)
        self._started_gates[child_id] = gate
        await s.log(LogLevel.INFO, f"OutDial: dialing {command.destination} as leg {child_id}",
                    {"dialCallId": child_id, "destination": command.destination})
        s.post(e.DialStarted(token, child_id))

    # ------------------------------------------------------------- child tasks

    async def _play(self, action: a.PlayMedia) -> None:
        s = self._session
        media = Media(
            kind=MediaKind(action.kind),
            text=action.text,
            language=action.language,
            url=action.url,
            length_ms=action.length_ms,
            privacy_mode=action.privacy_mode,
        )
        await s.ctx.telephony.media(s.call.call_id).play(media.source())
        s.post(e.MediaDone(action.token))

    async def _timer(self, token: int, ms: int) -> None:
        await self._session.ctx.clock.sleep(ms / 1000)
        self._session.post(e.TimerFired(token))

    async def _send_digits(self, action: a.SendDigitsOut) -> None:
        s = self._session
        await s.ctx.telephony.media(s.call.call_id).send_dtmf(action.digits, action.pause_ms)
        s.post(e.DigitsSent(action.token))

    async def _load_grammar(self, action: a.LoadGrammar) -> None:
        self._session.post(await load_grammar(self._session.ctx, action))

    async def _invoke(self, token: int, command: Command) -> None:
        s = self._session
        runner = s.ctx.runners.get(command.NAME)
        outcome: e.Outcome
        if runner is None:
            outcome = e.Finish(
                CallEndedReason.PERCL_PROCESSING_ERROR,
                f"PerCL command {command.NAME} is not supported by percl yet; the call ends with "
                "perclProcessingError",
            )
        else:
            try:
                outcome = await runner(s, command)
            except Exception as exc:  # a runner bug ends this leg, never the server
                outcome = e.Finish(
                    CallEndedReason.INTERNAL_ERROR, f"Internal error running {command.NAME}: {exc!r}"
                )
        s.post(e.Invoked(token, outcome))

    # ------------------------------------------------------------- OutDial children's gates
    #
    # A child's connect webhook waits until this leg's outDialStart was answered and the script
    # it returned has started: run up to its first command that takes time. A command the engine
    # runs (AddToConference, Enqueue ...) has started once its runner is done, so the caller is
    # in the conference before the app hears that the agent's phone was busy.

    async def dial_started(self, event: e.DialStarted, actions: list[a.Action]) -> None:
        """Perform what the interpreter made of a child's DialStarted: normally the outDialStart
        webhook; if the dial was superseded meanwhile (the leg was interrupted), no outDialStart
        will come, so the child goes on at once."""
        await self.perform(actions)
        if not any(isinstance(x, a.PostWebhook) and x.request_type is RequestType.OUT_DIAL_START
                   for x in actions):
            self._release(event.child_call_id)

    def after_event(self, event: object, waits_for_engine: bool) -> None:
        """Call after the session handled `event`: the script an outDialStart returned is taken
        up with its ScriptReceived; once the leg no longer waits for an engine runner
        (`waits_for_engine`), that script has started and its children may go on."""
        if isinstance(event, e.ScriptReceived) and event.token in self._start_scripts:
            self._starting.add(self._start_scripts.pop(event.token))
        if self._starting and not waits_for_engine:
            for child_id in list(self._starting):
                self._release(child_id)

    def release_children(self) -> None:
        """Open every child's gate (this leg ends: it will send no more outDialStart)."""
        for child_id in list(self._started_gates):
            self._release(child_id)

    def _release(self, child_id: object) -> None:
        self._starting.discard(str(child_id))
        gate = self._started_gates.pop(str(child_id), None)
        if gate is not None:
            gate.set()

    # ------------------------------------------------------------- webhooks

    async def _webhook(self, action: a.PostWebhook) -> None:
        s = self._session
        fallback = (
            self._voice_fallback_url if action.request_type is RequestType.INBOUND_CALL else None
        )
        child = action.payload.dial_call_id if isinstance(action.payload, p.OutDialStart) else None
        try:
            result = await s.send_webhook(action.url, action.payload, fallback, action.privacy_mode)
        except BaseException:
            if action.request_type is RequestType.OUT_DIAL_START:
                self._release(child)  # abandoned: the leg ends, the child must not wait
            raise
        if not action.expects_percl:
            return
        event = script_event(action, result)
        if action.request_type is RequestType.OUT_DIAL_START and isinstance(event, e.ScriptReceived):
            # FreeClimb's carrier always takes time: the app has the parent's outDialStart, and
            # the parent runs what it answered, before the child's outDialConnect, however fast
            # the child fails (a busy or invalid destination). A failed outDialStart ends the
            # parent, which releases the child then.
            self._start_scripts[action.token] = str(child)
        if isinstance(event, e.ScriptReceived):
            await s.log(LogLevel.INFO, f"PerCL received from {result.url}",
                        received_metadata(event.script, action.privacy_mode))
        s.post(event)
