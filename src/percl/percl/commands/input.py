"""Input commands: GetDigits, GetSpeech, RecordUtterance, TranscribeUtterance (all terminal)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field, PlainValidator, model_validator

from percl.percl.commands.base import (
    BUILTIN_GRAMMARS,
    GRAMMAR_TYPES,
    Bool,
    Command,
    Fraction,
    Key,
    NonNegInt,
    Str,
    Url,
    WireModel,
    at_least,
    between,
    check_int,
    check_legacy_int,
    describe,
    fail,
    field_fail,
    is_http_url,
    one_of,
)
from percl.percl.commands.prompts import PROMPT_TYPES, Pause, Play, Say

Prompt = Say | Play | Pause


def check_prompts(value: Any) -> tuple[Prompt, ...]:
    """Already-built Say/Play/Pause models (the parser builds them; it reports the paths)."""
    if not isinstance(value, list | tuple):
        raise fail(f"expected array, got {describe(value)}")
    for item in value:
        if not isinstance(item, PROMPT_TYPES):
            raise fail("only Say, Play and Pause may be nested in prompts")
    return tuple(value)


Prompts = Annotated[tuple[Prompt, ...], PlainValidator(check_prompts)]
LegacyMs = Annotated[int, PlainValidator(at_least(0, check_legacy_int))]
LegacyCount = Annotated[int, PlainValidator(at_least(0, check_legacy_int))]
LegacyMaxDigits = Annotated[int, PlainValidator(at_least(1, check_legacy_int))]
PositiveInt = Annotated[int, PlainValidator(at_least(1))]


class GetDigits(Command):
    """FreeClimb `GetDigits`: play prompts, collect DTMF, POST `getDigits` to `action_url`."""

    NAME: ClassVar[str] = "GetDigits"
    TERMINAL: ClassVar[bool] = True
    LEGACY_STRING_INTS: ClassVar[frozenset[str]] = frozenset(
        {"initialTimeoutMs", "digitTimeoutMs", "maxDigits", "minDigits"}
    )

    action_url: Url = Field(alias="actionUrl")
    prompts: Prompts = ()
    initial_timeout_ms: LegacyMs | None = Field(default=None, alias="initialTimeoutMs")
    digit_timeout_ms: LegacyMs | None = Field(default=None, alias="digitTimeoutMs")
    finish_on_key: Key | None = Field(default=None, alias="finishOnKey")
    max_digits: LegacyMaxDigits | None = Field(default=None, alias="maxDigits")
    min_digits: LegacyCount | None = Field(default=None, alias="minDigits")
    flush_buffer: Bool | None = Field(default=None, alias="flushBuffer")
    privacy_mode: Bool | None = Field(default=None, alias="privacyMode")


class GetSpeech(Command):
    """FreeClimb `GetSpeech`: play prompts, recognise speech by grammar, POST `getSpeech`."""

    NAME: ClassVar[str] = "GetSpeech"
    TERMINAL: ClassVar[bool] = True

    action_url: Url = Field(alias="actionUrl")
    grammar_file: Str = Field(alias="grammarFile")
    grammar_type: Annotated[str, PlainValidator(one_of(GRAMMAR_TYPES))] | None = Field(
        default=None, alias="grammarType"
    )
    grammar_rule: Str | None = Field(default=None, alias="grammarRule")
    play_beep: Bool | None = Field(default=None, alias="playBeep")
    prompts: Prompts = ()
    no_input_timeout_ms: NonNegInt | None = Field(default=None, alias="noInputTimeoutMs")
    recognition_timeout_ms: NonNegInt | None = Field(default=None, alias="recognitionTimeoutMs")
    confidence_threshold: Fraction | None = Field(default=None, alias="confidenceThreshold")
    sensitivity_level: Fraction | None = Field(default=None, alias="sensitivityLevel")
    speech_complete_timeout_ms: NonNegInt | None = Field(
        default=None, alias="speechCompleteTimeoutMs"
    )
    speech_incomplete_timeout_ms: NonNegInt | None = Field(
        default=None, alias="speechIncompleteTimeoutMs"
    )
    privacy_mode: Bool | None = Field(default=None, alias="privacyMode")

    @model_validator(mode="after")
    def _grammar_matches_type(self) -> GetSpeech:
        # grammarType defaults to URL, so an unqualified grammarFile must be a URL.
        if self.grammar_type == "BUILTIN":
            if self.grammar_file not in BUILTIN_GRAMMARS:
                raise field_fail(
                    "grammarFile",
                    f"must be one of {', '.join(BUILTIN_GRAMMARS)} when grammarType is BUILTIN",
                )
        elif not is_http_url(self.grammar_file):
            raise field_fail("grammarFile", "expected an absolute http(s) URL (grammarType is URL)")
        return self


class RecordUtterance(Command):
    """FreeClimb `RecordUtterance`: record the caller, POST `record` to `action_url`."""

    NAME: ClassVar[str] = "RecordUtterance"
    TERMINAL: ClassVar[bool] = True

    action_url: Url = Field(alias="actionUrl")
    silence_timeout_ms: NonNegInt | None = Field(default=None, alias="silenceTimeoutMs")
    finish_on_key: Key | None = Field(default=None, alias="finishOnKey")
    max_length_sec: PositiveInt | None = Field(default=None, alias="maxLengthSec")
    play_beep: Bool | None = Field(default=None, alias="playBeep")
    auto_start: Bool | None = Field(default=None, alias="autoStart")
    privacy_mode: Bool | None = Field(default=None, alias="privacyMode")


class TranscribeUtteranceRecord(WireModel):
    """The `record` object of FreeClimb `TranscribeUtterance` (its presence enables recording)."""

    save_recording: Bool = Field(default=False, alias="saveRecording")
    max_length_sec: Annotated[int, PlainValidator(between(1, 60, check_int))] | None = Field(
        default=None, alias="maxLengthSec"
    )
    rcrd_termination_silence_time_ms: (
        Annotated[int, PlainValidator(between(1, 3000, check_int))] | None
    ) = Field(default=None, alias="rcrdTerminationSilenceTimeMs")


class TranscribeUtterance(Command):
    """FreeClimb `TranscribeUtterance`: transcribe the caller, POST `transcribe` to `action_url`."""

    NAME: ClassVar[str] = "TranscribeUtterance"
    TERMINAL: ClassVar[bool] = True

    action_url: Url = Field(alias="actionUrl")
    play_beep: Bool = Field(default=False, alias="playBeep")
    record: TranscribeUtteranceRecord | None = None
    privacy_for_logging: Bool = Field(default=False, alias="privacyForLogging")
    privacy_for_recording: Bool = Field(default=False, alias="privacyForRecording")
    prompts: Prompts = ()
