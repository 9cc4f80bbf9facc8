"""A conference's notifications, sent one after another in the order the changes happened.

Why an outbox instead of awaiting each webhook where the change happens: the changes of one
conference come from many tasks (each participant's session, REST requests), and an app may call
the REST API from inside a webhook (the official samples terminate the conference from their
leaveConference handler). Awaiting webhooks while holding the room's lock would deadlock on such a
call; awaiting them without the lock would let two changes' webhooks overtake each other. So every
change is stored first, then queued here with a snapshot of the call it concerns, and one task per
conference posts the queue in order. The PerCL of these notifications is ignored.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from percl.domain import payloads as p
from percl.domain.enums import LogLevel, RequestType
from percl.domain.payloads import wire_fields
from percl.domain.records import Account, Call
from percl.engine.ports import LogSink, WebhookRequest, WebhookSender


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification: `call` is the leg it is about, as it was then (None: no leg, e.g. a
    conference created or terminated over REST)."""

    url: str
    call: Call | None
    payload: p.Payload
    request_id: str | None = None

    @property
    def request_type(self) -> RequestType:
        return self.payload.REQUEST_TYPE


class Outbox:
    """Queue notices with `put`; `run()` (one task) posts them in order until `close()`."""

    def __init__(self, account: Account, webhooks: WebhookSender, logs: LogSink) -> None:
        self._account = account
        self._webhooks = webhooks
        self._logs = logs
        self._queue: asyncio.Queue[Notice | None] = asyncio.Queue()
        self.closed = False

    def put(self, notice: Notice) -> None:
        """Queue `notice` (ignored once the outbox is closed)."""
        if not self.closed:
            self._queue.put_nowait(notice)

    def close(self) -> None:
        """No more notices: `run` returns once the queued ones are sent."""
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(None)

    async def run(self) -> None:
        """Post every queued notice in order until closed. Never raises for what an app does."""
        while (notice := await self._queue.get()) is not None:
            await self._send(notice)

    async def _send(self, notice: Notice) -> None:
        request = WebhookRequest(
            request_type=notice.request_type, url=notice.url, account=self._account,
            call=notice.call, fields=wire_fields(notice.payload),
            privacy_mode=notice.call.privacy_mode if notice.call else False,
            request_id=notice.request_id or (notice.call.request_id if notice.call else None),
        )
        try:
            await self._webhooks.send(request)
        except Exception as exc:  # an engine bug building the body must not stop the queue
            await self._logs.log(
                LogLevel.ERROR, self._account.account_id,
                f"Internal error sending {notice.request_type.value} to {notice.url}: {exc!r}",
                call_id=notice.call.call_id if notice.call else None,
            )
