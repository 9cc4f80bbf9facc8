"""Phone numbers: GET /AvailablePhoneNumbers and /Accounts/{accountId}/IncomingPhoneNumbers.

Available numbers are the phone network's inventory minus every number any account owns; buying
one creates an IncomingNumber record, deleting it puts the number back on sale (nothing else to
do: availability is computed, never stored).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from percl.api.applications import owned_application
from percl.api.auth import CurrentAccount, PathAccount
from percl.api.campaign_registry import CampaignRegistry, NumberCampaign
from percl.api.deps import deps_of
from percl.api.fields import E164, Alias, ApplicationId, WireModel
from percl.api.number_filters import Filters, NumberFilter, capabilities
from percl.api.owned import of_account, revise, sent_fields
from percl.api.pagination import paginate
from percl.api.render import envelope
from percl.domain.ids import PHONE_NUMBER
from percl.domain.records import Account, IncomingNumber
from percl.engine.ports import AvailableNumber, Store
from percl.errors import BadRequest, Conflict

router = APIRouter()


def format_alias(phone_number: str) -> str:
    """A conventional rendering: `(312) 555-0100` for NANP numbers, else the E.164 itself."""
    if len(phone_number) == 12 and phone_number.startswith("+1"):
        d = phone_number[2:]
        return f"({d[:3]}) {d[3:6]}-{d[6:]}"
    return phone_number


def render_available(number: AvailableNumber) -> dict[str, Any]:
    """AvailableNumber."""
    return {
        "capabilities": capabilities(number),
        "campaignId": None,
        "phoneNumber": number.phone_number,
        "alias": format_alias(number.phone_number),
        "voiceEnabled": number.voice_enabled,
        "smsEnabled": number.sms_enabled,
        "region": number.region,
        "country": number.country,
    }


def render_incoming(number: IncomingNumber, campaign: NumberCampaign | None = None) -> dict[str, Any]:
    """IncomingNumberResult; `campaign` is the registry's campaign of the number (10DLC:
    `campaignId`, toll-free: `tfn.campaignId`)."""
    uri = f"/Accounts/{number.account_id}/IncomingPhoneNumbers/{number.phone_number_id}"
    return {
        **envelope(uri, number.date_created, number.date_updated, number.revision),
        "capabilities": capabilities(number),
        "campaignId": campaign.campaign_id if campaign and not campaign.toll_free else None,
        "phoneNumberId": number.phone_number_id,
        "accountId": number.account_id,
        "applicationId": number.application_id,
        "phoneNumber": number.phone_number,
        "alias": number.alias,
        "region": number.region,
        "country": number.country,
        "voiceEnabled": number.voice_enabled,
        "smsEnabled": number.sms_enabled,
        "offnet": False,
        "tfn": {"campaignId": campaign.campaign_id} if campaign and campaign.toll_free else None,
    }


def campaign_registry(request: Request) -> CampaignRegistry:
    """The campaign registry of the app serving `request` (empty when none was configured)."""
    return deps_of(request).campaigns or CampaignRegistry.empty()


def incoming_renderer(request: Request) -> Callable[[IncomingNumber], dict[str, Any]]:
    """render_incoming with each number's campaign from the registry."""
    registry = campaign_registry(request)
    return lambda number: render_incoming(number, registry.campaign_of(number.phone_number))


async def owned_numbers(store: Store) -> set[str]:
    """Every E.164 number some account owns."""
    owned: set[str] = set()
    for account in await store.list_accounts():
        owned.update(n.phone_number for n in await store.list_numbers(account.account_id))
    return owned


# --------------------------------------------------------------------------- available


@router.get("/AvailablePhoneNumbers")
async def list_available_numbers(
    request: Request, account: CurrentAccount, flt: Filters
) -> dict[str, Any]:
    """list-available-numbers: 200 AvailableNumberList (no account segment, still authenticated)."""
    deps = deps_of(request)
    test = flt.predicate()
    owned = await owned_numbers(deps.store)
    # Keyed by the position in the network's stable inventory, so a number bought meanwhile
    # shifts nothing on later pages.
    numbers = [
        (i, n)
        for i, n in enumerate(deps.inventory.available_numbers())
        if n.phone_number not in owned and test(n)
    ]
    return paginate(
        request,
        numbers,
        "availablePhoneNumbers",
        lambda slot: render_available(slot[1]),
        page_size=deps.page_size,
        max_list=deps.max_list,
        sort_key=lambda slot: (slot[0],),
    )


# --------------------------------------------------------------------------- incoming


class BuyIncomingNumberRequest(WireModel):
    """FreeClimb's BuyIncomingNumberRequest."""

    phone_number: E164 = Field(alias="phoneNumber")
    alias: Alias | None = None
    application_id: ApplicationId | None = Field(default=None, alias="applicationId")


class IncomingNumberRequest(WireModel):
    """FreeClimb's IncomingNumberRequest; `campaignId` is accepted and ignored (a number's
    campaign comes from the registry file, PERCL_CAMPAIGNS_FILE)."""

    application_id: ApplicationId | None = Field(default=None, alias="applicationId")
    alias: Alias | None = None


async def owned_number(store: Store, account: Account, phone_number_id: str) -> IncomingNumber:
    """The account's number `phone_number_id`. Raises NotFound for unknown or foreign ids."""
    return of_account(await store.get_number(phone_number_id), account,
                      f"IncomingPhoneNumber {phone_number_id}")


