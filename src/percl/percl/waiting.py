"""What a leg's interpreter waits for while a command runs, and what stopping each wait takes.

Exactly one wait at a time (or none while commands run straight through). Each carries the token
of the action it waits on; news with another token is stale and ignored. Cancelling a wait (the
leg ends, an Interrupt replaces the script) stops its action by that token.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from percl.percl import actions as a
from percl.percl.commands import Command, OutDial
from percl.percl.digits import DigitsRun
from percl.percl.playback import MediaLoop
from percl.percl.speech import SpeechRun


@dataclass(slots=True)
class AwaitScript:
    """A PerCL webhook is out: its answer is the next script."""

    token: int


@dataclass(slots=True)
class AwaitTimer:
    """A leading Pause delays answering an inbound leg."""

    token: int


@dataclass(slots=True)
class AwaitDigitsSent:
    token: int


@dataclass(slots=True)
class AwaitDial:
    """OutDial: the child leg is being created; then outDialStart is posted."""

    token: int
    command: OutDial


@dataclass(slots=True)
class AwaitService:
    """A command of another family runs in the engine (Invoke) until its Outcome."""

    token: int
    command: Command


@dataclass(slots=True)
class Held:
    """Nothing runs: the leg waits inside its holder until an Interrupt or a Terminate."""


#: An input command running: it has prompts, timers and a result (percl/digits.py, speech.py).
Input = DigitsRun | SpeechRun
Waiting = (
    AwaitScript | MediaLoop | AwaitTimer | AwaitDigitsSent | AwaitDial | AwaitService | Held | Input
)


def stop_actions(waiting: Waiting | None) -> list[a.Action]:
    """What stops the action `waiting` waits on (nothing for a webhook, a dial or a hold)."""
    if isinstance(waiting, AwaitService | MediaLoop | AwaitDigitsSent | AwaitTimer):
        return [a.Cancel(waiting.token)]
    if isinstance(waiting, Input):
        return waiting.cancel()
    return []


@dataclass(slots=True)
class Out:
    """The actions one event produces, in order."""

    actions: list[a.Action] = field(default_factory=list)

    def add(self, *items: a.Action) -> None:
        self.actions.extend(items)
