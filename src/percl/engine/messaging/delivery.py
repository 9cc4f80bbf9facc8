"""The carrier: how an accepted message travels, and how a message arrives at an owned number.

An outbound message (REST or `Sms`) is stored `queued` when it is accepted. The carrier then moves
it, one stored revision per step, as a carrier would:

    queued -> sending -> sent          the far end got it (a virtual phone, or an owned number,
                                       where it arrives as a new inbound message)
                      -> undelivered   the far end cannot take it (unreachable, or an owned number
                                       that is not SMS-enabled)
                      -> failed        percl could not send it (the sending number was released or
                                       lost SMS between acceptance and sending)

`sending` comes at once, the final status `delay_s` (the carrier's latency) later. Each change is
stored first and then, when the message has a notificationUrl, reported with a `messageStatus`
webhook (PerCL ignored), in order: `sending`, then the final one. `queued` is the state the 202
answer already shows, so it is not a change worth a webhook.

An inbound message (from a virtual phone, or from another owned number) is stored `received` on
the receiving number's account and then POSTed as `messageDelivery` to its application's smsUrl;
the dispatcher falls back once to smsFallbackUrl on timeout, transport error or HTTP >= 400.
"""

from __future__ import annotations

from percl.domain import payloads as p
from percl.domain.enums import LogLevel, MessageDirection, MessageStatus, RequestType
from percl.domain.ids import MESSAGE, REQUEST
from percl.domain.payloads import wire_fields
from percl.domain.records import Account, IncomingNumber, Message, revised
from percl.engine.context import EngineContext
from percl.engine.messaging.rules import check_sender, segment_count
from percl.engine.ports import WebhookRequest

FINAL = frozenset({MessageStatus.SENT, MessageStatus.UNDELIVERED, MessageStatus.FAILED})


def message_uri(message: Message) -> str:
    """The message's REST path, relative to /apiserver."""
    return f"/Accounts/{message.account_id}/Messages/{message.message_id}"


def inbound_message(
    ctx: EngineContext,
    receiver: IncomingNumber,
    from_: str,
    text: str,
    media_urls: tuple[str, ...],
    request_id: str | None,
) -> Message:
    """A new `received` message to `receiver`, on the receiving number's account (not stored)."""
    now = ctx.clock.now()
    return Message(
        message_id=ctx.ids.new(MESSAGE),
        account_id=receiver.account_id,
        from_=from_,
        to=receiver.phone_number,
        text=text,
        direction=MessageDirection.INBOUND,
        status=MessageStatus.RECEIVED,
        application_id=receiver.application_id,
        phone_number_id=receiver.phone_number_id,
        segment_count=segment_count(text, media_urls),
        media_urls=media_urls,
        request_id=request_id or ctx.ids.new(REQUEST),
        date_created=now,
        date_updated=now,
    )


