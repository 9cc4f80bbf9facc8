"""10DLC brands, campaigns, partner campaigns and toll-free campaigns from the local registry,
through the official SDK; every body checked against FreeClimb's OpenAPI schemas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import freeclimb
import pytest
from freeclimb.exceptions import NotFoundException

from percl.api.campaign_registry import CampaignRegistry, RegistryKind
from percl.app import campaigns_from
from percl.errors import ConfigError

from .campaign_samples import BRAND, CAMPAIGN, PARTNER, TOLL_FREE, registry_document
from .rest_kit import KitServer, check_schema, kit_world, serve


@pytest.fixture(scope="module")
def server() -> Iterator[KitServer]:
    registry = CampaignRegistry.from_document(registry_document(), loaded_at=1_700_000_000.0)
    yield from serve(kit_world(page_size=1, campaigns=registry))


def test_the_sdk_lists_and_reads_every_kind(server: KitServer) -> None:
    account = server.world.new_account()
    api = server.api(account)
    brands = api.get_ten_dlc_sms_brands()
    assert isinstance(brands, freeclimb.SMSTenDLCBrandsListResult)
    assert (brands.total, brands.num_pages) == (2, 2)
    assert [b.brand_id for b in brands.brands] + [
        b.brand_id for b in api.get_next_page(brands).brands] == ["BZ3KQ0P", "BOTHER1"]
    brand = api.get_ten_dlc_sms_brand("BZ3KQ0P")
    assert brand.account_id == account.account_id and brand.display_name == "Acme Widgets"
    assert brand.identity_status == freeclimb.SMSTenDLCBrandIdentityStatus.VERIFIED
    campaigns = api.get_ten_dlc_sms_campaigns(brand_id="BOTHER1")
    assert [c.campaign_id for c in campaigns.campaigns] == ["CY5SU9B"]
    campaign = api.get_ten_dlc_sms_campaign("CX4RT8A")
    assert (campaign.brand_id, campaign.usecase, campaign.status) == (
        "BZ3KQ0P", "MARKETING", freeclimb.SMSTenDLCCampaignStatus.ACTIVE)
    partners = api.get_ten_dlc_sms_partner_campaigns(brand_id="BPARTN1")
    assert [p.campaign_id for p in partners.partner_campaigns] == ["CP7PART"]
    partner = api.get_ten_dlc_sms_partner_campaign("CP7PART")
    assert partner.brand is not None and partner.brand.evp_vetting_score == 75
    toll_free = api.get_toll_free_sms_campaigns()
    assert [c.campaign_id for c in toll_free.brands] == [TOLL_FREE["campaignId"]]
    one = api.get_toll_free_sms_campaign(TOLL_FREE["campaignId"])
    assert (one.revision, one.date_created) == (1, "Tue, 14 Nov 2023 22:13:20 GMT")
    for call, key in ((api.get_ten_dlc_sms_brand, "BNOPE"), (api.get_ten_dlc_sms_campaign, "CNOPE"),
                      (api.get_ten_dlc_sms_partner_campaign, "CNOPE"),
                      (api.get_toll_free_sms_campaign, "cmptfn_nope")):
        with pytest.raises(NotFoundException):
            call(key)


async def test_bodies_match_the_openapi_schemas() -> None:
    registry = CampaignRegistry.from_document(registry_document(), loaded_at=1_700_000_000.0)
    world = kit_world(campaigns=registry)
    account = world.new_account()
    base = f"/Accounts/{account.account_id}/Messages"
    checks = (
        ("/10DLC/Brands", "SMSTenDLCBrandsListResult"), ("/10DLC/Brands/BZ3KQ0P", "SMSTenDLCBrand"),
        ("/10DLC/Campaigns", "SMSTenDLCCampaignsListResult"),
        ("/10DLC/Campaigns/CX4RT8A", "SMSTenDLCCampaign"),
        ("/10DLC/PartnerCampaigns", "SMSTenDLCPartnerCampaignsListResult"),
        ("/10DLC/PartnerCampaigns/CP7PART", "SMSTenDLCPartnerCampaign"),
        ("/TollFree/Campaigns", "SMSTollFreeCampaignsListResult"),
        (f"/TollFree/Campaigns/{TOLL_FREE['campaignId']}", "SMSTollFreeCampaign"),
    )
    async with world.client(account) as client:
        for path, schema in checks:
            answer = await client.get(base + path)
            assert answer.status_code == 200, path
            check_schema(answer.json(), schema)


async def test_an_entry_with_an_account_belongs_to_that_account_only() -> None:
    world = kit_world()
    mine, theirs = world.new_account(), world.new_account()
    document = registry_document()
    document["brands"].append({**BRAND, "brandId": "BMINE01", "accountId": mine.account_id})
    registry = CampaignRegistry.from_document(document)
    assert [e.key for e in registry.visible(RegistryKind.BRANDS, mine.account_id)] == [
        "BZ3KQ0P", "BOTHER1", "BMINE01"]
    assert registry.get(RegistryKind.BRANDS, theirs.account_id, "BMINE01") is None


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["brands"][0].pop("email"), "brands[0].email"),
    (lambda d: d["brands"][0].update(mock="no"), "brands[0].mock"),
    (lambda d: d["brands"][0].update(entityType="PIRATE"), "brands[0].entityType"),
    (lambda d: d["brands"][0].update(colour="red"), "brands[0].colour"),
    (lambda d: d["campaigns"][0].update(createDate="yesterday"), "campaigns[0].createDate"),
    (lambda d: d["campaigns"][0].update(brandId="BGHOST1"), "names brand BGHOST1"),
    (lambda d: d["campaigns"].append(dict(CAMPAIGN)), "lists CX4RT8A twice"),
    (lambda d: d["partnerCampaigns"][0]["brand"].pop("phone"), "partnerCampaigns[0].brand.phone"),
    (lambda d: d["tollFreeCampaigns"][0].update(registrationStatus="MAYBE"),
     "tollFreeCampaigns[0].registrationStatus"),
    (lambda d: d["numbers"].update({"+13125550100": "CNOPE"}), "numbers['+13125550100']"),
    (lambda d: d.update(extra=[]), "unknown key(s) extra"),
])
def test_a_wrong_registry_names_the_entry_and_field(change: Any, message: str) -> None:
    document = json.loads(json.dumps(registry_document()))
    change(document)
    with pytest.raises(ConfigError) as err:
        CampaignRegistry.from_document(document)
    assert message in str(err.value)


def test_the_file_setting(tmp_path: Path) -> None:
    assert campaigns_from("", 0.0).entries == ()
    file = tmp_path / "campaigns.json"
    file.write_text(json.dumps(registry_document(**{"+13125550100": "CX4RT8A"})))
    registry = campaigns_from(str(file), 5.0)
    assert registry.loaded_at == 5.0 and registry.campaign_of("+13125550100") is not None
    file.write_text("{not json")
    with pytest.raises(ConfigError, match="PERCL_CAMPAIGNS_FILE"):
        campaigns_from(str(file), 0.0)
    with pytest.raises(ConfigError, match="PERCL_CAMPAIGNS_FILE"):
        campaigns_from(str(tmp_path / "missing.json"), 0.0)


def test_partner_sample_is_a_valid_sdk_model() -> None:
    assert freeclimb.SMSTenDLCPartnerCampaign.from_dict(PARTNER) is not None
