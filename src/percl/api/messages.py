"""/Accounts/{accountId}/Messages: send an SMS/MMS (202), list (filters, pages), get.

The API checks the request's shape (JSON types); the messaging service applies FreeClimb's rules
(E.164 numbers, code 9; an owned, SMS-enabled `from`, codes 46 and 10; text at most 160 ASCII
characters; mediaUrls) and raises the error bodies itself. The 202 answer shows the message
`queued`; it travels afterwards (see engine.messaging.delivery).

List filters: `to`, `from` (exact), `direction`, and `beginTime`/`endTime` in GMT, written
`YYYY-MM-DD hh:mm:ss`, `YYYY-MM-DD hh:mm` or `YYYY-MM-DD`; both bounds are inclusive at the
precision given (`endTime=2026-01-01` keeps the whole day).

Campaigns: an outbound message belongs to the campaign the registry (PERCL_CAMPAIGNS_FILE) ties
its `from` number to, looked up when the message is read (percl records no campaign at send
time); an inbound message to none. That gives `brandId`, `campaignId` (10DLC) and `tfn` in the
result, and the `campaignId` (10DLC or toll-free), `brandId` and `is10DLC=true` filters
(`is10DLC=false` does not filter).
"""

from __future__ import annotations

import calendar
import dataclasses
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import Field, StrictStr

from percl.api.auth import PathAccount
from percl.api.campaign_registry import CampaignRegistry, NumberCampaign
from percl.api.deps import deps_of, request_id_of
from percl.api.fields import HttpUrl, WireModel
from percl.api.owned import of_account
from percl.api.pagination import SortKey, matched_count, open_page, page_envelope, paginate
from percl.api.render import envelope
from percl.domain.enums import MessageDirection
from percl.domain.records import Account, Message
from percl.engine.messaging.delivery import message_uri
from percl.engine.ports import MessageFilter, Store
from percl.engine.service import MessageControl, SendMessageRequest
from percl.errors import ApiError, BadRequest

router = APIRouter()

# (format, length of the period it names in seconds): the end bound covers the whole period.
_TIME_FORMATS = (("%Y-%m-%d %H:%M:%S", 1), ("%Y-%m-%d %H:%M", 60), ("%Y-%m-%d", 86_400))


class MessageBody(WireModel):
    """FreeClimb's MessageRequest, shape only (numbers and text are the service's to judge)."""

    from_: StrictStr = Field(alias="from")
    to: StrictStr
    text: StrictStr
    notification_url: HttpUrl | None = Field(default=None, alias="notificationUrl")
    media_urls: list[StrictStr] | None = Field(default=None, alias="mediaUrls")


def message_campaign(registry: CampaignRegistry, message: Message) -> NumberCampaign | None:
    """The campaign `message` was sent under: its `from` number's, for outbound messages."""
    if message.direction is MessageDirection.INBOUND:
        return None
    return registry.campaign_of(message.from_)


def render_message(message: Message, campaign: NumberCampaign | None = None) -> dict[str, Any]:
    """MessageResult: every documented field, null when percl has no value for it."""
    ten_dlc = campaign if campaign is not None and not campaign.toll_free else None
    return {
        **envelope(message_uri(message), message.date_created, message.date_updated,
                   message.revision),
        "accountId": message.account_id,
        "messageId": message.message_id,
        "status": message.status.value,
        "from": message.from_,
        "to": message.to,
        "text": message.text,
        "direction": message.direction.value,
        "notificationUrl": message.notification_url,
        "brandId": ten_dlc.brand_id if ten_dlc else None,
        "campaignId": ten_dlc.campaign_id if ten_dlc else None,
        "segmentCount": message.segment_count,
        "mediaUrls": list(message.media_urls),
        "tfn": {"campaignId": campaign.campaign_id} if campaign and campaign.toll_free else None,
        "phoneNumberId": message.phone_number_id,
        "applicationId": message.application_id,
    }


async def owned_message(store: Store, account: Account, message_id: str) -> Message:
    """The account's message `message_id`. Raises NotFound for unknown or foreign ids."""
    return of_account(await store.get_message(message_id), account, f"Message {message_id}")


def message_renderer(registry: CampaignRegistry | None) -> Callable[[Message], dict[str, Any]]:
    """render_message with each message's campaign from `registry`."""
    found = registry or CampaignRegistry.empty()
    return lambda message: render_message(message, message_campaign(found, message))


