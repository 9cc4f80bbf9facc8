"""How the engine runs the PerCL commands the interpreter hands over (conferences, queues, Park, Sms ...).

The interpreter runs the single-leg commands itself (Say, GetDigits, OutDial ...). Every other
command reaches the leg's CallSession as an Invoke action; the session looks the command's runner up
in the `Runners` registry (one table keyed by the PerCL command name, filled by the services in
app.py) and feeds the runner's Outcome back to the interpreter:

    Proceed()                       go on with the next command (SetTalk, Sms ...)
    Fetch(url, payload, ...)        post it and run the answer (CreateConference -> createConference)
    Hold(idle, allowed)             the leg now waits inside a service (AddToConference, Enqueue, Park)
    Finish(reason, message)         end the leg

A service that holds a leg registers a `Membership` on the session (`session.join`). While it is
set, the session offers the leg's digits and speech to it first (DTMF pass-through, call-control
sequences, what one participant says reaching the others), tells it when a held leg with
Idle.NOTIFY ran out of script (a queue re-requests its waitUrl), and tells it when the leg ended
(the caller hung up in a queue: removeFromQueueNotification). To move a held leg on, a service
calls `session.leave()` and then posts an Interrupt(release=True) or a Terminate to it.

Runners and memberships are called from the session's own task, so they must not wait for that
session's loop (post events instead), and they should `join` before their first await: a runner
can be cancelled at any await when the leg hangs up, and `on_leg_ended` is how the service learns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol, TypedDict, Unpack

from percl.domain import payloads as p
from percl.domain.enums import AnsweredBy, CallEndedReason, CallStatus, LogLevel
from percl.domain.json import JsonValue
from percl.domain.records import Account, Call
from percl.engine.ports import WebhookResult
from percl.engine.session.events import SessionEvent
from percl.percl.commands import COMMANDS, Command
from percl.percl.events import Finish, Moved, Outcome
from percl.percl.serialize import serialize_script


class CallChanges(TypedDict, total=False):
    """What the session's own loop and the services holding a leg change on its record."""

    status: CallStatus
    call_ended_reason: CallEndedReason
    start_time: float
    connect_time: float
    end_time: float
    answered_by: AnsweredBy | None
    conference_id: str | None
    queue_id: str | None
    audio_stream_ms: int
    web_rtc: bool


class Leg(Protocol):
    """A live leg as the services see it: engine.session.CallSession, named by this Protocol so
    that the runners and memberships the session calls do not import the session back."""

    @property
    def call(self) -> Call: ...
    @property
    def account(self) -> Account: ...
    @property
    def done(self) -> bool: ...
    @property
    def membership(self) -> Membership | None: ...

    def post(self, event: SessionEvent) -> None:
        """Deliver an event to the leg's loop (see CallSession.post)."""
        ...

    def join(self, membership: Membership) -> None: ...
    def leave(self) -> None: ...
    async def update(self, **changes: Unpack[CallChanges]) -> None: ...

    async def log(
        self, level: LogLevel, message: str, metadata: Mapping[str, JsonValue] | None = None
    ) -> None: ...

    async def send_webhook(
        self, url: str, payload: p.Payload, fallback_url: str | None = None,
        privacy_mode: bool = False, expects_percl: bool = False,
    ) -> WebhookResult: ...


#: Runs one command for one leg and says how the script goes on.
Runner = Callable[[Leg, Command], Awaitable[Outcome]]
#: The callStatus payload a service has for an ending leg (None: nothing to add).
CallStatusHook = Callable[[Leg], Awaitable[p.CallStatus | None]]
#: Moves leg `call_id` to worker `worker_id`, which runs the PerCL `script` for it; False when
#: it could not (CallService.hand_over): how a leg joins a conference or queue run elsewhere.
HandOver = Callable[[str, list[JsonValue], str], Awaitable[bool]]


async def run_elsewhere(hand_over: HandOver | None, session: Leg, command: Command,
                        worker_id: str, what: str) -> Outcome:
    """Move the leg to worker `worker_id`, which runs `command` for it (a conference or queue
    it runs, `what`: docs/WORKERS.md): Moved, or the leg ends with perclProcessingError when
    that worker could not take it over."""
    script: list[JsonValue] = list(serialize_script([command]))
    if hand_over is not None and await hand_over(session.call.call_id, script, worker_id):
        return Moved()
    return Finish(CallEndedReason.PERCL_PROCESSING_ERROR,
                  f"{command.NAME}: {what} runs on percl worker {worker_id}, which could not take "
                  "this call over; the call ends with perclProcessingError")
#: Stops a conference's recording and saves it: its recordingUrl, recordingId and
#: recordingDurationSec, or None when nothing was kept (zero-length, or it could not be saved).
StopMixRecording = Callable[[], Awaitable[p.RecordingFields | None]]
#: Starts recording a conference's mix: (account id, conference id) -> how to stop it.
MixRecorder = Callable[[str, str], StopMixRecording]


class Membership(Protocol):
    """A service's hold on a leg (a conference participant, a queue member, a parked call)."""

    def on_digits(self, session: Leg, digits: str) -> bool:
        """The leg's far end pressed keys. Return True when the service consumed them (the
        interpreter then never sees them)."""
        ...

    def on_speech(self, session: Leg, text: str) -> bool:
        """The leg's far end spoke. Return True when consumed."""
        ...

    async def on_idle(self, session: Leg) -> None:
        """A held leg with Idle.NOTIFY has no script left to run."""
        ...

    async def on_leg_ended(self, session: Leg) -> None:
        """The leg ended while held (its final record is already stored). The membership is
        already cleared; release whatever the service keeps for it."""
        ...


class Runners:
    """The registry of engine-run PerCL commands: PerCL command name -> Runner."""

    def __init__(self) -> None:
        self._table: dict[str, Runner] = {}
        self._status_hooks: list[CallStatusHook] = []
        self.mix_recorder: MixRecorder | None = None  # CreateConference `record` (None: off)

    def register(self, name: str, runner: Runner) -> None:
        """Register the runner of PerCL command `name`.

        Raises ValueError for a name that is not a PerCL command or is already registered
        (two services claiming one command is a wiring bug).
        """
        if name not in COMMANDS:
            raise ValueError(f"{name!r} is not a PerCL command")
        if name in self._table:
            raise ValueError(f"PerCL command {name} already has a runner")
        self._table[name] = runner

    def get(self, name: str) -> Runner | None:
        return self._table.get(name)

    def names(self) -> frozenset[str]:
        return frozenset(self._table)

    def on_call_status(self, hook: CallStatusHook) -> None:
        """Let `hook` fill an ending leg's callStatus webhook (StartRecordCall's recording)."""
        self._status_hooks.append(hook)

    def record_mixes(self, recorder: MixRecorder) -> None:
        """Let `recorder` record conferences created with `record: true`."""
        self.mix_recorder = recorder

    async def call_status(self, leg: Leg) -> p.CallStatus:
        """The callStatus payload of the ending `leg`: the first hook's that has one."""
        for hook in self._status_hooks:
            payload = await hook(leg)
            if payload is not None:
                return payload
        return p.CallStatus()
