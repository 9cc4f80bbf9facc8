"""A campaign registry document with every kind of entry (FreeClimb's field names)."""

from __future__ import annotations

from typing import Any

BRAND = {
    "entityType": "PRIVATE_PROFIT", "brandId": "BZ3KQ0P", "cspId": "SF1CS9Q",
    "displayName": "Acme Widgets", "companyName": "Acme Widgets LLC", "phone": "+13125550100",
    "country": "US", "email": "sms@acme.test", "brandRelationship": "SMALL_ACCOUNT",
    "vertical": "RETAIL", "mock": False, "identityStatus": "VERIFIED",
    "stockExchange": "NONE", "optionalAttributes": {"taxExemptStatus": "none"},
    "createDate": "2025-03-01T12:00:00.000Z",
}
OTHER_BRAND = {**BRAND, "brandId": "BOTHER1", "displayName": "Other Co"}
CAMPAIGN = {
    "campaignId": "CX4RT8A", "cspId": "SF1CS9Q", "brandId": "BZ3KQ0P", "usecase": "MARKETING",
    "subUsecases": [], "description": "Weekly offers", "mock": False, "status": "ACTIVE",
    "createDate": "2025-03-02T12:00:00.000Z", "sample1": "Offer of the week!", "sample2": None,
    "nextRenewalOrExpirationDate": "2026-03-02",
}
OTHER_CAMPAIGN = {**CAMPAIGN, "campaignId": "CY5SU9B", "brandId": "BOTHER1"}
PARTNER = {
    "campaignId": "CP7PART", "brandId": "BPARTN1", "usecase": "2FA", "description": "Codes",
    "status": "ACTIVE", "brand": {"brandId": "BPARTN1", "phone": "+13125550199", "email": "p@x.test",
                                  "evpVettingScore": 75},
}
TOLL_FREE = {"campaignId": "cmptfn_" + "a" * 40, "useCase": "2FA", "registrationStatus": "REGISTERED"}


def registry_document(**numbers: str) -> dict[str, Any]:
    return {
        "brands": [BRAND, OTHER_BRAND],
        "campaigns": [CAMPAIGN, OTHER_CAMPAIGN],
        "partnerCampaigns": [PARTNER],
        "tollFreeCampaigns": [TOLL_FREE],
        "numbers": dict(numbers),
    }
