"""One call followed live at the terminal: its leg, the legs it dialled, their states, and what
the user types. Shared by `percl sim call` (the caller's leg) and `percl sim phone` (the leg
that rings the softphone).

Each `refresh()` reads what is new: the transcript of every live leg through `?since=N`, the
call records of the REST API (states, and the legs a leg dialled: `GET /Calls?parentCallId=`).
Why the last WINDOW entries are read again each time: the network amends entries in place (a
prompt cut short by a key, digits still being pressed), and the view prints such amendments.
Every line is timed from the start of the followed leg, on the network's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console

from percl.cli import keyboard as kb
from percl.cli.connection import HttpError, PerclClient
from percl.cli.render import FINAL_ENTRIES, FINAL_STATES, STYLE, at, entry_text, iso_to_ms

POLL_S = 0.2
WINDOW = 16
STATE_TIME = {"ringing": "startTimeISO", "inProgress": "connectTimeISO"}
UNSHOWN_STATES = {"queued", "ringing"}  # the transcript's "ringing" line says it already
CUT_FIELDS = ("interrupted", "heardMs")
PHONE_ACTS = {"digitsPressed", "said"}
ACT, CUT, MEDIA = 0, 1, 2  # Line.rank


@dataclass(frozen=True, slots=True)
class Line:
    at_ms: int
    text: str
    style: str | None
    state: bool = False
    rank: int = MEDIA  # order at equal times: what the phone did, a cut it caused, the rest

    def sort_key(self) -> tuple[int, int]:
        # A record's times are truncated to the millisecond and written after the network's
        # event: a state shown one millisecond later keeps "answered" before "state inProgress".
        return (self.at_ms + 1, MEDIA) if self.state else (self.at_ms, self.rank)


class LegFollower:
    """Reads one leg's transcript incrementally. `prefix` indents a dialled leg's lines."""

    def __init__(self, client: PerclClient, call_id: str, prefix: str = "") -> None:
        self.client, self.call_id, self.prefix = client, call_id, prefix
        self.entries: list[dict[str, Any]] = []
        self.created_ms: int | None = None
        self.live = True

    @property
    def answered(self) -> bool:
        return any(e.get("type") == "answered" for e in self.entries)

    def poll(self) -> list[Line]:
        """What is new or amended since the last poll. A transcript the network no longer has
        (404) counts as ended. A page that says `more` (a transcript read through another
        worker: a bus message's worth) is followed at once from where it ended."""
        since = max(0, len(self.entries) - WINDOW)
        lines: list[Line] = []
        while True:
            try:
                data = self.client.sim("GET", f"/calls/{self.call_id}/transcript",
                                       params={"since": since})
            except HttpError as exc:
                if exc.status != 404:
                    raise
                self.live = False
                return lines
            lines += self._page(data)
            page = data.get("entries", [])
            if not data.get("more") or not page:
                return lines
            since = int(data.get("since", 0)) + len(page)

    def _page(self, data: dict[str, Any]) -> list[Line]:
        """The lines of one transcript page; sets `live` from it."""
        self.created_ms = int(data.get("createdMs") or 0)
        lines = []
        for index, entry in enumerate(data.get("entries", []), start=int(data.get("since", 0))):
            if index < len(self.entries) and entry == self.entries[index]:
                continue
            if index < len(self.entries):
                old, self.entries[index] = self.entries[index], entry
                lines.append(self._amended(old, entry))
            else:
                self.entries.append(entry)
                lines.append(self._line(entry))
        ended = any(e.get("type") in FINAL_ENTRIES for e in self.entries)
        self.live = bool(data.get("live", True)) and not ended
        return lines

    def _amended(self, old: dict[str, Any], entry: dict[str, Any]) -> Line:
        """A prompt cut short is told as the cut, at its time, not printed again."""
        heard = entry.get("heardMs")
        rest = {k: v for k, v in entry.items() if k not in CUT_FIELDS}
        if entry.get("interrupted") and not old.get("interrupted") and rest == old and heard:
            return Line((self.created_ms or 0) + int(entry.get("atMs", 0)) + int(heard),
                        f"{self.prefix}(cut after {heard} ms)", STYLE["warning"], rank=CUT)
        return self._line(entry)

    def _line(self, entry: dict[str, Any]) -> Line:
        kind = str(entry.get("type", ""))
        return Line((self.created_ms or 0) + int(entry.get("atMs", 0)),
                    self.prefix + entry_text(entry), STYLE.get(kind),
                    rank=ACT if kind in PHONE_ACTS or entry.get("by") == "farEnd" else MEDIA)


class LiveCall:
    """Follows `call_id` and the legs it dials; sends what the user types to its far end."""

    def __init__(self, client: PerclClient, console: Console, call_id: str,
                 help_text: str = kb.CALL_HELP) -> None:
        self.client, self.console, self.call_id = client, console, call_id
        self.help_text = help_text
        self.root = LegFollower(client, call_id)
        self.legs: dict[str, LegFollower] = {call_id: self.root}
        self.states: dict[str, str] = {}
        self.waiting: list[kb.Command] = []  # typed before the leg was answered
        self._hung_up: set[str] = set()  # legs hang_up_all asked to end

    @property
    def ended(self) -> bool:
        return not any(leg.live for leg in self.legs.values())

    @property
    def status(self) -> str | None:
        """The REST status of the followed leg, as last seen."""
        return self.states.get(self.call_id)

    def refresh(self) -> None:
        """Print what happened since the last refresh, in time order."""
        lines: list[Line] = []
        for leg in list(self.legs.values()):
            if leg.live:
                lines += leg.poll()
        lines += self._states_and_dialled()
        origin = self.root.created_ms or 0
        for line in sorted(lines, key=Line.sort_key):
            self.console.print(at((line.at_ms - origin) / 1000, line.text), style=line.style,
                               highlight=False, soft_wrap=True)
        if self.waiting and self.root.answered:
            waiting, self.waiting = self.waiting, []
            for command in waiting:
                self.send(command)

    def settle_status(self, keyboard: kb.Keyboard, ticks: int = 25) -> str | None:
        """After the legs ended, wait (a few refreshes) for the record's final status."""
        for _ in range(ticks):
            if self.status in FINAL_STATES:
                break
            keyboard.next_line(POLL_S)
            self.refresh()
        return self.status

    def type(self, line: str) -> None:
        """Act on one typed line."""
        command = kb.parse_line(line)
        if command is None:
            return
        if isinstance(command, kb.Press | kb.Say) and not self.root.answered and self.root.live:
            self.waiting.append(command)  # sent once the call is answered
            return
        self.send(command)

    def send(self, command: kb.Command) -> None:
        """Send one command to the followed leg's far end; tell the user when it cannot be."""
        try:
            match command:
                case kb.Press(digits=digits):
                    self.client.sim("POST", f"/calls/{self.call_id}/digits", json={"digits": digits})
                case kb.Say(text=text):
                    self.client.sim("POST", f"/calls/{self.call_id}/speech", json={"text": text})
                case kb.Hangup():
                    self.hang_up()
                case kb.Help():
                    self.console.print(self.help_text, style="dim", highlight=False)
                case kb.Answer() | kb.Decline():
                    self.console.print("nothing is ringing", style="dim")
                case kb.Unknown(line=text):
                    self.console.print(f"? {text!r}: type ? for help", style="yellow",
                                       highlight=False)
        except HttpError as exc:
            self.console.print(f"not sent: {exc.message}", style="yellow", highlight=False)

    def hang_up(self) -> None:
        """The far end hangs up (nothing happens when the leg already ended)."""
        try:
            self.client.sim("POST", f"/calls/{self.call_id}/hangup")
        except HttpError as exc:
            if exc.status != 404:
                raise

    def hang_up_all(self) -> None:
        """The far end of every leg still live hangs up, the followed one first. Why not only the
        followed leg: a parent's end does not end the legs it dialled (docs/DECISIONS.md), so a
        command that stops (--timeout, a signal) would leave them running, or wait for them
        forever. A leg that ended meanwhile (404) or cannot be hung up now (400) is skipped."""
        for call_id in [c for c, leg in self.legs.items() if leg.live and c not in self._hung_up]:
            self._hung_up.add(call_id)
            try:
                self.client.sim("POST", f"/calls/{call_id}/hangup")
            except HttpError as exc:
                if exc.status not in (400, 404):
                    raise

    def _states_and_dialled(self) -> list[Line]:
        """State changes of every leg, and the legs dialled since the last refresh."""
        lines: list[Line] = []
        try:
            record = self.client.rest("GET", f"/Calls/{self.call_id}")
        except HttpError:
            return lines
        lines += self._state(record)
        for parent_id in list(self.legs):
            children = self.client.rest_list("/Calls", "calls", {"parentCallId": parent_id})
            for child in reversed(children):  # newest first: oldest dialled first
                lines += self._dialled(child, self.legs[parent_id].prefix)
                lines += self._state(child)
        return lines

    def _dialled(self, child: dict[str, Any], parent_prefix: str) -> list[Line]:
        call_id = str(child["callId"])
        if call_id in self.legs:
            return []
        follower = LegFollower(self.client, call_id, parent_prefix + "  │ ")
        self.legs[call_id] = follower
        first = follower.poll()
        when = iso_to_ms(child.get("startTimeISO")) or self._latest_ms()
        when = min([when, *(line.at_ms for line in first)])  # the header before its lines
        text = f"{parent_prefix}  ┌ dialled {child.get('to')} ({child.get('direction')}) {call_id}"
        return [Line(when, text, STYLE["leg"]), *first]

    def _state(self, record: dict[str, Any]) -> list[Line]:
        call_id, status = str(record["callId"]), str(record.get("status"))
        if self.states.get(call_id) == status:
            return []
        self.states[call_id] = status
        field = STATE_TIME.get(status, "endTimeISO" if status in FINAL_STATES else "")
        when = iso_to_ms(record.get(field)) or self._latest_ms()
        prefix = self.legs[call_id].prefix if call_id in self.legs else ""
        if status in UNSHOWN_STATES:
            return []
        return [Line(when, f"{prefix}state {status}", STYLE["state"], state=True)]

    def _latest_ms(self) -> int:
        times = [(leg.created_ms or 0) + int(e.get("atMs", 0))
                 for leg in self.legs.values() for e in leg.entries]  # fmt: skip
        return max(times, default=self.root.created_ms or 0)

