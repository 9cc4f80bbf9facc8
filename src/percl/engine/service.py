"""What the REST API asks of the engine for live calls. Implemented by `engine.calls.CallService`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from percl.domain.records import Account, Call


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
