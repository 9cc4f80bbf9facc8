"""/Conferences and /Conferences/{id}/Participants over HTTP (in-process) and through the official
SDK (freeclimb 5.4.1), on a whole platform: participants are real sim legs in the conference.

The SDK deserializes a body only on the exact status code it expects and its models are strict, so
the SDK round trip checks the wire format; the httpx tests check filters, fields and errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import freeclimb
import pytest
import pytest_asyncio
from freeclimb.exceptions import BadRequestException, NotFoundException

from percl.testing.harness import Harness

FC_NUMBER = "+13125550100"
A, B = "+15550100031", "+15550100032"
STATUS_URL = "http://app.test/confStatus"


@pytest_asyncio.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness() as harness:
        app = harness.scripted_app()
        app.on("/confStatus", [])
        yield harness


def _base(h: Harness) -> str:
    return f"/Accounts/{h.account.account_id}/Conferences"


async def _create(h: Harness, **body: Any) -> dict[str, Any]:
    r = await h.rest.post(_base(h), json={"statusCallbackUrl": STATUS_URL, **body})
    assert r.status_code == 200, r.text
    created: dict[str, Any] = r.json()
    return created


async def _join(h: Harness, cf: str, *numbers: str, **attrs: Any) -> list[str]:
    """Inbound legs from `numbers` that join conference `cf` with AddToConference `attrs`."""
    app = h.scripted_app("http://join.test")
    app.on("/voice", [{"AddToConference": {"conferenceId": cf, **attrs}}])
    await h.number_for_app(FC_NUMBER, voice_url="http://join.test/voice")
    legs = [await h.sim_call(n, FC_NUMBER) for n in numbers]
    await h.advance(1)
    return legs


async def test_create_renders_every_field(h: Harness) -> None:
    body = await _create(h, alias="Daily standup", playBeep="entryOnly",
                         waitUrl="http://app.test/hold.wav")
    cf = body["conferenceId"]
    uri = f"{_base(h)}/{cf}"
    assert body == {
        "uri": uri, "dateCreated": body["dateCreated"], "dateUpdated": body["dateUpdated"],
        "revision": 1, "conferenceId": cf, "accountId": h.account.account_id,
        "alias": "Daily standup", "playBeep": "entryOnly", "record": False, "status": "empty",
        "waitUrl": "http://app.test/hold.wav", "actionUrl": None, "statusCallbackUrl": STATUS_URL,
        "subresourceUris": {"participants": f"{uri}/Participants",
                            "recordings": f"{uri}/Recordings"},
    }
    assert cf.startswith("CF") and len(cf) == 42
    assert (await h.rest.get(uri)).json() == body
    assert freeclimb.ConferenceResult.from_dict(body) is not None


@pytest.mark.parametrize(("body", "field"), [
    ({}, "statusCallbackUrl"),
    ({"statusCallbackUrl": "not a url"}, "statusCallbackUrl"),
    ({"statusCallbackUrl": STATUS_URL, "playBeep": "sometimes"}, "playBeep"),
    ({"statusCallbackUrl": STATUS_URL, "alias": "x" * 65}, "alias"),
    ({"statusCallbackUrl": STATUS_URL, "record": "yes"}, "record"),
])
async def test_create_rejects_bad_bodies(h: Harness, body: dict[str, Any], field: str) -> None:
    r = await h.rest.post(_base(h), json=body)
    assert r.status_code == 400
    assert field in r.text


async def test_list_filters(h: Harness) -> None:
    first = await _create(h, alias="one")
    await h.advance(86_400)  # the next day
    second = await _create(h, alias="two")
    await _join(h, second["conferenceId"], A)
    r = await h.rest.get(_base(h))
    assert [c["conferenceId"] for c in r.json()["conferences"]] == [
        second["conferenceId"], first["conferenceId"]]  # newest first
    by = {"status": "inProgress"}
    r = await h.rest.get(_base(h), params=by)
    assert [c["alias"] for c in r.json()["conferences"]] == ["two"]
    r = await h.rest.get(_base(h), params={"alias": "one"})
    assert [c["alias"] for c in r.json()["conferences"]] == ["one"]
    r = await h.rest.get(_base(h), params={"dateCreated": "2026-01-01"})
    assert [c["alias"] for c in r.json()["conferences"]] == ["one"]
    r = await h.rest.get(_base(h), params={"dateUpdated": "2026-01-02"})
    assert [c["alias"] for c in r.json()["conferences"]] == ["two"]
    r = await h.rest.get(_base(h), params={"dateCreated": "01/01/2026"})
    assert r.status_code == 400 and "dateCreated" in r.text
    r = await h.rest.get(_base(h), params={"status": "creating"})
    assert r.status_code == 400


async def test_update_alias_and_play_beep(h: Harness) -> None:
    cf = (await _create(h, alias="old"))["conferenceId"]
    r = await h.rest.post(f"{_base(h)}/{cf}", json={"alias": "new", "playBeep": "never"})
    assert r.status_code == 204 and r.content == b""
    body = (await h.rest.get(f"{_base(h)}/{cf}")).json()
    assert (body["alias"], body["playBeep"], body["revision"], body["status"]) == (
        "new", "never", 2, "empty")
    r = await h.rest.post(f"{_base(h)}/{cf}", json={"status": "populated"})
    assert r.status_code == 400


async def test_terminate_is_final_and_idempotent(h: Harness) -> None:
    cf = (await _create(h))["conferenceId"]
    (leg,) = await _join(h, cf, A)
    r = await h.rest.post(f"{_base(h)}/{cf}", json={"status": "terminated"})
    assert r.status_code == 204
    call = await h.run_until_ended(leg)
    assert call.call_ended_reason is not None and call.call_ended_reason.value == "conferenceTerminated"
    body = (await h.rest.get(f"{_base(h)}/{cf}")).json()
    assert body["status"] == "terminated"
    assert (await h.rest.post(f"{_base(h)}/{cf}", json={"status": "terminated"})).status_code == 204
    r = await h.rest.post(f"{_base(h)}/{cf}", json={"alias": "again"})
    assert r.status_code == 404
    r = await h.rest.get(f"{_base(h)}/{cf}/Participants")
    assert r.json()["participants"] == []


async def test_unknown_and_foreign_conferences_are_not_found(h: Harness) -> None:
    missing = "CF" + "0" * 40
    for method, path, body in [("GET", "", None), ("POST", "", {"alias": "x"}),
                               ("GET", "/Participants", None),
                               ("GET", f"/Participants/CA{'0' * 40}", None),
                               ("DELETE", f"/Participants/CA{'0' * 40}", None)]:
        r = await h.rest.request(method, f"{_base(h)}/{missing}{path}", json=body)
        assert r.status_code == 404, (method, path)
        assert r.json()["code"] == 66


async def test_participants_list_get_update_remove(h: Harness) -> None:
    cf = (await _create(h, playBeep="never"))["conferenceId"]
    a, b = await _join(h, cf, A, B, talk=False)
    url = f"{_base(h)}/{cf}/Participants"
    listed = (await h.rest.get(url)).json()
    assert listed["total"] == 2 and {p["callId"] for p in listed["participants"]} == {a, b}
    one = (await h.rest.get(f"{url}/{a}")).json()
    assert one == {
        "uri": f"{url}/{a}", "dateCreated": one["dateCreated"], "dateUpdated": one["dateUpdated"],
        "revision": 1, "accountId": h.account.account_id, "conferenceId": cf, "callId": a,
        "talk": False, "listen": True, "dtmfPassThrough": True, "startConfOnEnter": True}
    r = await h.rest.post(f"{url}/{b}", json={"talk": True, "dtmfPassThrough": False})
    assert r.status_code == 200
    assert (r.json()["talk"], r.json()["dtmfPassThrough"], r.json()["revision"]) == (True, False, 2)
    assert [p["callId"] for p in (await h.rest.get(url, params={"talk": "true"})).json()[
        "participants"]] == [b]
    assert [p["callId"] for p in (await h.rest.get(url, params={"dtmfPassThrough": "true"})).json()[
        "participants"]] == [a]
    assert (await h.rest.get(url, params={"listen": "false"})).json()["participants"] == []
    assert (await h.rest.delete(f"{url}/{a}")).status_code == 204
    await h.advance(1)
    assert [p["callId"] for p in (await h.rest.get(url)).json()["participants"]] == [b]
    assert (await h.rest.post(f"{url}/{a}", json={"talk": True})).status_code == 404


async def test_the_official_sdk_round_trip(h: Harness) -> None:
    api = h.freeclimb_api()

    async def sdk(method: str, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(api, method), *args, **kwargs)

    created = await sdk("create_a_conference", freeclimb.CreateConferenceRequest(
        alias="sdk room", play_beep=freeclimb.PlayBeep.NEVER, status_callback_url=STATUS_URL))
    assert isinstance(created, freeclimb.ConferenceResult)
    assert (created.status, created.play_beep) == (freeclimb.ConferenceStatus.EMPTY,
                                                   freeclimb.PlayBeep.NEVER)
    cf = created.conference_id
    a, b = await _join(h, cf, A, B)
    got = await sdk("get_a_conference", cf)
    assert got.status == freeclimb.ConferenceStatus.IN_PROGRESS and got.revision == 3
    listed = await sdk("list_conferences", status="inProgress")
    assert isinstance(listed, freeclimb.ConferenceList)
    assert [c.conference_id for c in listed.conferences] == [cf]
    assert await sdk("update_a_conference", cf, freeclimb.UpdateConferenceRequest(
        alias="renamed")) is None  # 204: the SDK expects exactly that status, with no body
    parts = await sdk("list_participants", cf)
    assert isinstance(parts, freeclimb.ConferenceParticipantList)
    assert {p.call_id for p in parts.participants} == {a, b}
    one = await sdk("get_a_participant", cf, a)
    assert isinstance(one, freeclimb.ConferenceParticipantResult) and one.talk is True
    muted = await sdk("update_a_participant", cf, a,
                      freeclimb.UpdateConferenceParticipantRequest(talk=False))
    assert isinstance(muted, freeclimb.ConferenceParticipantResult) and muted.talk is False
    assert [p.call_id for p in (await sdk("list_participants", cf, talk=False)).participants] == [a]
    assert await sdk("remove_a_participant", cf, b) is None
    await h.advance(1)
    with pytest.raises(NotFoundException):
        await sdk("get_a_participant", cf, b)
    assert await sdk("update_a_conference", cf, freeclimb.UpdateConferenceRequest(
        status=freeclimb.UpdateConferenceRequestStatus.TERMINATED)) is None
    final = await sdk("get_a_conference", cf)
    assert (final.status, final.alias) == (freeclimb.ConferenceStatus.TERMINATED, "renamed")
    with pytest.raises(BadRequestException):
        await sdk("create_a_conference", freeclimb.CreateConferenceRequest(
            status_callback_url="nope"))
    for leg in (a, b):
        assert (await h.run_until_ended(leg)).status.is_final
