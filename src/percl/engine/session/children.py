"""The gates of a leg's OutDial children.

A child's connect webhook waits until this leg's outDialStart was answered and the script it
returned has started: run up to its first command that takes time. A command the engine runs
(AddToConference, Enqueue ...) has started once its runner is done, so the caller is in the
conference before the app hears that the agent's phone was busy. The parent's CallSession tells
`ChildGates` what happened; the gates hold only their own state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from percl.domain.enums import RequestType
from percl.percl import actions as a
from percl.percl import events as e


class ChildGates:
    """One leg's OutDial children whose connect webhook waits on it, by call id."""

    def __init__(self) -> None:
        self._gates: dict[str, asyncio.Event] = {}
        # outDialStart webhooks that answered with a script (by token), and the children whose
        # script is being taken up (opened once the leg no longer waits for an engine runner).
        self._start_scripts: dict[int, str] = {}
        self._starting: set[str] = set()

    def add(self, child_id: str, gate: asyncio.Event) -> None:
        """The child `child_id` was dialed; its connect webhook waits for `gate`."""
        self._gates[child_id] = gate

    def script_answered(self, token: int, child_id: str) -> None:
        """The outDialStart webhook `token` about `child_id` answered with a script."""
        self._start_scripts[token] = child_id

    def dial_started(self, child_id: str, actions: Sequence[a.Action]) -> None:
        """What the interpreter made of a child's DialStarted was performed: normally it posts the
        outDialStart webhook; if the dial was superseded meanwhile (the leg was interrupted), no
        outDialStart will come, so the child goes on at once."""
        if not any(isinstance(x, a.PostWebhook) and x.request_type is RequestType.OUT_DIAL_START
                   for x in actions):
            self.release(child_id)

    def after_event(self, event: object, waits_for_engine: bool) -> None:
        """Call after the leg handled `event`: the script an outDialStart returned is taken up
        with its ScriptReceived; once the leg no longer waits for an engine runner
        (`waits_for_engine`), that script has started and its children may go on."""
        if isinstance(event, e.ScriptReceived) and event.token in self._start_scripts:
            self._starting.add(self._start_scripts.pop(event.token))
        if self._starting and not waits_for_engine:
            for child_id in list(self._starting):
                self.release(child_id)

    def release_all(self) -> None:
        """Open every child's gate (the leg ends: it will send no more outDialStart)."""
        for child_id in list(self._gates):
            self.release(child_id)

    def release(self, child_id: object) -> None:
        """Open the gate of `child_id` (any id; an unknown one is ignored)."""
        self._starting.discard(str(child_id))
        gate = self._gates.pop(str(child_id), None)
        if gate is not None:
            gate.set()