class Carrier:
    """Moves outbound messages through their statuses and delivers inbound ones.

    `in_flight` holds every outbound message not yet final, by id, as last stored (the service
    fails what is left of it when percl stops).
    """

    def __init__(self, ctx: EngineContext, delay_s: float) -> None:
        self._ctx = ctx
        self._delay_s = delay_s
        self.in_flight: dict[str, Message] = {}

    async def carry(self, message: Message, account: Account) -> Message:
        """Take a stored `queued` message to its final status; returns the final record.
        A message to an owned number arrives there (stored, then messageDelivery) afterwards."""
        self.in_flight[message.message_id] = message
        message = await self.change(message, account, MessageStatus.SENDING)
        await self._ctx.clock.sleep(self._delay_s)
        status, arrival = await self._hand_over(message)
        if arrival is not None:
            await self._ctx.store.put_message(arrival)
        message = await self.change(message, account, status)
        if arrival is not None:
            await self.deliver(arrival)
        return message

    async def change(self, message: Message, account: Account, status: MessageStatus) -> Message:
        """Store `message` with `status` as a new revision, then report it to its
        notificationUrl (if any). Returns the stored record."""
        message = revised(message, self._ctx.clock.now(), status=status)
        await self._ctx.store.put_message(message)
        if status in FINAL:
            self.in_flight.pop(message.message_id, None)
        else:
            self.in_flight[message.message_id] = message
        if message.notification_url:
            await self._ctx.webhooks.send(WebhookRequest(
                request_type=RequestType.MESSAGE_STATUS,
                url=message.notification_url,
                account=account,
                call=None,
                fields=wire_fields(status_payload(message)),
                request_id=message.request_id,
            ))
        return message

    async def _hand_over(self, message: Message) -> tuple[MessageStatus, Message | None]:
        """Where the message goes: its final status, and the inbound copy an owned number gets."""
        store = self._ctx.store
        refusal = check_sender(await store.find_number(message.from_), message.account_id,
                               message.from_)
        if refusal is not None:
            await self._log(message, LogLevel.ERROR, f"failed: {refusal.message}")
            return MessageStatus.FAILED, None
        receiver = await store.find_number(message.to)
        if receiver is None:
            if self._ctx.telephony.is_reachable(message.to):
                await self._log(message, LogLevel.INFO, "sent")
                return MessageStatus.SENT, None
            await self._log(message, LogLevel.WARNING,
                            f"undelivered: {message.to} is not reachable on this network")
            return MessageStatus.UNDELIVERED, None
        if not receiver.sms_enabled:
            await self._log(message, LogLevel.WARNING,
                            f"undelivered: {message.to} is not SMS-enabled")
            return MessageStatus.UNDELIVERED, None
        # Within one account the request id keeps correlating the log; across accounts it must not.
        same = receiver.account_id == message.account_id
        arrival = inbound_message(self._ctx, receiver, message.from_, message.text,
                                  message.media_urls, message.request_id if same else None)
        await self._log(message, LogLevel.INFO, f"sent; arrived as {arrival.message_id}")
        return MessageStatus.SENT, arrival

    async def deliver(self, arrival: Message) -> None:
        """POST a stored inbound message to its number's application (smsUrl, then once
        smsFallbackUrl). A number without application or smsUrl gets an error log instead."""
        store = self._ctx.store
        account = await store.get_account(arrival.account_id)
        if account is None:  # the number's account is gone: nobody to tell
            return
        app = await store.get_application(arrival.application_id) if arrival.application_id else None
        if app is None:
            await self._log(arrival, LogLevel.ERROR,
                            f"received, but {arrival.to} has no application to deliver it to")
            return
        if not app.sms_url:
            await self._log(arrival, LogLevel.ERROR,
                            f"received, but application {app.application_id} of {arrival.to} "
                            "has no smsUrl to deliver it to")
            return
        await self._ctx.webhooks.send(WebhookRequest(
            request_type=RequestType.MESSAGE_DELIVERY,
            url=app.sms_url,
            account=account,
            call=None,
            fields=wire_fields(delivery_payload(arrival)),
            fallback_url=app.sms_fallback_url,
            request_id=arrival.request_id,
        ))

    async def _log(self, message: Message, level: LogLevel, what: str) -> None:
        await self._ctx.logs.log(
            level, message.account_id, f"Message {message.message_id} to {message.to} {what}",
            call_id=message.call_id, request_id=message.request_id,
            metadata={"messageId": message.message_id, "from": message.from_, "to": message.to},
        )


def status_payload(message: Message) -> p.MessageStatus:
    """The `messageStatus` webhook of `message` (direction is derived: outbound)."""
    return p.MessageStatus(
        message_id=message.message_id,
        call_id=message.call_id,
        from_=message.from_,
        to=message.to,
        text=message.text,
        application_id=message.application_id,
        phone_number_id=message.phone_number_id,
        status=message.status,
    )


def delivery_payload(message: Message) -> p.MessageDelivery:
    """The `messageDelivery` webhook (direction inbound and status received are derived)."""
    return p.MessageDelivery(
        message_id=message.message_id,
        from_=message.from_,
        to=message.to,
        text=message.text,
        application_id=message.application_id,
        phone_number_id=message.phone_number_id,
        uri=message_uri(message),
    )
