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

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from percl.percl.commands import COMMANDS, Command
from percl.percl.events import Outcome

if TYPE_CHECKING:
    from percl.engine.session import CallSession

#: Runs one command for one leg and says how the script goes on.
Runner = Callable[["CallSession", Command], Awaitable[Outcome]]


class Membership(Protocol):
    """A service's hold on a leg (a conference participant, a queue member, a parked call)."""

    def on_digits(self, session: CallSession, digits: str) -> bool:
        """The leg's far end pressed keys. Return True when the service consumed them (the
        interpreter then never sees them)."""
        ...

    def on_speech(self, session: CallSession, text: str) -> bool:
        """The leg's far end spoke. Return True when consumed."""
        ...

    async def on_idle(self, session: CallSession) -> None:
        """A held leg with Idle.NOTIFY has no script left to run."""
        ...

    async def on_leg_ended(self, session: CallSession) -> None:
        """The leg ended while held (its final record is already stored). The membership is
        already cleared; release whatever the service keeps for it."""
        ...


class Runners:
    """The registry of engine-run PerCL commands: PerCL command name -> Runner."""

    def __init__(self) -> None:
        self._table: dict[str, Runner] = {}

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
