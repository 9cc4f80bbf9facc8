"""Conference commands: CreateConference, AddToConference, RemoveFromConference,
TerminateConference, SetListen, SetTalk, SetDTMFPassThrough."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, PlainValidator

from percl.percl.commands.base import (
    Bool,
    Command,
    KeySequence,
    NonEmptyStr,
    PlayBeepValue,
    Str,
    Url,
    max_chars,
)

ALIAS_LIMIT = 64


class CreateConference(Command):
    """FreeClimb `CreateConference`: create an empty conference, POST `createConference`."""

    NAME: ClassVar[str] = "CreateConference"
    TERMINAL: ClassVar[bool] = True

    action_url: Url = Field(alias="actionUrl")
    alias: Annotated[str, PlainValidator(max_chars(ALIAS_LIMIT))] | None = None
    play_beep: PlayBeepValue | None = Field(default=None, alias="playBeep")
    record: Bool | None = None
    status_callback_url: Url | None = Field(default=None, alias="statusCallbackUrl")
    wait_url: Url | None = Field(default=None, alias="waitUrl")
    parent_call_id: Str | None = Field(default=None, alias="parentCallId")


class AddToConference(Command):
    """FreeClimb `AddToConference`: bridge the current leg (legacy: `call_id`) into a conference."""

    NAME: ClassVar[str] = "AddToConference"
    TERMINAL: ClassVar[bool] = True
    LEGACY: ClassVar[frozenset[str]] = frozenset({"callId"})

    conference_id: NonEmptyStr = Field(alias="conferenceId")
    start_conf_on_enter: Bool = Field(default=True, alias="startConfOnEnter")
    talk: Bool = True
    listen: Bool = True
    dtmf_pass_through: Bool = Field(default=True, alias="dtmfPassThrough")
    allow_call_control: Bool = Field(default=False, alias="allowCallControl")
    call_control_sequence: KeySequence | None = Field(default=None, alias="callControlSequence")
    call_control_url: Url | None = Field(default=None, alias="callControlUrl")
    leave_conference_url: Url | None = Field(default=None, alias="leaveConferenceUrl")
    notification_url: Url | None = Field(default=None, alias="notificationUrl")
    call_id: Str | None = Field(default=None, alias="callId")


class RemoveFromConference(Command):
    """FreeClimb `RemoveFromConference`: unbridge the current leg (legacy: `call_id`)."""

    NAME: ClassVar[str] = "RemoveFromConference"
    LEGACY: ClassVar[frozenset[str]] = frozenset({"callId"})

    call_id: Str | None = Field(default=None, alias="callId")


class TerminateConference(Command):
    """FreeClimb `TerminateConference`: end the leg's conference, hanging up every participant."""

    NAME: ClassVar[str] = "TerminateConference"
    TERMINAL: ClassVar[bool] = True
    LEGACY: ClassVar[frozenset[str]] = frozenset({"conferenceId"})

    conference_id: Str | None = Field(default=None, alias="conferenceId")


class SetListen(Command):
    """FreeClimb `SetListen`: grant or revoke the participant's listen privilege."""

    NAME: ClassVar[str] = "SetListen"
    LEGACY: ClassVar[frozenset[str]] = frozenset({"callId"})

    listen: Bool | None = None
    call_id: Str | None = Field(default=None, alias="callId")


class SetTalk(Command):
    """FreeClimb `SetTalk`: grant or revoke the participant's talk privilege (mute)."""

    NAME: ClassVar[str] = "SetTalk"
    LEGACY: ClassVar[frozenset[str]] = frozenset({"callId"})

    talk: Bool | None = None
    call_id: Str | None = Field(default=None, alias="callId")


class SetDTMFPassThrough(Command):
    """FreeClimb `SetDTMFPassThrough`: pass the participant's DTMF to the others, or not."""

    NAME: ClassVar[str] = "SetDTMFPassThrough"

    dtmf_pass_through: Bool | None = Field(default=None, alias="dtmfPassThrough")
