"""/Accounts/{accountId}/Messages/10DLC/... and /Messages/TollFree/...: brands and campaigns from
the local registry (api/campaign_registry.py), listed and read; nothing is registered anywhere.

Lists keep the registry file's order and page like every list; `brandId` filters the campaign
lists. The toll-free list's array is `brands`, as FreeClimb's schema names it. An unknown or
foreign id is 404.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from percl.api.auth import PathAccount
from percl.api.campaign_registry import CampaignRegistry, RegistryEntry, RegistryKind
from percl.api.deps import deps_of
from percl.api.pagination import paginate
from percl.api.render import rfc1123
from percl.domain.records import Account
from percl.errors import NotFound

router = APIRouter()

BrandFilter = Annotated[str | None, Query(alias="brandId")]

# kind -> (path segment, array key of the list, what a 404 calls it)
_ROUTES = {
    RegistryKind.BRANDS: ("10DLC/Brands", "brands", "10DLC brand"),
    RegistryKind.CAMPAIGNS: ("10DLC/Campaigns", "campaigns", "10DLC campaign"),
    RegistryKind.PARTNER_CAMPAIGNS: ("10DLC/PartnerCampaigns", "partnerCampaigns", "10DLC partner campaign"),
    RegistryKind.TOLL_FREE_CAMPAIGNS: ("TollFree/Campaigns", "brands", "toll-free campaign"),
}


def _registry(request: Request) -> CampaignRegistry:
    return deps_of(request).campaigns or CampaignRegistry.empty()


def render_entry(entry: RegistryEntry, account: Account, loaded_at: float) -> dict[str, Any]:
    """The entry's document as the account sees it (its accountId; toll-free defaults filled)."""
    doc: dict[str, Any] = json.loads(entry.document)
    doc["accountId"] = account.account_id
    if entry.kind is RegistryKind.TOLL_FREE_CAMPAIGNS:
        loaded = rfc1123(loaded_at)
        doc.setdefault("dateCreated", loaded)
        doc.setdefault("dateUpdated", doc["dateCreated"])
        doc.setdefault("revision", 1)
    return doc


def _list(request: Request, account: Account, kind: RegistryKind, brand_id: str | None) -> dict[str, Any]:
    deps, registry = deps_of(request), _registry(request)
    entries = registry.visible(kind, account.account_id, brand_id)
    return paginate(request, entries, _ROUTES[kind][1],
                    lambda e: render_entry(e, account, registry.loaded_at),
                    page_size=deps.page_size, max_list=deps.max_list)


def _get(request: Request, account: Account, kind: RegistryKind, key: str) -> dict[str, Any]:
    registry = _registry(request)
    entry = registry.get(kind, account.account_id, key)
    if entry is None:
        raise NotFound(f"{_ROUTES[kind][2]} {key} not found (percl lists those of PERCL_CAMPAIGNS_FILE)")
    return render_entry(entry, account, registry.loaded_at)


@router.get("/Accounts/{account_id}/Messages/10DLC/Brands")
async def list_brands(request: Request, account: PathAccount) -> dict[str, Any]:
    """get-tenDLC-sms-brands: 200 SMSTenDLCBrandsListResult."""
    return _list(request, account, RegistryKind.BRANDS, None)


@router.get("/Accounts/{account_id}/Messages/10DLC/Brands/{brand_id}")
async def get_brand(request: Request, account: PathAccount, brand_id: str) -> dict[str, Any]:
    """get-tenDLC-sms-brand: 200 SMSTenDLCBrand."""
    return _get(request, account, RegistryKind.BRANDS, brand_id)


@router.get("/Accounts/{account_id}/Messages/10DLC/Campaigns")
async def list_campaigns(request: Request, account: PathAccount,
                         brand_id: BrandFilter = None) -> dict[str, Any]:
    """get-tenDLC-sms-campaigns: 200 SMSTenDLCCampaignsListResult; `brandId` filters."""
    return _list(request, account, RegistryKind.CAMPAIGNS, brand_id)


@router.get("/Accounts/{account_id}/Messages/10DLC/Campaigns/{campaign_id}")
async def get_campaign(request: Request, account: PathAccount, campaign_id: str) -> dict[str, Any]:
    """get-tenDLC-sms-campaign: 200 SMSTenDLCCampaign."""
    return _get(request, account, RegistryKind.CAMPAIGNS, campaign_id)


@router.get("/Accounts/{account_id}/Messages/10DLC/PartnerCampaigns")
async def list_partner_campaigns(request: Request, account: PathAccount,
                                 brand_id: BrandFilter = None) -> dict[str, Any]:
    """get-tenDLC-sms-partnerCampaigns: 200 SMSTenDLCPartnerCampaignsListResult."""
    return _list(request, account, RegistryKind.PARTNER_CAMPAIGNS, brand_id)


@router.get("/Accounts/{account_id}/Messages/10DLC/PartnerCampaigns/{campaign_id}")
async def get_partner_campaign(request: Request, account: PathAccount,
                               campaign_id: str) -> dict[str, Any]:
    """get-tenDLC-sms-partnerCampaign: 200 SMSTenDLCPartnerCampaign."""
    return _get(request, account, RegistryKind.PARTNER_CAMPAIGNS, campaign_id)


@router.get("/Accounts/{account_id}/Messages/TollFree/Campaigns")
async def list_toll_free_campaigns(request: Request, account: PathAccount) -> dict[str, Any]:
    """get-tollFree-sms-campaigns: 200 SMSTollFreeCampaignsListResult (array `brands`)."""
    return _list(request, account, RegistryKind.TOLL_FREE_CAMPAIGNS, None)


@router.get("/Accounts/{account_id}/Messages/TollFree/Campaigns/{campaign_id}")
async def get_toll_free_campaign(request: Request, account: PathAccount,
                                 campaign_id: str) -> dict[str, Any]:
    """get-tollFree-sms-campaign: 200 SMSTollFreeCampaign."""
    return _get(request, account, RegistryKind.TOLL_FREE_CAMPAIGNS, campaign_id)
