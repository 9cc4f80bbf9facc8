"""The sim control API's JSON: strict request models and renderers, camelCase on the wire.

percl.simapi serves these at /sim/v1 over the operations of control/operations.py; its fault and
message routes share `parse`.

Validation is strict on purpose: a typo in a phone program (`answerAfter`, `"digits": 5`) would
otherwise silently give a phone that behaves differently from what the test author meant. Unknown
keys, wrong types (no string-to-int coercion, no booleans as numbers), negative times and keys
outside 0-9 * # are all refused with a 400 that names the field.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from percl.domain.enums import PhoneAnswer
from percl.domain.phone import is_e164
from percl.errors import BadRequest, InvalidJson
from percl.media.audio.pcm import SAMPLE_RATE, Pcm
from percl.media.audio.wav import wav_bytes
from percl.telephony.sim.model import (
    DEFAULT_ANSWER_AFTER_MS,
    LegSummary,
    PhoneProgram,
    PhoneStep,
    Transcript,
    TranscriptEntry,
)

KEYS_PATTERN = r"^[0-9*#]+$"
#: Caps on what one phone program or placed call may hold (issue 17.8; docs/DECISIONS.md).
MAX_STEPS = 100
MAX_SAY = 1024

M = TypeVar("M", bound=BaseModel)


class AudioChannel(StrEnum):
    """`?channel=` of GET /calls/{callId}/audio: one side of the leg as a mono WAV."""

    HEARD = "heard"  # what the phone heard (the platform's audio, the conference's mix)
    SENT = "sent"  # what the phone sent (its voice, its keys' tones)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class StepIn(_Wire):
    """One script step: `afterMs` plus exactly one of `digits`, `hangup: true`, `say`."""

    after_ms: int = Field(alias="afterMs", ge=0)
    digits: str | None = Field(default=None, pattern=KEYS_PATTERN, max_length=256)
    hangup: bool | None = None
    say: str | None = Field(default=None, max_length=MAX_SAY)

    @model_validator(mode="after")
    def _one_action(self) -> StepIn:
        actions = [k for k in ("digits", "hangup", "say") if getattr(self, k) is not None]
        if len(actions) != 1:
            raise ValueError("a step needs exactly one of digits, hangup or say")
        if self.hangup is False:
            raise ValueError("hangup must be true (leave the step out instead)")
        return self

    def to_step(self) -> PhoneStep:
        return PhoneStep(
            after_ms=self.after_ms, digits=self.digits, hangup=bool(self.hangup), say=self.say
        )


class ProgramIn(_Wire):
    """PUT /phones/{number}: how the phone behaves when called. Every key is optional."""

    answer: PhoneAnswer = PhoneAnswer.HUMAN
    answer_after_ms: int = Field(default=DEFAULT_ANSWER_AFTER_MS, alias="answerAfterMs", ge=0)
    hangup_after_ms: int | None = Field(default=None, alias="hangupAfterMs", ge=0)
    script: list[StepIn] = Field(default_factory=list, max_length=MAX_STEPS)

    def to_program(self) -> PhoneProgram:
        return PhoneProgram(
            answer=self.answer,
            answer_after_ms=self.answer_after_ms,
            hangup_after_ms=self.hangup_after_ms,
            script=tuple(s.to_step() for s in self.script),
        )


class PlaceCallIn(_Wire):
    """POST /calls: a virtual phone calls one of the account's numbers."""

    from_: str = Field(alias="from")
    to: str
    script: list[StepIn] = Field(default_factory=list, max_length=MAX_STEPS)


class DigitsIn(_Wire):
    """POST /calls/{callId}/digits: keys the far end presses."""

    digits: str = Field(pattern=KEYS_PATTERN, max_length=256)


class SpeechIn(_Wire):
    """POST /calls/{callId}/speech: words the far end says (the platform hears them as speech)."""

    text: str = Field(min_length=1, max_length=MAX_SAY)


def parse(model: type[M], raw: bytes, what: str) -> M:
    """Validate a request body. Raises InvalidJson for unparsable JSON, BadRequest (naming the
    first offending field, all of them in `details.errors`) for anything else wrong."""
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        if any(e["type"] == "json_invalid" for e in errors):
            raise InvalidJson(f"The {what} body is not valid JSON") from None
        problems = [{"field": _path(e["loc"]), "problem": _problem(e)} for e in errors]
        first = problems[0]
        raise BadRequest(
            f"Invalid {what}: {first['field']}: {first['problem']}",
            details={"errors": problems},
        ) from None


