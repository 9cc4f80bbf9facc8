"""What the user types during a live call, and how it is read without freezing the screen.

The live commands refresh about five times a second. Each refresh waits for typed input with
`Keyboard.next_line(timeout)`, so the wait for the next refresh and the wait for a key are one
wait: a line typed by the user is acted on at once, and nothing is read from a thread (a daemon
thread stuck in a read of stdin can abort the interpreter at exit). On a terminal the input is
line-buffered by the tty: a command is sent when the user presses Enter.

Lines (see CALL_HELP, PHONE_HELP): `12#` presses keys, `"words` or `say words` speaks, `h` hangs up, `a` / `d`
answer or decline a ringing softphone, `?` prints the help.
"""

from __future__ import annotations

import io
import os
import re
import select
import sys
import time
from collections import deque
from dataclasses import dataclass
from typing import IO, Protocol

CALL_HELP = ('keys: type digits 0-9 * # and Enter to press them; "words or say words to speak; '
             "h to hang up; Ctrl-C to hang up and quit")
PHONE_HELP = ('keys: type digits 0-9 * # and Enter to press them; "words or say words to speak; '
              "h to hang up; a / d to answer / decline a ringing phone; Ctrl-C to quit")
_KEYS = re.compile(r"[0-9*#]+")


class Keyboard(Protocol):
    def next_line(self, timeout_s: float) -> str | None:
        """Wait up to `timeout_s` for one line the user typed (without its newline); None when
        none came in time. The live commands call it once per refresh."""
        ...

    def now(self) -> float:
        """Seconds on the clock the waits run on (`--timeout` counts on it)."""
        ...


@dataclass(frozen=True, slots=True)
class Press:
    digits: str


@dataclass(frozen=True, slots=True)
class Say:
    text: str


@dataclass(frozen=True, slots=True)
class Hangup:
    pass


@dataclass(frozen=True, slots=True)
class Answer:
    pass


@dataclass(frozen=True, slots=True)
class Decline:
    pass


@dataclass(frozen=True, slots=True)
class Help:
    pass


@dataclass(frozen=True, slots=True)
class Unknown:
    line: str


Command = Press | Say | Hangup | Answer | Decline | Help | Unknown


def parse_line(line: str) -> Command | None:
    """What a typed line asks for; None for a blank line."""
    text = line.strip()
    if not text:
        return None
    lowered = text.lower()
    words: dict[str, Command] = {"h": Hangup(), "hangup": Hangup(), "a": Answer(),
                                 "answer": Answer(), "d": Decline(), "decline": Decline(),
                                 "?": Help(), "help": Help()}  # fmt: skip
    if lowered in words:
        return words[lowered]
    if text.startswith('"'):
        spoken = text.strip('"').strip()
        return Say(spoken) if spoken else Unknown(text)
    if lowered.startswith("say "):
        return Say(text[4:].strip())
    if _KEYS.fullmatch(text):
        return Press(text)
    return Unknown(text)


class Unattended:
    """No input at all (a scripted call): every call just waits."""

    def now(self) -> float:
        return time.monotonic()

    def next_line(self, timeout_s: float) -> str | None:
        time.sleep(timeout_s)
        return None


class FdKeyboard:
    """Lines from a file descriptor (the terminal, or a pipe), waited for with select(); POSIX."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._pending = b""
        self._lines: deque[str] = deque()
        self._eof = False

    def now(self) -> float:
        return time.monotonic()

    def next_line(self, timeout_s: float) -> str | None:
        if not self._lines and self._eof:
            time.sleep(timeout_s)
        elif not self._lines:
            ready, _, _ = select.select([self._fd], [], [], timeout_s)
            if ready:
                self._read()
        return self._lines.popleft() if self._lines else None

    def _read(self) -> None:
        chunk = os.read(self._fd, 4096)
        if not chunk:
            self._eof = True
            chunk = b"\n" if self._pending else b""
        *complete, self._pending = (self._pending + chunk).split(b"\n")
        self._lines.extend(raw.decode(errors="replace").rstrip("\r") for raw in complete)


class StreamKeyboard:
    """Lines from a stream without a file descriptor (an in-memory stdin): never blocks."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def now(self) -> float:
        return time.monotonic()

    def next_line(self, timeout_s: float) -> str | None:
        line = self._stream.readline()
        if line:
            return line.rstrip("\r\n")
        time.sleep(timeout_s)
        return None


def for_terminal(interactive: bool) -> Keyboard:
    """The keyboard of this process: stdin when `interactive`, else no input."""
    if not interactive:
        return Unattended()
    try:
        return FdKeyboard(sys.stdin.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return StreamKeyboard(sys.stdin)
