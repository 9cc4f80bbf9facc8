"""Call-control commands: Hangup, Reject, Redirect, SendDigits, OutDial."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, PlainValidator, model_validator

from percl.percl.commands.base import (
    E164,
    IF_MACHINE,
    Bool,
    Command,
    Destination,
    NonNegInt,
    Str,
    Url,
    at_least,
    dtmf_string,
    field_fail,
    one_of,
)


class Hangup(Command):
    """FreeClimb `Hangup`: end the call; `reason` is free text for the app's own bookkeeping."""

    NAME: ClassVar[str] = "Hangup"
    TERMINAL: ClassVar[bool] = True

    reason: Str | None = None


class Reject(Command):
    """FreeClimb `Reject`: refuse an inbound call unanswered (first voiceUrl command only)."""

    NAME: ClassVar[str] = "Reject"
    TERMINAL: ClassVar[bool] = True

    reason: Str | None = None


class Redirect(Command):
    """FreeClimb `Redirect`: fetch the rest of the call's PerCL from `action_url` (`redirect`)."""

    NAME: ClassVar[str] = "Redirect"
    TERMINAL: ClassVar[bool] = True

    action_url: Url = Field(alias="actionUrl")


class SendDigits(Command):
    """FreeClimb `SendDigits`: play DTMF `digits` (0-9 * #, `{n}` = n pause units) on the call."""

    NAME: ClassVar[str] = "SendDigits"

    digits: Annotated[str, PlainValidator(dtmf_string(allow_empty=False))]
    pause_ms: NonNegInt | None = Field(default=None, alias="pauseMs")
    privacy_mode: Bool | None = Field(default=None, alias="privacyMode")


class OutDial(Command):
    """FreeClimb `OutDial`: dial `destination` as a child leg; terminal but non-blocking."""

    NAME: ClassVar[str] = "OutDial"
    TERMINAL: ClassVar[bool] = True

    destination: Destination
    calling_number: E164 = Field(alias="callingNumber")
    action_url: Url = Field(alias="actionUrl")
    call_connect_url: Url = Field(alias="callConnectUrl")
    timeout: Annotated[int, PlainValidator(at_least(1))] | None = None
    if_machine: Annotated[str, PlainValidator(one_of(IF_MACHINE))] | None = Field(
        default=None, alias="ifMachine"
    )
    if_machine_url: Url | None = Field(default=None, alias="ifMachineUrl")
    send_digits: Annotated[str, PlainValidator(dtmf_string(allow_empty=True))] | None = Field(
        default=None, alias="sendDigits"
    )
    status_callback_url: Url | None = Field(default=None, alias="statusCallbackUrl")
    privacy_mode: Bool | None = Field(default=None, alias="privacyMode")

    @model_validator(mode="after")
    def _machine_url_iff_redirect(self) -> OutDial:
        # The spec: ifMachineUrl "is required if ifMachine is redirect; otherwise it should not
        # be included". An unused URL is almost always a mistake, so both halves are enforced.
        if self.if_machine == "redirect" and self.if_machine_url is None:
            raise field_fail("ifMachineUrl", "required attribute missing (ifMachine is redirect)")
        if self.if_machine != "redirect" and self.if_machine_url is not None:
            raise field_fail("ifMachineUrl", "only allowed when ifMachine is redirect")
        return self
