"""Reading a virtual phone's transcript, and the matchers that `expect_*` waits use.

A transcript is what the *phone* at the far end of a leg heard and did (see
percl.telephony.sim.model). `TranscriptView` renders it the way `percl sim call` prints it, one line an
entry, because that is what a developer wants to see when an expectation fails:

       0.00s  ringing
       0.02s  answered
       0.02s  heard "Welcome to Acme."
       2.32s  pressed 1
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from percl.telephony.sim.media_model import DIGIT_MS, MediaModel
from percl.telephony.sim.model import Transcript, TranscriptEntry, TranscriptEvent

_TEMPLATES = {
    TranscriptEvent.SAY: 'heard "{text}"',
    TranscriptEvent.PLAY: "heard audio {url}",
    TranscriptEvent.PAUSE: "silence {length_ms} ms",
    TranscriptEvent.DIGITS_PRESSED: "pressed {digits}",
    TranscriptEvent.DIGITS_SENT: "heard tones {digits}",
    TranscriptEvent.HANGUP: "hangup by {by}",
    TranscriptEvent.SAID: 'said "{text}"',
    TranscriptEvent.MACHINE_DETECTED: "detected as {machine_type}",
}

EntryTest = Callable[[TranscriptEntry], bool]


def describe_entry(entry: TranscriptEntry) -> str:
    """One entry as a line a person reads: `   2.32s  heard "Press 1"`."""
    template = _TEMPLATES.get(entry.type, str(entry.type))
    detail = template.format(text=entry.text, url=entry.url, length_ms=entry.length_ms,
                             digits=entry.digits, by=entry.by, machine_type=entry.machine_type)
    if entry.interrupted:
        detail += f" (cut after {entry.heard_ms} ms)"
    return f"{entry.at_ms / 1000:8.2f}s  {detail}"


@dataclass(frozen=True, slots=True)
class TranscriptView:
    """A snapshot of one leg's transcript with readers for tests."""

    transcript: Transcript

    @property
    def entries(self) -> tuple[TranscriptEntry, ...]:
        return self.transcript.entries

    @property
    def live(self) -> bool:
        return self.transcript.live

    @property
    def said(self) -> list[str]:
        """Texts of the Say prompts the phone heard, in order (what the app said to the caller)."""
        return [e.text or "" for e in self.entries if e.type is TranscriptEvent.SAY]

    @property
    def spoken(self) -> list[str]:
        """What the phone itself said (caller speech), in order."""
        return [e.text or "" for e in self.entries if e.type is TranscriptEvent.SAID]

    @property
    def pressed(self) -> str:
        """Every key the phone pressed, concatenated."""
        return "".join(e.digits or "" for e in self.entries
                       if e.type is TranscriptEvent.DIGITS_PRESSED)

    @property
    def kinds(self) -> list[str]:
        return [str(e.type) for e in self.entries]

    def lines(self, *, mark: int | None = None) -> list[str]:
        """The transcript rendered one entry a line; with `mark`, a divider before entry `mark`
        (where the last satisfied expectation left off)."""
        out = [describe_entry(e) for e in self.entries]
        if mark is not None and 0 < mark <= len(out):
            out.insert(mark, "  ------- (expectations matched up to here) -------")
        if not out:
            out = ["  (nothing yet)"]
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def media_seconds(entry: TranscriptEntry, time_scale: float = 1.0) -> float:
    """How long the media of an entry lasts on the simulated network (the documented model of
    media_model.py; Play files are not probed in the kit, so a Play lasts the default)."""
    model = MediaModel(time_scale=time_scale)
    match entry.type:
        case TranscriptEvent.SAY:
            return model.say_seconds(entry.text or "")
        case TranscriptEvent.PLAY:
            return model.play_seconds(None)
        case TranscriptEvent.PAUSE:
            return model.pause_seconds(entry.length_ms or 0)
        case TranscriptEvent.DIGITS_SENT:
            return model.scaled(len(entry.digits or "") * DIGIT_MS / 1000)
    return 0.0


def empty_transcript(call_id: str) -> Transcript:
    """A stand-in for a leg the network does not know (yet)."""
    return Transcript(call_id=call_id, from_="?", to="?", entries=(), live=False)


@dataclass(frozen=True, slots=True)
class Matcher:
    """Which transcript entry an expectation waits for, and how to say so in a failure."""

    test: EntryTest
    description: str

    def find(self, entries: Sequence[TranscriptEntry], start: int) -> int | None:
        """Index of the first entry at or after `start` that matches, or None."""
        return next((i for i in range(start, len(entries)) if self.test(entries[i])), None)


def text_matcher(kind: TranscriptEvent, verb: str, text: str | None, contains: str | None,
                 regex: str | None) -> Matcher:
    """A matcher on the `text` of entries of `kind`: exactly one of `text` (equal after
    collapsing whitespace), `contains` (case-insensitive substring) or `regex` (re.search).
    None of them matches any entry of the kind. Raises ValueError for more than one."""
    given = [g for g in (text, contains, regex) if g is not None]
    if len(given) > 1:
        raise ValueError("give one of text, contains= or regex=")
    if text is not None:
        wanted = _squash(text)
        return Matcher(lambda e: e.type is kind and _squash(e.text or "") == wanted,
                       f'{verb} "{text}"')
    if contains is not None:
        needle = contains.casefold()
        return Matcher(lambda e: e.type is kind and needle in (e.text or "").casefold(),
                       f'{verb} something containing "{contains}"')
    if regex is not None:
        pattern = re.compile(regex)
        return Matcher(lambda e: e.type is kind and pattern.search(e.text or "") is not None,
                       f"{verb} something matching /{regex}/")
    return Matcher(lambda e: e.type is kind, f"{verb} anything")


def field_matcher(kind: TranscriptEvent, description: str, **fields: object) -> Matcher:
    """A matcher on entries of `kind` whose given fields (those not None) are equal."""
    wanted = {k: v for k, v in fields.items() if v is not None}
    return Matcher(
        lambda e: e.type is kind and all(getattr(e, k) == v for k, v in wanted.items()),
        description,
    )


def _squash(text: str) -> str:
    return " ".join(text.split())
