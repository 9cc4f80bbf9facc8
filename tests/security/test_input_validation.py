"""Attack: request bodies with text no store can write, documents nested thousands deep, values
with a trailing newline, and aliases of megabytes. Each is a 400 naming the field (was: 500s, and
silently accepted values)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from percl.api.fields import is_valid_unicode
from percl.config import from_sources
from percl.domain.phone import is_e164
from percl.errors import ConfigError, PerclScriptError
from percl.percl.parse import parse_script
from tests.api.conftest import World

LONE = "\ud800"
APP_ID = "AP" + "a" * 40
URL = "http://app.test/x"


def raw_json(body: dict[str, Any]) -> bytes:
    """JSON as a client would send it: a lone surrogate spelled as the escape `\\ud800`."""
    return json.dumps(body).encode()  # ensure_ascii: "\ud800" becomes the 6-character escape


# (path under the account, a valid body, its string fields)
ENDPOINTS: list[tuple[str, dict[str, Any]]] = [
    ("", {"alias": "a", "label": "b"}),
    ("/Applications", {"alias": "a", "voiceUrl": URL, "voiceFallbackUrl": URL,
                       "callConnectUrl": URL, "statusCallbackUrl": URL, "smsUrl": URL,
                       "smsFallbackUrl": URL}),
    ("/IncomingPhoneNumbers", {"phoneNumber": "+13125550101", "alias": "a"}),
    ("/Queues", {"alias": "a"}),
    ("/Conferences", {"alias": "a", "waitUrl": URL, "statusCallbackUrl": URL}),
    ("/Calls", {"from": "+13125550101", "to": "+13125550102", "applicationId": APP_ID,
                "callConnectUrl": URL, "sendDigits": "12", "ifMachine": "redirect",
                "ifMachineUrl": URL}),
    ("/Messages", {"from": "+13125550101", "to": "+13125550102", "text": "hi",
                   "notificationUrl": URL}),
    ("/Logs", {"pql": 'level = "info"'}),
]
CASES = [(path, body, field) for path, body in ENDPOINTS for field, value in body.items()
         if isinstance(value, str)]


@pytest.mark.parametrize(("path", "body", "field"), CASES,
                         ids=[f"{p or '/Account'}.{f}" for p, _, f in CASES])
async def test_a_lone_surrogate_is_a_400_naming_the_field(
    client: httpx.AsyncClient, world: World, path: str, body: dict[str, Any], field: str
) -> None:
    bad = {**body, field: body[field] + LONE}
    r = await client.post(f"/Accounts/{world.account.account_id}{path}", content=raw_json(bad),
                          headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["details"]["field"] == field
    assert "valid Unicode" in r.json()["message"]


async def test_a_lone_surrogate_in_a_list_is_a_400(client: httpx.AsyncClient, world: World) -> None:
    body = {"from": "+13125550101", "to": "+13125550102", "text": "hi", "mediaUrls": [URL + LONE]}
    r = await client.post(f"/Accounts/{world.account.account_id}/Messages", content=raw_json(body),
                          headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["details"]["field"] == "mediaUrls"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(alias=st.text(alphabet=st.characters(codec=None, categories=None), max_size=70))
async def test_any_alias_is_stored_or_refused_never_a_500(world: World, alias: str) -> None:
    async with world.client() as client:
        r = await client.post(f"/Accounts/{world.account.account_id}/Applications",
                              content=raw_json({"alias": alias}),
                              headers={"Content-Type": "application/json"})
    valid = is_valid_unicode(alias) and len(alias) <= 64
    assert r.status_code == (201 if valid else 400), (alias, r.text)
    if not valid:
        assert r.json()["details"]["field"] == "alias"


@pytest.mark.parametrize("path", ["/Calls", "/Applications", "/Queues", ""])
async def test_json_nested_thousands_deep_is_a_400(
    client: httpx.AsyncClient, world: World, path: str
) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    body = '{"from":"+13125550101","to":"+13125550102","alias":' + deep + "}"
    r = await client.post(f"/Accounts/{world.account.account_id}{path}", content=body,
                          headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["details"]["field"] == "body"


# --------------------------------------------------------------------------- trailing newlines


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/Calls", {"from": "+13125550101", "to": "+13125550102\n", "applicationId": APP_ID}, "to"),
        ("/Calls", {"from": "+13125550101", "to": "+13125550102", "applicationId": APP_ID + "\n"},
         "applicationId"),
        ("/Calls", {"from": "+13125550101", "to": "+13125550102", "applicationId": APP_ID,
                    "sendDigits": "12\n"}, "sendDigits"),
        ("/IncomingPhoneNumbers", {"phoneNumber": "+13125550101\n"}, "phoneNumber"),
        ("/Applications", {"voiceUrl": URL + "\n"}, "voiceUrl"),
        ("/Applications", {"statusCallbackUrl": "http://app.test/a b"}, "statusCallbackUrl"),
    ],
)
async def test_a_trailing_newline_is_refused(
    client: httpx.AsyncClient, world: World, path: str, body: dict[str, Any], field: str
) -> None:
    r = await client.post(f"/Accounts/{world.account.account_id}{path}", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["details"]["field"] == field


def test_validators_use_the_whole_value() -> None:
    assert is_e164("+13125550101") and not is_e164("+13125550101\n")
    with pytest.raises(PerclScriptError):
        parse_script([{"SendDigits": {"digits": "12\n"}}])
    with pytest.raises(PerclScriptError):
        parse_script([{"Dequeue": {}}, {"Enqueue": {"actionUrl": URL, "waitUrl": URL,
                                                     "queueId": "QU" + "a" * 40 + "\n"}}])
    with pytest.raises(ConfigError):
        from_sources({"PERCL_ACCOUNT_ID": "AC" + "a" * 40 + "\n"})


# --------------------------------------------------------------------------- alias and label


@pytest.mark.parametrize("field", ["alias", "label"])
async def test_account_alias_and_label_are_at_most_64_characters(
    client: httpx.AsyncClient, world: World, field: str
) -> None:
    path = f"/Accounts/{world.account.account_id}"
    assert (await client.post(path, json={field: "x" * 64})).status_code == 204
    r = await client.post(path, json={field: "x" * 10_000_000})
    assert r.status_code == 400 and r.json()["details"]["field"] == field
    assert (await client.get(path)).json()[field] == "x" * 64
