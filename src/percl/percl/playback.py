"""Say, Play and Pause as media: the PlayMedia of one iteration, and how they repeat.

Standalone, a Say, Play or Pause plays `loop` times (0: until something else ends it) and no key
stops it: the interpreter waits on a MediaLoop. As the prompts of a GetDigits or GetSpeech they
play one after another, each `loop` times, until the first key or utterance stops them all: both
input commands take them from a PromptQueue. An empty Say plays nothing either way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from percl.percl import actions as a
from percl.percl.commands import Pause, Play, Say

Prompt = Say | Play | Pause
#: Makes the PlayMedia of one prompt iteration (`play_media`; tests plug in their own).
MediaFor = Callable[[int, Prompt], a.PlayMedia]

P = TypeVar("P")


def play_media(token: int, command: Prompt) -> a.PlayMedia:
    """The PlayMedia of one iteration of `command`, reported back as MediaDone(token)."""
    if isinstance(command, Say):
        return a.PlayMedia(token, "say", text=command.text, language=command.language or "en-US",
                           privacy_mode=bool(command.privacy_mode))
    if isinstance(command, Play):
        return a.PlayMedia(token, "play", url=command.file, privacy_mode=bool(command.privacy_mode))
    return a.PlayMedia(token, "pause", length_ms=command.length)


def iterations(command: Prompt) -> int | None:
    """How often `command` plays: its `loop` (Pause has none: once); None for loop 0 (forever)."""
    loop = getattr(command, "loop", 1)
    return None if loop == 0 else loop


def prompt_entries(prompts: Iterable[Prompt]) -> list[tuple[Prompt, int | None]]:
    """(prompt, iterations) of an input command's prompts, skipping empty Says."""
    return [(p, iterations(p)) for p in prompts if not (isinstance(p, Say) and not p.text)]


class PromptQueue(Generic[P]):
    """Prompts to play one after another, each for its number of iterations (None: forever)."""

    def __init__(self, entries: Iterable[tuple[P, int | None]]) -> None:
        self._entries: list[tuple[P, int | None]] = list(entries)

    def next(self) -> P | None:
        """The prompt to play now (one iteration of it), or None when they are all over."""
        while self._entries:
            prompt, left = self._entries[0]
            if left is not None and left <= 0:
                self._entries.pop(0)
                continue
            self._entries[0] = (prompt, None if left is None else left - 1)
            return prompt
        return None

    def clear(self) -> None:
        """Drop every prompt still to play (barge-in)."""
        self._entries.clear()


@dataclass(slots=True)
class MediaLoop:
    """A standalone Say, Play or Pause playing; the interpreter waits for MediaDone(`token`)."""

    token: int
    command: Prompt
    remaining: int | None  # further iterations after this one; None = forever (loop 0)

    @classmethod
    def start(cls, token: int, command: Prompt) -> tuple[MediaLoop, a.PlayMedia]:
        """The loop of `command` and the PlayMedia of its first iteration."""
        times = iterations(command)
        return cls(token, command, None if times is None else times - 1), play_media(token, command)

    def replay(self, next_token: Callable[[], int]) -> a.PlayMedia | None:
        """The next iteration (under a new token), or None when the command has played out."""
        if self.remaining is not None and self.remaining <= 0:
            return None
        self.remaining = None if self.remaining is None else self.remaining - 1
        self.token = next_token()
        return play_media(self.token, self.command)

