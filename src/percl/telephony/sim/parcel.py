"""A simulated leg packed to move to another process's network (issue 19: a conference spans
worker processes).

Why a parcel: the networks of two processes share no objects, so a leg handed over to the
worker that runs a conference's room travels as JSON in the hand-over request (the bus carries
at most 7,900 bytes a message). What moves is what the far end's phone still has to do and what
it has done: the phone's program with only the script steps it has not started yet, the leg's
state, how long ago it was created and answered (times relative to the sender's clock, so two
machines' clocks need not agree), and its transcript. The adopting network rebuilds the leg and
carries on with the script and the hangupAfterMs timer where the sender stopped.

Budget: the parcel is kept under PARCEL_BYTES (the request around it holds the PerCL of the
AddToConference). The program must fit whole (a phone with a huge script stays behind: the
hand-over fails and says so); transcript entries are carried newest first while they fit, and
`dropped` says how many of the oldest stayed behind.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from percl.domain.enums import PhoneAnswer
from percl.domain.json import JsonValue
from percl.telephony.sim.model import (
    HangupBy,
    LegState,
    PhoneProgram,
    PhoneStep,
    TranscriptEntry,
    TranscriptEvent,
)

#: The most a packed leg may take on the bus (the hand-over request's other fields: ~3 KB).
PARCEL_BYTES = 4500
#: What a parcel's "v" says; a network refuses parcels of another version.
VERSION = 1


@dataclass(frozen=True, slots=True)
class LegParcel:
    """A leg as it moves: what another network needs to go on with it."""

    call_id: str
    from_: str
    to: str
    outbound: bool
    state: LegState
    created_ago_ms: int  # the leg's age when it was packed
    answered_ago_ms: int | None
    program: PhoneProgram  # only the script steps not yet started
    entries: tuple[TranscriptEntry, ...]
    dropped: int = 0  # oldest transcript entries left behind (the budget)


def pack(parcel: LegParcel) -> JsonValue | None:
    """`parcel` as JSON within PARCEL_BYTES, dropping its oldest transcript entries if need be;
    None when even its program does not fit."""
    entries = [_entry_json(e) for e in parcel.entries]
    kept = len(entries)
    while True:
        body: dict[str, JsonValue] = {
            "v": VERSION, "callId": parcel.call_id, "from": parcel.from_, "to": parcel.to,
            "outbound": parcel.outbound, "state": parcel.state.value,
            "createdAgoMs": parcel.created_ago_ms, "answeredAgoMs": parcel.answered_ago_ms,
            "program": _program_json(parcel.program),
            "entries": list(entries[len(entries) - kept:]),
            "dropped": parcel.dropped + len(entries) - kept}
        size = len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
        if size <= PARCEL_BYTES:
            return body
        if kept == 0:
            return None
        kept = max(0, kept - 1 - (size - PARCEL_BYTES) // 200)  # about 100-200 bytes an entry


def unpack(value: JsonValue) -> LegParcel | None:
    """The parcel `pack` made; None for anything else (another version, a malformed one)."""
    if not isinstance(value, Mapping) or value.get("v") != VERSION:
        return None
    try:
        program = value["program"]
        entries = value["entries"]
        answered = value["answeredAgoMs"]
        assert isinstance(program, Mapping) and isinstance(entries, list)
        return LegParcel(
            call_id=str(value["callId"]), from_=str(value["from"]), to=str(value["to"]),
            outbound=bool(value["outbound"]), state=LegState(str(value["state"])),
            created_ago_ms=_int(value["createdAgoMs"]),
            answered_ago_ms=None if answered is None else _int(answered),
            program=_program(program), entries=tuple(_entry(e) for e in entries),
            dropped=_int(value["dropped"]))
    except (KeyError, ValueError, TypeError, AssertionError):
        return None


def _int(value: JsonValue) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _program_json(program: PhoneProgram) -> JsonValue:
    return {"answer": program.answer.value, "answerAfterMs": program.answer_after_ms,
            "hangupAfterMs": program.hangup_after_ms,
            "script": [{"afterMs": s.after_ms, "digits": s.digits, "hangup": s.hangup,
                        "say": s.say} for s in program.script]}


def _program(value: Mapping[str, JsonValue]) -> PhoneProgram:
    script = value["script"]
    assert isinstance(script, list)
    hangup_after = value["hangupAfterMs"]
    return PhoneProgram(
        answer=PhoneAnswer(str(value["answer"])), answer_after_ms=_int(value["answerAfterMs"]),
        hangup_after_ms=None if hangup_after is None else _int(hangup_after),
        script=tuple(_step(s) for s in script))


def _step(value: JsonValue) -> PhoneStep:
    assert isinstance(value, Mapping)
    digits, say = value["digits"], value["say"]
    return PhoneStep(after_ms=_int(value["afterMs"]),
                     digits=None if digits is None else str(digits),
                     hangup=bool(value["hangup"]), say=None if say is None else str(say))


def _entry_json(entry: TranscriptEntry) -> JsonValue:
    fields: dict[str, JsonValue] = {}
    for field in dataclasses.fields(entry):
        value = getattr(entry, field.name)
        if value is not None:
            fields[field.name] = value.value if isinstance(value, (TranscriptEvent, HangupBy)) \
                else value
    return fields


def _entry(value: JsonValue) -> TranscriptEntry:
    assert isinstance(value, Mapping)
    fields: dict[str, Any] = dict(value)
    fields["type"] = TranscriptEvent(fields["type"])
    if fields.get("by") is not None:
        fields["by"] = HangupBy(fields["by"])
    return TranscriptEntry(**fields)
