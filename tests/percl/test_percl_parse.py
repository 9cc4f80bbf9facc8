"""parse_script: body decoding, warnings, legacy spellings, and the models' own validation."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from percl.errors import PerclScriptError
from percl.percl import (
    COMMANDS,
    AddToConference,
    AudioStream,
    GetDigits,
    Hangup,
    OutDial,
    Pause,
    PerclJsonError,
    Play,
    Say,
    Script,
    Sms,
    TranscribeUtterance,
    parse_script,
    serialize_script,
)

U = "https://app.example.com"

# ---- body decoding ---------------------------------------------------------------------------


def test_bytes_with_bom_and_whitespace_parse() -> None:
    body = b'\xef\xbb\xbf \r\n [{"Say": {"text": "caf\xc3\xa9"}}]\n\t'
    assert parse_script(body).commands == (Say(text="café"),)


def test_str_with_bom_parses() -> None:
    assert parse_script('\ufeff[{"Hangup": {}}]').commands == (Hangup(),)


def test_decoded_list_is_accepted_as_is() -> None:
    assert parse_script([{"Hangup": {"reason": "x"}}]).commands == (Hangup(reason="x"),)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'[{"Say": {"text": "\xff"}}]', "not valid UTF-8"),
        (b"\xfe\xff\x00[\x00]", "not valid UTF-8"),
        (b"", "empty"),
        ("   \n", "empty"),
        ("<html>OK</html>", "not JSON"),
        ('[{"Say": {"text": "a"}}', "not JSON"),
        ('[{"Pause": {"length": NaN}}]', "NaN is not a JSON value"),
        ("[" * 100_000, "not JSON"),
    ],
)
def test_non_json_bodies_raise_percl_json_error(body: bytes | str, problem: str) -> None:
    with pytest.raises(PerclJsonError) as info:
        parse_script(body)
    assert info.value.path == ""
    assert problem in info.value.problem
    assert isinstance(info.value, PerclScriptError)


def test_empty_array_is_an_empty_script() -> None:
    assert parse_script(b"[]") == Script(commands=(), warnings=())


def test_error_message_joins_path_and_problem() -> None:
    with pytest.raises(PerclScriptError) as info:
        parse_script(
            json.dumps([{"Say": {"text": "a"}}, {"GetDigits": {"actionUrl": U, "maxDigits": "5x"}}])
        )
    assert str(info.value) == '[1].GetDigits.maxDigits: expected integer, got "5x"'


def test_first_failing_element_wins() -> None:
    with pytest.raises(PerclScriptError) as info:
        parse_script([{"Pause": {"length": "1"}}, {"Sya": {}}])
    assert info.value.path == "[0].Pause.length"


# ---- warnings and lenient spellings ----------------------------------------------------------


def test_unknown_attributes_are_ignored_with_a_warning() -> None:
    script = parse_script([{"Say": {"text": "a", "foo": 1, "action_url": "x"}}])
    assert script.commands == (Say(text="a"),)
    assert script.warnings == (
        "[0].Say.foo: unknown attribute ignored",
        "[0].Say.action_url: unknown attribute ignored",
    )


def test_unknown_attribute_inside_nested_record_warns() -> None:
    script = parse_script([{"TranscribeUtterance": {"actionUrl": U, "record": {"bogus": 1}}}])
    assert script.warnings == ("[0].TranscribeUtterance.record.bogus: unknown attribute ignored",)


def test_null_attribute_is_treated_as_omitted() -> None:
    (say,) = parse_script([{"Say": {"text": "a", "loop": None, "language": None}}]).commands
    assert say == Say(text="a", loop=1)
    with pytest.raises(PerclScriptError, match="required attribute missing"):
        parse_script([{"Say": {"text": None}}])


def test_legacy_string_numbers_on_get_digits_are_accepted_with_warnings() -> None:
    doc = [{"GetDigits": {"actionUrl": U, "initialTimeoutMs": "5000", "digitTimeoutMs": "3000",
                          "maxDigits": "4", "minDigits": "0"}}]  # fmt: skip
    script = parse_script(doc)
    assert script.commands == (
        GetDigits(action_url=U, initial_timeout_ms=5000, digit_timeout_ms=3000, max_digits=4,
                  min_digits=0),
    )  # fmt: skip
    assert len(script.warnings) == 4
    assert (
        script.warnings[2]
        == "[0].GetDigits.maxDigits: legacy string number accepted, send an integer"
    )


@pytest.mark.parametrize("value", ["-1", "1.5", " 4", "four", ""])
def test_legacy_string_numbers_must_be_digits(value: str) -> None:
    with pytest.raises(PerclScriptError) as info:
        parse_script([{"GetDigits": {"actionUrl": U, "maxDigits": value}}])
    assert info.value.path == "[0].GetDigits.maxDigits"


def test_string_numbers_elsewhere_are_errors() -> None:
    with pytest.raises(PerclScriptError) as info:
        parse_script([{"Say": {"text": "a", "loop": "2"}}])
    assert info.value.problem == 'expected integer, got "2"'


def test_integral_floats_are_integers_other_floats_are_not() -> None:
    (pause,) = parse_script([{"Pause": {"length": 500.0}}]).commands
    assert isinstance(pause, Pause)
    assert pause == Pause(length=500) and type(pause.length) is int
    with pytest.raises(PerclScriptError, match=r"expected integer, got 500\.5"):
        parse_script([{"Pause": {"length": 500.5}}])


def test_legacy_conference_id_on_say_and_play_warns() -> None:
    script = parse_script([{"Say": {"text": "a", "conferenceId": "CF1"}},
                           {"Play": {"file": f"{U}/a.wav", "conferenceId": "CF1"}}])  # fmt: skip
    assert script.warnings == (
        "[0].Say.conferenceId: legacy attribute",
        "[1].Play.conferenceId: legacy attribute",
    )
    assert isinstance(script.commands[1], Play) and script.commands[1].conference_id == "CF1"


def test_audio_stream_accepts_location_object_and_lowercase_metadata() -> None:
    (stream,) = parse_script(
        [{"AudioStream": {"location": {"uri": "wss://g.example.com"}, "metadata": ["a", "b"]}}]
    ).commands
    assert stream == AudioStream(location="wss://g.example.com", meta_data=("a", "b"))
    assert serialize_script([stream]) == [
        {"AudioStream": {"location": "wss://g.example.com", "metaData": ["a", "b"]}}
    ]


def test_audio_stream_both_metadata_spellings_keep_the_first() -> None:
    script = parse_script(
        [{"AudioStream": {"location": "wss://g.example.com", "metaData": ["a"], "metadata": ["b"]}}]
    )
    assert isinstance(script.commands[0], AudioStream)
    assert script.commands[0].meta_data == ("a",)
    assert script.warnings == ("[0].AudioStream.metadata: duplicate of another spelling, ignored",)


def test_audio_stream_location_object_needs_uri() -> None:
    with pytest.raises(PerclScriptError) as info:
        parse_script([{"AudioStream": {"location": {"url": "wss://g.example.com"}}}])
    assert (info.value.path, info.value.problem) == (
        "[0].AudioStream.location",
        "uri: required attribute missing",
    )


def test_long_sms_text_is_a_warning_not_an_error() -> None:
    script = parse_script(
        [{"Sms": {"to": "+13125550100", "from": "+13125550101", "text": "x" * 161}}]
    )
    assert isinstance(script.commands[0], Sms)
    assert script.warnings == ("[0].Sms.text: longer than 160 characters",)


def test_say_engine_with_language_warns() -> None:
    script = parse_script(
        [{"Say": {"text": "a", "language": "en-US", "engine": {"name": "freeclimb.standard"}}}]
    )
    assert script.warnings == (
        "[0].Say.language: not allowed with engine; set the engine's language",
    )


def test_say_text_limit_counts_utf8_bytes() -> None:
    assert parse_script([{"Say": {"text": "é" * 2048}}]).commands[0] == Say(text="é" * 2048)
    with pytest.raises(PerclScriptError, match="at most 4096 bytes"):
        parse_script([{"Say": {"text": "a" + "é" * 2048}}])


# ---- models: defaults, class constants, direct construction ---------------------------------


def test_unambiguous_spec_defaults_are_filled_others_stay_none() -> None:
    add = parse_script([{"AddToConference": {"conferenceId": "CF1"}}]).commands[0]
    assert isinstance(add, AddToConference)
    assert (add.talk, add.listen, add.start_conf_on_enter, add.dtmf_pass_through) == (True,) * 4
    assert add.allow_call_control is False and add.call_id is None
    get_digits = GetDigits(action_url=U)
    assert get_digits.prompts == () and get_digits.max_digits is None
    assert get_digits.initial_timeout_ms is None and get_digits.finish_on_key is None
    assert TranscribeUtterance(action_url=U).privacy_for_logging is False


TERMINAL = {
    "GetDigits", "GetSpeech", "RecordUtterance", "TranscribeUtterance", "Redirect", "OutDial",
    "CreateConference", "AddToConference", "Enqueue", "Dequeue", "Park", "Unpark",
    "TerminateConference", "AudioStream", "Hangup", "Reject",
}  # fmt: skip


def test_terminal_and_nestable_flags_follow_the_reference() -> None:
    assert {name for name, cls in COMMANDS.items() if cls.TERMINAL} == TERMINAL
    assert {name for name, cls in COMMANDS.items() if cls.NESTABLE} == {"Say", "Play", "Pause"}
    assert all(name == cls.NAME for name, cls in COMMANDS.items())
    assert len(COMMANDS) == 27


def test_models_are_frozen() -> None:
    say = Say(text="a")
    with pytest.raises(ValidationError):
        say.text = "b"  # type: ignore[misc]


def test_models_validate_when_built_in_python() -> None:
    with pytest.raises(ValidationError, match="expected integer"):
        GetDigits(action_url=U, max_digits=True)
    with pytest.raises(ValidationError, match="only allowed when ifMachine is redirect"):
        OutDial(destination="+13125550100", calling_number="+13125550101", action_url=U,
                call_connect_url=U, if_machine_url=U)  # fmt: skip
    with pytest.raises(ValidationError, match="only Say, Play and Pause"):
        GetDigits(action_url=U, prompts=(Hangup(),))
    assert GetDigits.model_validate({"actionUrl": U, "maxDigits": 2}).max_digits == 2


def test_serialize_drops_none_and_keeps_given_defaults() -> None:
    commands = [Say(text="a", loop=1, language=None), Hangup()]
    assert serialize_script(commands) == [{"Say": {"text": "a", "loop": 1}}, {"Hangup": {}}]
    assert serialize_script(Script(commands=tuple(commands))) == serialize_script(commands)


def test_serialize_nested_record_and_sms_from() -> None:
    doc = [
        {"TranscribeUtterance": {"actionUrl": U, "record": {"saveRecording": True}}},
        {"Sms": {"to": "+13125550100", "from": "+13125550101", "text": "x"}},
    ]
    assert serialize_script(parse_script(doc)) == doc