def check_number(number: str, field: str) -> None:
    """Raise BadRequest naming `field` unless `number` is an E.164 phone number."""
    if not is_e164(number):
        raise BadRequest(
            f"{field} {number!r} is not an E.164 phone number (e.g. +13125550100)",
            details={"field": field},
        )


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def _problem(error: Any) -> str:
    if error["type"] == "string_pattern_mismatch":
        return "only keypad keys 0-9, * and # are allowed"
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if error["type"] == "missing":
        return "is required"
    return str(error["msg"]).removeprefix("Value error, ")


def render_program(program: PhoneProgram) -> dict[str, Any]:
    return {
        "answer": str(program.answer),
        "answerAfterMs": program.answer_after_ms,
        "hangupAfterMs": program.hangup_after_ms,
        "script": [render_step(s) for s in program.script],
    }


def render_step(step: PhoneStep) -> dict[str, Any]:
    out: dict[str, Any] = {"afterMs": step.after_ms}
    if step.digits is not None:
        out["digits"] = step.digits
    elif step.say is not None:
        out["say"] = step.say
    else:
        out["hangup"] = True
    return out


_ENTRY_FIELDS = (
    ("text", "text"),
    ("language", "language"),
    ("url", "url"),
    ("length_ms", "lengthMs"),
    ("digits", "digits"),
    ("by", "by"),
    ("machine_type", "machineType"),
    ("interrupted", "interrupted"),
    ("heard_ms", "heardMs"),
    ("speaker", "speaker"),
    ("speaker_call_id", "speakerCallId"),
)


def render_entry(entry: TranscriptEntry) -> dict[str, Any]:
    out: dict[str, Any] = {"atMs": entry.at_ms, "type": str(entry.type)}
    for attr, key in _ENTRY_FIELDS:
        value = getattr(entry, attr)
        if value is not None:
            out[key] = str(value) if attr == "by" else value
    return out


def render_transcript(
    transcript: Transcript, since: int = 0, budget: int | None = None
) -> dict[str, Any]:
    """The transcript; with `since`, only the entries from index `since` on (a poller passes
    the number of entries it has already seen). With a `budget` (bytes of compact JSON), only
    the first entries that fit, at least one: `more` is true when some were left for the next
    read (a transcript crossing the workers' bus, whose messages are small)."""
    entries = [render_entry(e) for e in transcript.entries[since:]]
    page = entries if budget is None else _within(entries, budget)
    return {
        "callId": transcript.call_id,
        "from": transcript.from_,
        "to": transcript.to,
        "live": transcript.live,
        "createdMs": transcript.created_ms,
        "since": since,
        "entries": page,
        "more": len(page) < len(entries),
    }


#: An entry's free-text fields, shortened (ending in CUT_MARK) when one entry alone is over
#: a transcript page's budget.
_LONG_FIELDS = ("text", "url")
CUT_MARK = "\u2026"


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _within(entries: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """The first `entries` whose JSON list fits in `budget` bytes; always the first one, its
    long text cut to fit when it alone does not (a poller must get on)."""
    page: list[dict[str, Any]] = []
    used = 2  # the list's brackets
    for entry in entries:
        size = _size(entry) + (1 if page else 0)  # the comma before it
        if used + size > budget:
            break
        page.append(entry)
        used += size
    if not page and entries:
        page.append(_cut(entries[0], budget - 2))
    return page


def _cut(entry: dict[str, Any], budget: int) -> dict[str, Any]:
    """`entry` with its long fields shortened (the most kept) until its JSON fits `budget`."""
    out = dict(entry)
    for field in _LONG_FIELDS:
        value = out.get(field)
        if _size(out) <= budget or not isinstance(value, str):
            continue
        low, high = 0, len(value)  # characters kept: the most that fit, by bisection
        while low < high:
            mid = (low + high + 1) // 2
            if _size({**out, field: value[:mid] + CUT_MARK}) <= budget:
                low = mid
            else:
                high = mid - 1
        out[field] = value[:low] + CUT_MARK
    return out


def render_leg(leg: LegSummary) -> dict[str, Any]:
    """One leg of GET /phones/{number}/calls; `direction` is the platform's view of the leg."""
    return {
        "callId": leg.call_id,
        "from": leg.from_,
        "to": leg.to,
        "direction": "outbound" if leg.outbound else "inbound",
        "state": str(leg.state),
        "live": leg.live,
        "createdMs": leg.created_ms,
    }


def render_audio(heard: Pcm, sent: Pcm, channel: AudioChannel | None, from_ms: int = 0) -> bytes:
    """A 16-bit 8 kHz WAV of a leg: two channels (left what the phone heard, right what it sent;
    the shorter padded with silence), or the one `channel`; from `from_ms` on."""
    start = from_ms * SAMPLE_RATE // 1000
    if channel is AudioChannel.HEARD:
        return wav_bytes([heard[start:]])
    if channel is AudioChannel.SENT:
        return wav_bytes([sent[start:]])
    return wav_bytes([heard[start:], sent[start:]])