@dataclasses.dataclass(frozen=True)
class CampaignMessageFilter:
    """The campaign filters of GET /Messages (see the module docstring)."""

    campaign_id: str | None = None
    brand_id: str | None = None
    is_10dlc: bool | None = None

    def keeps(self, campaign: NumberCampaign | None) -> bool:
        if self.campaign_id is not None and (campaign is None or campaign.campaign_id != self.campaign_id):
            return False
        if self.brand_id is not None and (campaign is None or campaign.brand_id != self.brand_id):
            return False
        return not (self.is_10dlc is True and (campaign is None or campaign.toll_free))

    @property
    def active(self) -> bool:
        return self.campaign_id is not None or self.brand_id is not None or self.is_10dlc is True


def _service(request: Request) -> MessageControl:
    service = deps_of(request).messages
    if service is None:
        raise ApiError("Messaging is not available on this server", status=503, code=55)
    return service


@router.post("/Accounts/{account_id}/Messages", status_code=202)
async def send_message(request: Request, account: PathAccount, body: MessageBody) -> dict[str, Any]:
    """send-an-sms-message: 202 MessageResult (status `queued`)."""
    message = await _service(request).send_message(
        account,
        SendMessageRequest(
            from_=body.from_,
            to=body.to,
            text=body.text,
            notification_url=body.notification_url,
            media_urls=tuple(body.media_urls or ()),
            request_id=request_id_of(request),
        ),
    )
    return message_renderer(deps_of(request).campaigns)(message)


def filter_time(value: str, field: str, *, end: bool) -> float:
    """Epoch seconds of a GMT list bound; an end bound is the last instant of the period named.

    Raises BadRequest (400, code 3) naming `field` when no accepted format matches."""
    for fmt, period in _TIME_FORMATS:
        try:
            start = float(calendar.timegm(time.strptime(value.strip(), fmt)))
        except ValueError:
            continue
        return start + period - 1e-6 if end else start
    raise BadRequest(
        f"{field} must be a GMT time written YYYY-MM-DD hh:mm:ss (or YYYY-MM-DD hh:mm, or "
        f"YYYY-MM-DD), got {value!r}",
        details={"field": field},
    )


@router.get("/Accounts/{account_id}/Messages")
async def list_messages(
    request: Request,
    account: PathAccount,
    to: str | None = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    begin_time: Annotated[str | None, Query(alias="beginTime")] = None,
    end_time: Annotated[str | None, Query(alias="endTime")] = None,
    direction: MessageDirection | None = None,
    campaign_id: Annotated[str | None, Query(alias="campaignId")] = None,
    brand_id: Annotated[str | None, Query(alias="brandId")] = None,
    is_10dlc: Annotated[bool | None, Query(alias="is10DLC")] = None,
) -> dict[str, Any]:
    """list-sms-messages: 200 MessagesList, newest first."""
    deps = deps_of(request)
    flt = MessageFilter(
        to=to,
        from_=from_,
        begin=filter_time(begin_time, "beginTime", end=False) if begin_time else None,
        end=filter_time(end_time, "endTime", end=True) if end_time else None,
        direction=direction,
    )
    render = message_renderer(deps.campaigns)
    by_campaign = CampaignMessageFilter(campaign_id, brand_id, is_10dlc)
    if by_campaign.active:
        # A message's campaign is its number's in the registry now (read time), so these
        # filters run here, over the rows the store's own filters kept.
        registry = deps.campaigns or CampaignRegistry.empty()
        kept = [m for m in await deps.store.list_messages(account.account_id, flt)
                if by_campaign.keeps(message_campaign(registry, m))]
        return paginate(request, kept, "messages", render, page_size=deps.page_size,
                        max_list=deps.max_list, sort_key=_message_key, descending=True)
    page = open_page(request, page_size=deps.page_size, max_list=deps.max_list)
    # Paged in the store like GET /Calls: the page's rows and one more; one count per walk.
    store, acc = deps.store, account.account_id
    found = await store.list_messages(acc, flt, before=_position(page.after), limit=page.limit + 1)
    more = len(found) > page.limit
    matched = await matched_count(page, len(found), more,
                                  lambda: store.count_messages(acc, flt, cap=deps.max_list))
    return page_envelope(request, page, matched, found, more, "messages", render, _message_key)


def _message_key(message: Message) -> SortKey:
    """A message's place in the list (newest first: both descending)."""
    return (message.date_created, message.message_id)


def _position(after: SortKey | None) -> tuple[float, str] | None:
    """The store's keyset position from a (verified) cursor's sort key."""
    if after is None:
        return None
    created, message_id = after
    return float(created), str(message_id)


@router.get("/Accounts/{account_id}/Messages/{message_id}")
async def get_message(request: Request, account: PathAccount, message_id: str) -> dict[str, Any]:
    """get-an-sms-message: 200 MessageResult."""
    deps = deps_of(request)
    return message_renderer(deps.campaigns)(await owned_message(deps.store, account, message_id))
