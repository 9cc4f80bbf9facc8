"""Queue and hold commands: Enqueue, Dequeue, Park, Unpark (all terminal)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, PlainValidator

from percl.percl.commands.base import Command, Url, check_queue_id


class Enqueue(Command):
    """FreeClimb `Enqueue`: put the call in queue `queue_id` (created if missing)."""

    NAME: ClassVar[str] = "Enqueue"
    TERMINAL: ClassVar[bool] = True

    queue_id: Annotated[str, PlainValidator(check_queue_id)] = Field(alias="queueId")
    wait_url: Url = Field(alias="waitUrl")
    action_url: Url = Field(alias="actionUrl")
    notification_url: Url | None = Field(default=None, alias="notificationUrl")


class Dequeue(Command):
    """FreeClimb `Dequeue`: leave the queue (from a waitUrl script); resume at Enqueue actionUrl."""

    NAME: ClassVar[str] = "Dequeue"
    TERMINAL: ClassVar[bool] = True


class Park(Command):
    """FreeClimb `Park`: hold the call, looping `wait_url`; resumes at `action_url`."""

    NAME: ClassVar[str] = "Park"
    TERMINAL: ClassVar[bool] = True

    wait_url: Url = Field(alias="waitUrl")
    action_url: Url = Field(alias="actionUrl")
    notification_url: Url | None = Field(default=None, alias="notificationUrl")


class Unpark(Command):
    """FreeClimb `Unpark`: resume a parked call at its Park `action_url`."""

    NAME: ClassVar[str] = "Unpark"
    TERMINAL: ClassVar[bool] = True
