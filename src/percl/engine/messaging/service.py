"""MessagingService: SMS/MMS from its three doors -- the REST API, the `Sms` PerCL command and a
virtual phone of the simulated network -- handed to the Carrier (messaging/delivery.py).

Why the service owns a TaskGroup: a message outlives what sent it. `Sms` is fire-and-forget (its
runner returns Proceed at once, and the leg may hang up the next moment) and POST /Messages
answers 202 before anything travels, so carrying a message is a task of the service, never of
the call session or the request. Leaving `async with` cancels what is still travelling and
stores those messages as `failed` (percl stopped before it could send them).

`Sms` refusals never end the call: the command is fire-and-forget, so a `from` that is not an
SMS-enabled number of the account, or a text that is empty, longer than 160 characters or not
valid Unicode, is an error log entry naming `Sms.<field>`, and the script goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from percl.domain.enums import LogLevel, MessageDirection, MessageStatus
from percl.domain.ids import MESSAGE, REQUEST
from percl.domain.records import Account, IncomingNumber, Message, revised
from percl.engine.context import EngineContext
from percl.engine.messaging.delivery import Carrier, inbound_message
from percl.engine.messaging.rules import (
    CODE_NOT_SMS_ENABLED,
    Refusal,
    check_media,
    check_numbers,
    check_phone_text,
    check_sender,
    check_text,
    segment_count,
)
from percl.engine.service import SendMessageRequest
from percl.errors import BadRequest, NotFound
from percl.percl.commands import Command, Sms
from percl.percl.events import Outcome, Proceed
from percl.runtime.tasks import OwnedTaskGroup, TaskOwner

if TYPE_CHECKING:
    from percl.engine.runners import Leg


@dataclass(frozen=True, slots=True)
class MessagingSettings:
    """How the simulated carrier behaves (see docs/DECISIONS.md)."""

    carrier_delay_ms: int = 1000  # from `sending` to the final status
    # FreeClimb's carriers refuse SMS from a number with no 10DLC or toll-free campaign; locally
    # that is allowed unless asked for (PERCL_SMS_REQUIRE_CAMPAIGN).
    campaign_required: bool = False


class MessagingService(TaskOwner):
    """The engine's front door for messages. Use as `async with MessagingService(ctx):`.

    Constructing it registers the `Sms` runner in `ctx.runners`.
    """

    def __init__(self, ctx: EngineContext, settings: MessagingSettings | None = None, *,
                 has_campaign: Callable[[str], bool] = lambda _number: False) -> None:
        """`has_campaign(number)` says whether an incoming number sends under a campaign (the
        registry of PERCL_CAMPAIGNS_FILE); asked only when `settings.campaign_required`."""
        self._has_campaign = has_campaign
        self.ctx = ctx
        self.settings = settings or MessagingSettings()
        self.carrier = Carrier(ctx, self.settings.carrier_delay_ms / 1000)
        self._group = OwnedTaskGroup("MessagingService")
        ctx.runners.register("Sms", self.run_sms)

    async def _close(self, exc: BaseException | None) -> None:
        """Leaving `async with`: cancel every message still travelling, then store each as `failed`."""
        await self._group.close()  # every task is guarded (`_guarded`)
        await self._fail_in_flight()

    async def recover(self) -> int:
        """Store as `failed` (no webhook, an error logged) every message a previous process left
        `queued` or `sending` (it crashed while carrying them); call at start-up, before serving.
        Returns how many. Raises whatever the store raises."""
        unsent = await self.ctx.store.unsent_messages()
        for message in unsent:
            await self._store_failed(message, "percl stopped before sending it (found at start-up)")
        return len(unsent)

    # ---------------------------------------------------------------- REST: send a message

    async def send_message(self, account: Account, request: SendMessageRequest) -> Message:
        """Store the message `queued`, start carrying it, return the stored record.

        Raises BadRequest with FreeClimb's code and the field (see service.MessageControl)."""
        refusal = (check_numbers(request.from_, request.to)
                   or check_text(request.text, request.media_urls)
                   or check_media(request.media_urls))
        sender = refusal or await self._sender(account.account_id, request.from_)
        if isinstance(sender, Refusal):
            raise _bad_request(sender)
        message = self._outbound(account, sender, request, call_id=None)
        await self.ctx.store.put_message(message)
        self._spawn(self._carry(message, account))
        return message

    # ---------------------------------------------------------------- PerCL: Sms

    async def run_sms(self, session: Leg, command: Command) -> Outcome:
        """The `Sms` runner: queue the message and go on at once (see the module docstring)."""
        if not isinstance(command, Sms):
            raise TypeError(f"the Sms runner got {command.NAME}")
        account = session.account
        refusal = check_numbers(command.from_, command.to) or check_text(command.text)
        sender = refusal or await self._sender(account.account_id, command.from_)
        if not isinstance(sender, Refusal) and not self._group.running:
            sender = Refusal(0, "from", "percl's messaging service is stopped")
        if isinstance(sender, Refusal):
            await session.log(
                LogLevel.ERROR,
                f"Sms.{sender.field}: {sender.message}; the message was not sent and the "
                "call goes on",
                {"command": "Sms", "field": sender.field, "code": sender.code},
            )
            return Proceed()
        request = SendMessageRequest(
            from_=command.from_, to=command.to, text=command.text,
            notification_url=command.notification_url, request_id=session.call.request_id,
        )
        message = self._outbound(account, sender, request, call_id=session.call.call_id)
        # Spawned before any await: the leg may hang up at the next one, the message goes anyway.
        self._spawn(self._carry(message, account, store_first=True))
        await session.log(LogLevel.INFO, f"Sms {message.message_id} to {message.to} queued",
                          {"command": "Sms", "messageId": message.message_id})
        return Proceed()

    # ---------------------------------------------------------------- sim: a phone texts

    async def receive_from_phone(
        self, from_: str, to: str, text: str, media_urls: Sequence[str] = ()
    ) -> Message:
        """A virtual phone `from_` texts the owned number `to`: store the message `received` on
        the number's account and deliver it to the number's application; returns the record.

        Raises BadRequest (code 9 bad number, 3 bad text or mediaUrls, 10 `to` not
        SMS-enabled) or NotFound when no account owns `to`."""
        media = tuple(media_urls)
        refusal = check_numbers(from_, to) or check_phone_text(text, media) or check_media(media)
        if refusal is not None:
            raise _bad_request(refusal)
        receiver = await self.ctx.store.find_number(to)
        if receiver is None:
            raise NotFound(f"{to} is not an incoming number of any account",
                           details={"field": "to"})
        if not receiver.sms_enabled:
            raise BadRequest(f"to {to} is not SMS-enabled", code=10, details={"field": "to"})
        arrival = inbound_message(self.ctx, receiver, from_, text, media, None)
        await self.ctx.store.put_message(arrival)
        self._spawn(self._guarded(self.carrier.deliver(arrival), arrival))
        return arrival

    # ---------------------------------------------------------------- internals

    async def _sender(self, account_id: str, from_: str) -> IncomingNumber | Refusal:
        """The account's SMS-enabled number `from_`, or why it cannot send."""
        number = await self.ctx.store.find_number(from_)
        refusal = check_sender(number, account_id, from_)
        if refusal is not None or number is None:
            return refusal or Refusal(46, "from", f"from {from_} is not a number of this account")
        if self.settings.campaign_required and not self._has_campaign(from_):
            return Refusal(CODE_NOT_SMS_ENABLED, "from",
                           f"from {from_} has no 10DLC or toll-free campaign, so carriers refuse "
                           "its messages (PERCL_SMS_REQUIRE_CAMPAIGN; campaigns come from "
                           "PERCL_CAMPAIGNS_FILE)")
        return number

    def _outbound(
        self, account: Account, number: IncomingNumber, request: SendMessageRequest,
        *, call_id: str | None,
    ) -> Message:
        now = self.ctx.clock.now()
        return Message(
            message_id=self.ctx.ids.new(MESSAGE),
            account_id=account.account_id,
            from_=request.from_,
            to=request.to,
            text=request.text,
            direction=MessageDirection.OUTBOUND,
            status=MessageStatus.QUEUED,
            notification_url=request.notification_url,
            application_id=number.application_id,
            phone_number_id=number.phone_number_id,
            call_id=call_id,
            segment_count=segment_count(request.text, request.media_urls),
            media_urls=request.media_urls,
            request_id=request.request_id or self.ctx.ids.new(REQUEST),
            date_created=now,
            date_updated=now,
        )

    async def _carry(self, message: Message, account: Account, *, store_first: bool = False) -> None:
        async def carry() -> None:
            if store_first:
                await self.ctx.store.put_message(message)
            await self.carrier.carry(message, account)

        await self._guarded(carry(), message)

    async def _guarded(self, work: Coroutine[Any, Any, Any], message: Message) -> None:
        """Run `work` for `message`; a bug fails an outbound message still travelling (stored
        `failed`, logged) and is logged for an inbound one, never touching other messages."""
        try:
            await work
        except Exception as exc:
            why = f"internal error carrying it: {exc!r}"
            if not await self._fail(message.message_id, why):
                await self._log_error(message, f"was not delivered: {why}")

    async def _fail(self, message_id: str, why: str) -> bool:
        """Store an outbound message still travelling as `failed` (no webhook) and log `why`.
        False when it is not travelling. Raises whatever the store raises."""
        message = self.carrier.in_flight.pop(message_id, None)
        if message is None:
            return False
        await self._store_failed(message, why)
        return True

    async def _store_failed(self, message: Message, why: str) -> None:
        """Store `message` as `failed` (no webhook) and log `why` as an error."""
        await self.ctx.store.put_message(
            revised(message, self.ctx.clock.now(), status=MessageStatus.FAILED))
        await self._log_error(message, f"failed: {why}")

    async def _log_error(self, message: Message, what: str) -> None:
        await self.ctx.logs.log(
            LogLevel.ERROR, message.account_id, f"Message {message.message_id} to {message.to} {what}",
            call_id=message.call_id, request_id=message.request_id,
            metadata={"messageId": message.message_id},
        )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._group.spawn(coro)

    async def _fail_in_flight(self) -> None:
        """Messages percl stopped carrying: stored `failed` (no webhook: percl is stopping)."""
        for message_id in list(self.carrier.in_flight):
            try:
                await self._fail(message_id, "percl stopped before sending it")
            except Exception:  # the store is closing or broken: nothing more to do
                return


def _bad_request(refusal: Refusal) -> BadRequest:
    return BadRequest(refusal.message, code=refusal.code, details={"field": refusal.field})

