"""Messaging commands: Sms."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from percl.percl.commands.base import E164, Command, Str, Url

SMS_TEXT_LIMIT = 160  # characters; longer text is accepted with a warning (see parse.py)


class Sms(Command):
    """FreeClimb `Sms`: send a text message during the call; fire-and-forget, non-terminal."""

    NAME: ClassVar[str] = "Sms"

    to: E164
    from_: E164 = Field(alias="from")
    text: Str
    notification_url: Url | None = Field(default=None, alias="notificationUrl")
