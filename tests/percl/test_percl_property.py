"""Properties: any JSON is accepted or rejected with PerclScriptError; valid scripts round-trip."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from percl.errors import PerclScriptError
from percl.percl import (
    COMMANDS,
    AddToConference,
    Command,
    GetDigits,
    Hangup,
    OutDial,
    Pause,
    Play,
    Say,
    Script,
    SendDigits,
    parse_script,
    serialize_script,
)
from percl.percl.commands.base import LANGUAGES

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
# Documents shaped like PerCL, so validation (not just the shape check) is exercised.
WIRE_NAMES = {
    info.alias or name for cls in COMMANDS.values() for name, info in cls.model_fields.items()
}
ATTRIBUTE_NAMES = st.sampled_from([*sorted(WIRE_NAMES), "foo"])
PERCLISH = st.lists(
    st.dictionaries(
        st.sampled_from([*COMMANDS, "Sya"]),
        st.dictionaries(ATTRIBUTE_NAMES, JSON, max_size=5),
        min_size=1,
        max_size=1,
    ),
    max_size=4,
)


def _accepts_or_rejects(document: Any) -> None:
    try:
        script = parse_script(document)
    except PerclScriptError as exc:
        assert isinstance(exc.path, str) and exc.problem
    else:
        assert isinstance(script, Script)
        assert all(isinstance(c, Command) for c in script.commands)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_any_json_value_is_accepted_or_rejected(document: Any) -> None:
    _accepts_or_rejects(document)
    _accepts_or_rejects(json.dumps(document))


@settings(max_examples=200, deadline=None)
@given(PERCLISH)
def test_perclish_documents_are_accepted_or_rejected(document: Any) -> None:
    _accepts_or_rejects(document)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=40))
def test_any_bytes_are_accepted_or_rejected(body: bytes) -> None:
    _accepts_or_rejects(body)


def build(cls: type[Command], **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Command]:
    """Like st.builds, but without inferring the pydantic (alias) signature."""
    return st.fixed_dictionaries(fields).map(lambda kwargs: cls(**kwargs))


URLS = st.from_regex(r"\Ahttps?://[a-z]{1,10}\.example\.com(/[a-z0-9]{0,8}){0,2}\Z")
E164S = st.from_regex(r"\A\+[1-9][0-9]{7,14}\Z")
TEXT = st.text(max_size=40)
MAYBE_BOOL = st.none() | st.booleans()
SAY = build(
    Say,
    text=TEXT,
    loop=st.integers(0, 5),
    language=st.none() | st.sampled_from(LANGUAGES),
    privacy_mode=MAYBE_BOOL,
)
PLAY = build(Play, file=URLS, loop=st.integers(0, 5), privacy_mode=MAYBE_BOOL)
PAUSE = build(Pause, length=st.integers(0, 10_000))
PROMPTS = st.lists(SAY | PLAY | PAUSE, max_size=3).map(tuple)
GET_DIGITS = build(
    GetDigits,
    action_url=URLS,
    prompts=PROMPTS,
    max_digits=st.none() | st.integers(1, 20),
    min_digits=st.none() | st.integers(0, 5),
    finish_on_key=st.none() | st.sampled_from("0*#"),
    flush_buffer=MAYBE_BOOL,
)
OUT_DIAL = build(
    OutDial,
    destination=E164S,
    calling_number=E164S,
    action_url=URLS,
    call_connect_url=URLS,
    timeout=st.none() | st.integers(1, 120),
)
ADD = build(AddToConference, conference_id=st.text(min_size=1, max_size=10), talk=st.booleans())
SEND = build(SendDigits, digits=st.from_regex(r"\A([0-9*#]|\{[1-9]\}){1,8}\Z"))
HANGUP = build(Hangup, reason=st.none() | TEXT)
COMMAND_LISTS = st.lists(
    SAY | PLAY | PAUSE | GET_DIGITS | OUT_DIAL | ADD | SEND | HANGUP, max_size=6
)


@settings(max_examples=200, deadline=None)
@given(COMMAND_LISTS)
def test_valid_scripts_round_trip(commands: list[Command]) -> None:
    wire = serialize_script(commands)
    again = parse_script(json.dumps(wire))
    assert again.commands == tuple(commands)
    assert serialize_script(again) == wire