@router.post("/Accounts/{account_id}/IncomingPhoneNumbers")
async def buy_number(
    request: Request, account: PathAccount, body: BuyIncomingNumberRequest
) -> dict[str, Any]:
    """buy-a-phone-number: 200 IncomingNumberResult.

    400 when the network cannot sell the number, 409 when an account already owns it, 404 when
    applicationId is not one of the account's applications.
    """
    deps = deps_of(request)
    entry = deps.inventory.lookup(body.phone_number)
    if entry is None:
        raise BadRequest(
            f"{body.phone_number} is not available for purchase; "
            "pick one from GET /AvailablePhoneNumbers",
            details={"field": "phoneNumber"},
        )
    if await deps.store.find_number(body.phone_number) is not None:
        raise Conflict(
            f"{body.phone_number} is already owned by an account", details={"field": "phoneNumber"}
        )
    if body.application_id is not None:
        await owned_application(deps.store, account, body.application_id)
    now = deps.clock.now()
    number = IncomingNumber(
        phone_number_id=deps.ids.new(PHONE_NUMBER),
        account_id=account.account_id,
        phone_number=entry.phone_number,
        application_id=body.application_id,
        alias=body.alias if body.alias is not None else format_alias(entry.phone_number),
        region=entry.region,
        country=entry.country,
        voice_enabled=entry.voice_enabled,
        sms_enabled=entry.sms_enabled,
        toll_free=entry.toll_free,
        date_created=now,
        date_updated=now,
    )
    await deps.store.put_number(number)
    return incoming_renderer(request)(number)


@dataclasses.dataclass(frozen=True)
class CampaignFilter:
    """`hasCampaign` (true: with a 10DLC or toll-free campaign, false: without) and
    `tfn.campaignId` (exactly that toll-free campaign), over the registry's numbers."""

    registry: CampaignRegistry
    has_campaign: bool | None = None
    tfn_campaign_id: str | None = None

    def keeps(self, number: IncomingNumber) -> bool:
        campaign = self.registry.campaign_of(number.phone_number)
        if self.has_campaign is not None and (campaign is not None) != self.has_campaign:
            return False
        if self.tfn_campaign_id is not None:
            return campaign is not None and campaign.toll_free and (
                campaign.campaign_id == self.tfn_campaign_id)
        return True


def _incoming_predicate(
    flt: NumberFilter, alias: str | None, application_id: str | None, has_application: bool,
    campaigns: CampaignFilter,
) -> Callable[[IncomingNumber], bool]:
    shared = flt.predicate()

    def test(number: IncomingNumber) -> bool:
        if not campaigns.keeps(number):
            return False
        if alias is not None and number.alias != alias:
            return False
        if application_id is not None and number.application_id != application_id:
            return False
        if has_application and number.application_id is None:
            return False
        return shared(number)

    return test


@router.get("/Accounts/{account_id}/IncomingPhoneNumbers")
async def list_incoming_numbers(
    request: Request,
    account: PathAccount,
    flt: Filters,
    alias: str | None = None,
    application_id: Annotated[str | None, Query(alias="applicationId")] = None,
    has_application: Annotated[bool, Query(alias="hasApplication")] = False,
    has_campaign: Annotated[bool | None, Query(alias="hasCampaign")] = None,
    tfn_campaign_id: Annotated[str | None, Query(alias="tfn.campaignId")] = None,
) -> dict[str, Any]:
    """list-incoming-numbers: 200 IncomingNumberList. `hasApplication=true` keeps only numbers
    linked to an application; false (the default) does not filter. `hasCampaign` and
    `tfn.campaignId` filter on the registry's campaigns (CampaignFilter)."""
    deps = deps_of(request)
    campaigns = CampaignFilter(campaign_registry(request), has_campaign, tfn_campaign_id)
    test = _incoming_predicate(flt, alias, application_id, has_application, campaigns)
    numbers: Sequence[IncomingNumber] = [
        n for n in await deps.store.list_numbers(account.account_id) if test(n)
    ]
    return paginate(
        request,
        numbers,
        "incomingPhoneNumbers",
        incoming_renderer(request),
        page_size=deps.page_size,
        max_list=deps.max_list,
        sort_key=lambda n: (n.date_created, n.phone_number_id),
    )


@router.get("/Accounts/{account_id}/IncomingPhoneNumbers/{phone_number_id}")
async def get_incoming_number(
    request: Request, account: PathAccount, phone_number_id: str
) -> dict[str, Any]:
    """get-an-incoming-number: 200 IncomingNumberResult."""
    number = await owned_number(deps_of(request).store, account, phone_number_id)
    return incoming_renderer(request)(number)


@router.post("/Accounts/{account_id}/IncomingPhoneNumbers/{phone_number_id}")
async def update_incoming_number(
    request: Request, account: PathAccount, phone_number_id: str, body: IncomingNumberRequest
) -> dict[str, Any]:
    """update-an-incoming-number: 200. Only the fields sent change; applicationId null unlinks."""
    deps = deps_of(request)
    number = await owned_number(deps.store, account, phone_number_id)
    changes = sent_fields(body)
    if changes.get("application_id") is not None:
        await owned_application(deps.store, account, changes["application_id"])
    number = await revise(number, changes, deps.clock.now(), deps.store.put_number)
    return incoming_renderer(request)(number)


@router.delete("/Accounts/{account_id}/IncomingPhoneNumbers/{phone_number_id}", status_code=204)
async def delete_incoming_number(
    request: Request, account: PathAccount, phone_number_id: str
) -> Response:
    """delete-an-incoming-number: 204; the number is on sale again."""
    deps = deps_of(request)
    await owned_number(deps.store, account, phone_number_id)
    await deps.store.delete_number(phone_number_id)
    return Response(status_code=204)
