"""Fault injection over the sim API (/sim/v1/faults): strict validation, then real effects."""

from __future__ import annotations

from typing import Any

import pytest

from percl.domain.enums import CallEndedReason
from percl.testing.harness import Harness
from percl.webhooks.faults import Fault, FaultKind
from tests.e2e.conftest import CALLER, said

APP = "http://app.test"


async def put(h: Harness, body: Any) -> Any:
    return await h.sim_rest.put("/faults", json=body)


async def own_apps(h: Harness, *urls: str) -> None:
    """Applications of the account on these URLs: a rule may only name their hosts."""
    for url in urls:
        made = await h.rest.post(f"/Accounts/{h.account.account_id}/Applications",
                                 json={"voiceUrl": url})
        assert made.status_code == 201, made.text


def rules(h: Harness) -> list[tuple[str, Fault]]:
    return h.platform.faults.rules(h.account.account_id)


async def test_put_get_delete_round_trip(h: Harness) -> None:
    await own_apps(h, APP + "/voice", "https://b.test/v", "https://c.test/v")
    for rule in (
        {"urlPrefix": APP + "/voice", "kind": "slow", "delayMs": 3000},
        {"urlPrefix": APP + "/", "kind": "error", "status": 503, "times": 2},
        {"urlPrefix": "https://b.test/", "kind": "garbage", "body": "<html>"},
        {"urlPrefix": "https://c.test/", "kind": "timeout"},
    ):
        assert (await put(h, rule)).status_code == 204
    listed = (await h.sim_rest.get("/faults")).json()
    assert listed == [
        {"urlPrefix": APP + "/", "kind": "error", "status": 503, "times": 2},
        {"urlPrefix": APP + "/voice", "kind": "slow", "delayMs": 3000, "times": None},
        {"urlPrefix": "https://b.test/", "kind": "garbage", "body": "<html>", "times": None},
        {"urlPrefix": "https://c.test/", "kind": "timeout", "times": None},
    ]
    assert dict(rules(h))[APP + "/"] == Fault(FaultKind.ERROR, status=503, times=2)

    deleted = await h.sim_rest.delete("/faults", params={"urlPrefix": APP + "/voice"})
    assert deleted.status_code == 204
    assert [r["urlPrefix"] for r in (await h.sim_rest.get("/faults")).json()] == [
        APP + "/", "https://b.test/", "https://c.test/"]
    assert (await h.sim_rest.delete("/faults")).status_code == 204
    assert (await h.sim_rest.get("/faults")).json() == []


async def test_put_replaces_the_rule_of_the_same_prefix(h: Harness) -> None:
    await own_apps(h, APP + "/voice")
    await put(h, {"urlPrefix": APP + "/", "kind": "refuse"})
    await put(h, {"urlPrefix": APP + "/", "kind": "error"})
    assert (await h.sim_rest.get("/faults")).json() == [
        {"urlPrefix": APP + "/", "kind": "error", "status": 500, "times": None}]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"urlPrefix": "http://elsewhere.test/", "kind": "timeout"}, "of this account's applications"),
        ({"urlPrefix": "http://app.te", "kind": "timeout"}, "of this account's applications"),
        ({"urlPrefix": APP, "kind": "explode"}, "kind"),
        ({"urlPrefix": "app.test/voice", "kind": "timeout"}, "must start with http:// or https://"),
        ({"urlPrefix": "", "kind": "timeout"}, "urlPrefix"),
        ({"urlPrefix": APP, "kind": "slow"}, "delayMs is required for kind slow"),
        ({"urlPrefix": APP, "kind": "slow", "delayMs": "3000"}, "delayMs"),
        ({"urlPrefix": APP, "kind": "slow", "delayMs": -1}, "delayMs"),
        ({"urlPrefix": APP, "kind": "slow", "delayMs": 600_001}, "delayMs"),
        ({"urlPrefix": APP, "kind": "timeout", "delayMs": 10}, "delayMs does not apply to kind timeout"),
        ({"urlPrefix": APP, "kind": "error", "status": 200}, "status"),
        ({"urlPrefix": APP, "kind": "refuse", "status": 503}, "status does not apply to kind refuse"),
        ({"urlPrefix": APP, "kind": "error", "body": "x"}, "body does not apply to kind error"),
        ({"urlPrefix": APP, "kind": "timeout", "times": 0}, "times"),
        ({"urlPrefix": APP, "kind": "timeout", "times": True}, "times"),
        ({"urlPrefix": APP, "kind": "timeout", "colour": "red"}, "colour: unknown field"),
        ([], "body"),
    ],
)
async def test_put_rejects_malformed_rules_with_a_freeclimb_400(h: Harness, body: Any, words: str) -> None:
    await own_apps(h, APP + "/voice")
    response = await put(h, body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == 3 and words in error["message"], error["message"]
    assert rules(h) == [] and h.platform.faults.rules() == []


async def test_put_with_invalid_json_is_422(h: Harness) -> None:
    response = await h.sim_rest.put("/faults", content=b"{kind:")
    assert response.status_code == 422 and response.json()["code"] == 9


async def test_delete_with_an_empty_prefix_is_400(h: Harness) -> None:
    response = await h.sim_rest.delete("/faults", params={"urlPrefix": ""})
    assert response.status_code == 400 and response.json()["details"] == {"field": "urlPrefix"}


async def test_routes_need_credentials(h: Harness) -> None:
    client = h.sim_rest
    client.headers.pop("Authorization")
    assert (await client.get("/faults")).status_code == 401
    assert (await client.put("/faults", json={"urlPrefix": APP, "kind": "timeout"})).status_code == 401
    assert rules(h) == [] and h.platform.faults.rules() == []


async def test_a_fault_put_over_http_breaks_the_call_and_clearing_it_heals(h: Harness) -> None:
    app = h.scripted_app(APP)
    app.on("/voice", [{"Say": {"text": "hello"}}])
    number = await h.number_for_app(voice_url=APP + "/voice")
    await put(h, {"urlPrefix": APP + "/voice", "kind": "error", "status": 502})
    broken = await h.run_until_ended(await h.sim_call(CALLER, number))
    assert broken.call_ended_reason is CallEndedReason.WEBHOOK_FAILED
    await h.sim_rest.delete("/faults")
    healed_id = await h.sim_call(CALLER, number)
    await h.run_until_ended(healed_id)
    assert said(h.transcript(healed_id)) == ["hello"]
