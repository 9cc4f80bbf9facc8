"""The local registry of 10DLC brands and campaigns and toll-free campaigns (FreeClimb's
SMSTenDLCBrand, SMSTenDLCCampaign, SMSTenDLCPartnerCampaign, SMSTollFreeCampaign).

FreeClimb fills these from The Campaign Registry; percl reads them from a JSON file the user
writes (PERCL_CAMPAIGNS_FILE), in FreeClimb's own field names:

    {"brands": [...], "campaigns": [...], "partnerCampaigns": [...], "tollFreeCampaigns": [...],
     "numbers": {"+13125550100": "<campaignId of a 10DLC or toll-free campaign>"}}

Each entry is checked against the OpenAPI schema's fields (`SCHEMAS`: required fields, JSON types,
enums, RFC 3339 dates; an unknown key is an error, so a typo cannot hide), and a 10DLC campaign
must name a brand of the file. An entry with an `accountId` belongs to that account only; one
without belongs to every account and shows the requesting account's id. A toll-free campaign may
leave out `dateCreated`/`dateUpdated` (the time the file was read) and `revision` (1).

`numbers` ties incoming numbers to campaigns: it is what the numbers' `campaignId`, `hasCampaign`
and `tfn.campaignId` filters and the messages' `campaignId`, `brandId` and `is10DLC` filters see.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    create_model,
)

from percl.api.errors import field_name
from percl.errors import ConfigError


class RegistryKind(StrEnum):
    """The four lists, by their key in the registry file."""

    BRANDS = "brands"
    CAMPAIGNS = "campaigns"
    PARTNER_CAMPAIGNS = "partnerCampaigns"
    TOLL_FREE_CAMPAIGNS = "tollFreeCampaigns"


_ENUMS: dict[str, tuple[str, ...]] = {
    "EntityType": ("PRIVATE_PROFIT", "PUBLIC_PROFIT", "NON_PROFIT", "GOVERNMENT", "SOLE_PROPRIETOR"),
    "Relationship": ("BASIC_ACCOUNT", "SMALL_ACCOUNT", "MEDIUM_ACCOUNT", "LARGE_ACCOUNT", "KEY_ACCOUNT"),
    "IdentityStatus": ("SELF_DECLARED", "UNVERIFIED", "VERIFIED", "VETTED_VERIFIED"),
    "AltBusinessIdType": ("NONE", "DUNS", "GIIN", "LEI"),
    "StockExchange": (
        "NONE", "NASDAQ", "NYSE", "AMEX", "AMX", "ASX", "B3", "BME", "BSE", "FRA", "ICEX", "JPX",
        "JSE", "KRX", "LON", "NSE", "OMX", "SEHK", "SGX", "SSE", "STO", "SWX", "SZSE", "TSX", "TWSE",
        "VSE", "OTHER"),
    "CampaignStatus": ("ACTIVE", "EXPIRED"),
    "RegistrationStatus": ("UNREGISTERED", "INITIATED", "PENDING", "DECLINED", "REGISTERED"),
}

# name: `!` marks a required field, `?` a nullable one (freeclimb-openapi.json, components/schemas).
SCHEMAS: dict[str, str] = {
    "SMSTenDLCBrand": (
        "accountId:str? !entityType:EntityType cspId:str brandId:str firstName:str lastName:str "
        "!displayName:str companyName:str ein:str einIssuingCountry:str !phone:str street:str "
        "city:str state:str postalCode:str !country:str !email:str stockSymbol:str "
        "stockExchange:StockExchange ipAddress:str website:str !brandRelationship:Relationship "
        "!vertical:str altBusinessId:str altBusinessIdType:AltBusinessIdType universalEin:str "
        "referenceId:str optionalAttributes:dict !mock:bool !identityStatus:IdentityStatus "
        "createDate:date-time"),
    "SMSTenDLCCampaign": (
        "accountId:str? !campaignId:str !cspId:str resellerId:str? status:CampaignStatus "
        "createDate:date-time autoRenewal:bool billedDate:date-time? !brandId:str !usecase:str "
        "!subUsecases:list !description:str embeddedLink:bool embeddedPhone:bool "
        "affiliateMarketing:bool numberPool:bool ageGated:bool directLending:bool "
        "subscriberOptin:bool subscriberOptout:bool subscriberHelp:bool sample1:str sample2:str? "
        "sample3:str? sample4:str? sample5:str? messageFlow:str? helpMessage:str? "
        "optinKeywords:str optoutKeywords:str helpKeywords:str optinMessage:str optoutMessage:str "
        "referenceId:str? !mock:bool nextRenewalOrExpirationDate:date?"),
    "SMSTenDLCPartnerCampaign": (
        "accountId:str? !campaignId:str status:CampaignStatus createDate:date-time !brandId:str "
        "!usecase:str !description:str embeddedLink:bool embeddedPhone:bool "
        "affiliateMarketing:bool numberPool:bool ageGated:bool directLending:bool "
        "subscriberOptin:bool subscriberOptout:bool subscriberHelp:bool sample1:str sample2:str? "
        "sample3:str? sample4:str? sample5:str? messageFlow:str? helpMessage:str? "
        "optinKeywords:str optoutKeywords:str helpKeywords:str optinMessage:str optoutMessage:str "
        "brand:SMSTenDLCPartnerCampaignBrand"),
    "SMSTenDLCPartnerCampaignBrand": (
        "accountId:str? brandId:str firstName:str lastName:str displayName:str companyName:str "
        "!phone:str !email:str website:str optionalAttributes:dict evpVettingScore:int"),
    # dateCreated, dateUpdated, revision are required in results; the file may leave them out.
    "SMSTollFreeCampaign": (
        "accountId:str? !campaignId:str !useCase:str !registrationStatus:RegistrationStatus "
        "dateCreated:str dateUpdated:str revision:int"),
}

_SCHEMA_OF = {
    RegistryKind.BRANDS: "SMSTenDLCBrand",
    RegistryKind.CAMPAIGNS: "SMSTenDLCCampaign",
    RegistryKind.PARTNER_CAMPAIGNS: "SMSTenDLCPartnerCampaign",
    RegistryKind.TOLL_FREE_CAMPAIGNS: "SMSTollFreeCampaign",
}


def _datetime(value: str) -> str:
    datetime.fromisoformat(value)  # raises ValueError, which pydantic reports
    return value


def _date(value: str) -> str:
    date.fromisoformat(value)
    return value


_BASE_TYPES: dict[str, Any] = {
    "str": StrictStr,
    "bool": StrictBool,
    "int": StrictInt,
    "list": list[StrictStr],
    "dict": dict[str, Any],
    "date-time": Annotated[StrictStr, AfterValidator(_datetime)],
    "date": Annotated[StrictStr, AfterValidator(_date)],
}


def _type(name: str, models: Mapping[str, type[BaseModel]]) -> Any:
    if name in _ENUMS:
        return Literal[_ENUMS[name]]
    return models[name] if name in models else _BASE_TYPES[name]


def _build_models() -> dict[str, type[BaseModel]]:
    models: dict[str, type[BaseModel]] = {}
    # The partner campaign's brand first: the partner campaign refers to it.
    for schema in sorted(SCHEMAS, key=lambda s: s != "SMSTenDLCPartnerCampaignBrand"):
        fields: dict[str, Any] = {}
        for spec in SCHEMAS[schema].split():
            name, type_name = spec.split(":")
            required, name = name.startswith("!"), name.lstrip("!")
            nullable, type_name = type_name.endswith("?"), type_name.rstrip("?")
            kind = _type(type_name, models)
            if nullable:
                kind = kind | None
            fields[name] = (kind, Field(...) if required else Field(default=None))
        models[schema] = create_model(schema, __config__=ConfigDict(extra="forbid"), **fields)
    return models


_MODELS = _build_models()


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """One brand or campaign: its id, brand, owning account (None: every account) and its wire
    document as compact JSON (the fields the file gave, nothing invented)."""

    kind: RegistryKind
    key: str
    brand_id: str | None
    account_id: str | None
    document: str


@dataclass(frozen=True, slots=True)
class NumberCampaign:
    """The campaign an incoming number sends under: 10DLC (with its brand) or toll-free."""

    campaign_id: str
    brand_id: str | None
    toll_free: bool


def _entry(kind: RegistryKind, index: int, raw: Any) -> RegistryEntry:
    where = f"{kind.value}[{index}]"
    try:
        model = _MODELS[_SCHEMA_OF[kind]].model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"campaign registry: {where}.{field_name(first['loc'])}: {first['msg']}") from None
    doc = model.model_dump(exclude_unset=True)
    key = doc.get("brandId" if kind is RegistryKind.BRANDS else "campaignId")
    if not key:
        raise ConfigError(f"campaign registry: {where}: brandId is required to list a brand")
    brand = doc.get("brandId") if kind is not RegistryKind.TOLL_FREE_CAMPAIGNS else None
    return RegistryEntry(kind, key, brand, doc.get("accountId"), json.dumps(doc, separators=(",", ":")))


class CampaignRegistry:
    """The registry's entries and the numbers' campaigns. Build with `from_document`."""

    def __init__(self, entries: Sequence[RegistryEntry], numbers: Mapping[str, NumberCampaign],
                 loaded_at: float = 0.0) -> None:
        self.entries = tuple(entries)
        self.numbers = dict(numbers)
        self.loaded_at = loaded_at

    @classmethod
    def empty(cls) -> CampaignRegistry:
        return cls((), {})

    @classmethod
    def from_document(cls, document: Any, loaded_at: float = 0.0) -> CampaignRegistry:
        """The registry a parsed registry file describes. Raises ConfigError naming the entry and
        field that is wrong."""
        if not isinstance(document, dict):
            raise ConfigError("campaign registry: expected a JSON object of brands and campaigns")
        unknown = set(document) - {k.value for k in RegistryKind} - {"numbers"}
        if unknown:
            raise ConfigError(f"campaign registry: unknown key(s) {', '.join(sorted(unknown))}")
        entries: list[RegistryEntry] = []
        for kind in RegistryKind:
            items = document.get(kind.value, [])
            if not isinstance(items, list):
                raise ConfigError(f"campaign registry: {kind.value} must be a list")
            entries += [_entry(kind, i, raw) for i, raw in enumerate(items)]
        _check_unique_and_linked(entries)
        return cls(entries, _numbers(document.get("numbers", {}), entries), loaded_at)

    def visible(self, kind: RegistryKind, account_id: str,
                brand_id: str | None = None) -> list[RegistryEntry]:
        """The entries of `kind` the account sees (of `brand_id` only, if given), in file order."""
        return [e for e in self.entries if e.kind is kind and e.account_id in (None, account_id)
                and (brand_id is None or e.brand_id == brand_id)]

    def get(self, kind: RegistryKind, account_id: str, key: str) -> RegistryEntry | None:
        return next((e for e in self.visible(kind, account_id) if e.key == key), None)

    def campaign_of(self, phone_number: str) -> NumberCampaign | None:
        """The campaign the registry ties `phone_number` to, if any."""
        return self.numbers.get(phone_number)


def _check_unique_and_linked(entries: Sequence[RegistryEntry]) -> None:
    seen: set[tuple[RegistryKind, str]] = set()
    for e in entries:
        if (e.kind, e.key) in seen:
            raise ConfigError(f"campaign registry: {e.kind.value} lists {e.key} twice")
        seen.add((e.kind, e.key))
    brands = {e.key for e in entries if e.kind is RegistryKind.BRANDS}
    for e in entries:
        if e.kind is RegistryKind.CAMPAIGNS and e.brand_id not in brands:
            raise ConfigError(f"campaign registry: campaign {e.key} names brand {e.brand_id}, "
                              "which is not in brands")


def _numbers(raw: Any, entries: Sequence[RegistryEntry]) -> dict[str, NumberCampaign]:
    if not isinstance(raw, dict):
        raise ConfigError("campaign registry: numbers must map phone numbers to campaign ids")
    campaigns = {e.key: e for e in entries
                 if e.kind in (RegistryKind.CAMPAIGNS, RegistryKind.TOLL_FREE_CAMPAIGNS)}
    found: dict[str, NumberCampaign] = {}
    for number, campaign_id in raw.items():
        entry = campaigns.get(campaign_id) if isinstance(campaign_id, str) else None
        if entry is None:
            raise ConfigError(f"campaign registry: numbers[{number!r}]: {campaign_id!r} is not the "
                              "campaignId of a 10DLC or toll-free campaign of the file")
        toll_free = entry.kind is RegistryKind.TOLL_FREE_CAMPAIGNS
        found[number] = NumberCampaign(entry.key, None if toll_free else entry.brand_id, toll_free)
    return found
