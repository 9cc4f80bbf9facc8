"""What the REST API asks of the engine for live calls. Implemented by `engine.calls.CallService`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from percl.domain.enums import PlayBeep
from percl.domain.records import Account, Call, Conference, Message, Participant, Queue
from percl.engine.queue.state import MemberView


@dataclass(frozen=True, slots=True)
class MakeCallRequest:
    """POST /Calls after shape validation (types checked, E.164 checked by the API layer)."""

    from_: str
    to: str
    application_id: str | None = None
    call_connect_url: str | None = None
    parent_call_id: str | None = None
    send_digits: str | None = None
    if_machine: str | None = None  # "redirect" | "hangup"
    if_machine_url: str | None = None
    timeout: int | None = None  # seconds; None = default 30
    privacy_mode: bool | None = None
    request_id: str | None = None


class CallControl(Protocol):
    async def make_call(self, account: Account, request: MakeCallRequest) -> Call:
        """Create an outboundAPI leg (status `queued`) and start dialing it.

        Raises ApiError subclasses for semantic errors: unknown application (404), no
        callConnectUrl anywhere (400, code 80), parent not live (404 / 400)."""
        ...

    async def update_call(self, account: Account, call_id: str, status: str) -> None:
        """`canceled` or `completed` a live call. Raises NotFound when unknown or finished."""
        ...


@dataclass(frozen=True, slots=True)
class SendMessageRequest:
    """POST /Messages after shape validation (types checked by the API layer)."""

    from_: str
    to: str
    text: str
    notification_url: str | None = None
    media_urls: tuple[str, ...] = ()
    request_id: str | None = None


class MessageControl(Protocol):
    """What the REST API asks of the messaging service (engine.messaging.MessagingService)."""

    async def send_message(self, account: Account, request: SendMessageRequest) -> Message:
        """Store the message as `queued` and start carrying it; returns the stored record.

        Raises BadRequest with FreeClimb's code naming the field: 9 (a number is not E.164),
        3 (text empty, too long or not valid Unicode; bad mediaUrls), 46 (`from` not a number of the
        account), 10 (`from` not SMS-enabled)."""
        ...


class QueueControl(Protocol):
    """What the REST API asks of the queues. Implemented by `engine.queues.QueueService`."""

    async def create_queue(self, account: Account, alias: str | None, max_size: int | None) -> Queue:
        """A new empty queue of `account` (maxSize None: the default 100)."""
        ...

    async def update_queue(self, account: Account, queue_id: str, changes: Mapping[str, Any]) -> Queue:
        """Apply `changes` (record attribute -> value: alias, max_size). Raises NotFound."""
        ...

    async def dequeue(self, account: Account, queue_id: str, call_id: str | None) -> MemberView:
        """Release the head member (call_id None) or `call_id` to its Enqueue actionUrl; returns
        the member as it was. Raises NotFound (unknown queue, empty, not waiting there)."""
        ...


@dataclass(frozen=True, slots=True)
class NewConference:
    """POST /Conferences after shape validation."""

    status_callback_url: str
    alias: str | None = None
    play_beep: PlayBeep = PlayBeep.ALWAYS
    record: bool = False
    wait_url: str | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class ConferenceUpdate:
    """POST /Conferences/{id}: only the fields given change (None: unchanged)."""

    alias: str | None = None
    play_beep: PlayBeep | None = None
    status: str | None = None  # "empty" | "terminated"


@dataclass(frozen=True, slots=True)
class ParticipantUpdate:
    """POST /Conferences/{id}/Participants/{callId}: privileges to change (None: unchanged)."""

    talk: bool | None = None
    listen: bool | None = None
    dtmf_pass_through: bool | None = None


class ConferenceControl(Protocol):
    """What the REST API asks of the conference engine (`engine.conference.ConferenceService`).
    Reads (get, list) go to the store."""

    async def create_conference(self, account: Account, request: NewConference) -> Conference:
        """Create an empty conference; its statusCallbackUrl hears createConference (empty)."""
        ...

    async def update_conference(
        self, account: Account, conference_id: str, update: ConferenceUpdate
    ) -> None:
        """Change alias/playBeep; status `terminated` hangs every participant up, `empty`
        removes them all. Raises NotFound (unknown, foreign or terminated conference)."""
        ...

    async def update_participant(
        self, account: Account, conference_id: str, call_id: str, update: ParticipantUpdate
    ) -> Participant:
        """Change a participant's privileges; returns the new record. Raises NotFound."""
        ...

    async def remove_participant(self, account: Account, conference_id: str, call_id: str) -> None:
        """Unbridge the participant: its leg goes on with its leaveConferenceUrl, or is hung up
        (removedFromConference) without one. Raises NotFound."""
        ...
