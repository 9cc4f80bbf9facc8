"""Prompt commands: Say, Play, PlayEarlyMedia, Pause (Say, Play and Pause nest inside prompts)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field, PlainValidator

from percl.percl.commands.base import (
    TTS_ENGINES,
    Bool,
    Command,
    Language,
    NonNegInt,
    Str,
    Url,
    check_object,
    fail,
    max_utf8_bytes,
    one_of,
)

SAY_TEXT_LIMIT = 4096  # bytes of UTF-8, per the Say reference


def check_engine(value: Any) -> dict[str, Any]:
    """Say.engine: {"name": one of TTS_ENGINES, "parameters": {...}}; both keys optional."""
    engine = check_object(value)
    if "name" in engine:
        one_of(TTS_ENGINES)(engine["name"])
    if "parameters" in engine and engine["parameters"] is not None:
        try:
            check_object(engine["parameters"])
        except Exception as exc:
            raise fail("parameters: expected object") from exc
    return engine


class Say(Command):
    """FreeClimb `Say`: speak `text` with TTS `loop` times (0 = until hangup). Nestable."""

    NAME: ClassVar[str] = "Say"
    NESTABLE: ClassVar[bool] = True
    LEGACY: ClassVar[frozenset[str]] = frozenset({"conferenceId"})

    text: Annotated[str, PlainValidator(max_utf8_bytes(SAY_TEXT_LIMIT))]
    language: Language | None = None
    loop: NonNegInt = 1
    privacy_mode: Bool | None = Field(default=None, alias="privacyMode")
    engine: Annotated[dict[str, Any], PlainValidator(check_engine)] | None = None
    conference_id: Str | None = Field(default=None, alias="conferenceId")


class Play(Command):
    """FreeClimb `Play`: play the audio at `file` `loop` times (0 = until hangup). Nestable."""

    NAME: ClassVar[str] = "Play"
    NESTABLE: ClassVar[bool] = True
    LEGACY: ClassVar[frozenset[str]] = frozenset({"conferenceId"})

    file: Url
    loop: NonNegInt = 1
    privacy_mode: Bool | None = Field(default=None, alias="privacyMode")
    conference_id: Str | None = Field(default=None, alias="conferenceId")


class PlayEarlyMedia(Command):
    """FreeClimb `PlayEarlyMedia`: audio before answer (first voiceUrl command only)."""

    NAME: ClassVar[str] = "PlayEarlyMedia"

    file: Url


class Pause(Command):
    """FreeClimb `Pause`: wait `length` milliseconds. Nestable; first in a script delays answer."""

    NAME: ClassVar[str] = "Pause"
    NESTABLE: ClassVar[bool] = True

    length: NonNegInt


PROMPT_TYPES: tuple[type[Command], ...] = (Say, Play, Pause)
