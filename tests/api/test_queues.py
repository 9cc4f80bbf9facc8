"""/Queues and /Queues/{id}/Members over HTTP (in-process) and through the official SDK.

The SDK only deserializes a body on the exact status code it expects and its models are strict,
so the SDK round trip checks the wire format; the httpx tests check the error paths and fields."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import freeclimb
import httpx
import pytest
import pytest_asyncio
from freeclimb.exceptions import BadRequestException, NotFoundException

from percl.domain import ids
from percl.domain.records import Account
from percl.testing.harness import Harness

CALLER = "+15550100001"


@pytest_asyncio.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness() as harness:
        yield harness


def _base(h: Harness) -> str:
    return f"/Accounts/{h.account.account_id}/Queues"


async def _create(h: Harness, **body: Any) -> dict[str, Any]:
    r = await h.rest.post(_base(h), json=body)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def _other_account(h: Harness) -> tuple[httpx.AsyncClient, str]:
    """A client of a second account, and that account's id."""
    other = Account(account_id=h.ids.new(ids.ACCOUNT), api_key="k" * 40, signing_secret="s")
    await h.store.put_account(other)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=h.platform.asgi),
                               base_url="http://percl.test/apiserver",
                               auth=(other.account_id, other.api_key))
    return client, other.account_id


async def test_create_renders_a_queue_result(h: Harness) -> None:
    body = await _create(h, alias="support", maxSize=25)
    qid = body["queueId"]
    assert qid.startswith("QU") and len(qid) == 42
    uri = f"{_base(h)}/{qid}"
    assert body == {
        "uri": uri, "dateCreated": body["dateCreated"], "dateUpdated": body["dateCreated"],
        "revision": 1, "accountId": h.account.account_id, "queueId": qid, "alias": "support",
        "maxSize": 25, "currentSize": 0, "averageQueueRemovalTime": 0, "averageWaitTime": 0,
        "subresourceUris": {"members": f"{uri}/Members"},
    }
    assert body["dateCreated"].endswith(" GMT")
    assert freeclimb.QueueResult.from_dict(body) is not None


async def test_create_defaults_max_size_to_100(h: Harness) -> None:
    body = await _create(h)
    assert (body["maxSize"], body["alias"]) == (100, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [({"maxSize": 0}, "maxSize"), ({"maxSize": 1001}, "maxSize"), ({"maxSize": "5"}, "maxSize"),
     ({"alias": "x" * 65}, "alias"), ({"alias": 5}, "alias")],
)
async def test_create_rejects_bad_fields(h: Harness, body: dict[str, Any], field: str) -> None:
    r = await h.rest.post(_base(h), json=body)
    assert r.status_code == 400
    assert field in r.text


async def test_list_get_and_alias_filter(h: Harness) -> None:
    a = await _create(h, alias="a")
    await h.advance(1)  # oldest first
    b = await _create(h, alias="b")
    listed = (await h.rest.get(_base(h))).json()
    assert [q["queueId"] for q in listed["queues"]] == [a["queueId"], b["queueId"]]
    assert listed["total"] == 2 and listed["nextPageUri"] is None
    only_b = (await h.rest.get(_base(h), params={"alias": "b"})).json()
    assert [q["queueId"] for q in only_b["queues"]] == [b["queueId"]]
    assert (await h.rest.get(f"{_base(h)}/{a['queueId']}")).json() == a


async def test_unknown_and_foreign_queues_are_404(h: Harness) -> None:
    mine = await _create(h)
    unknown = "QU" + "0" * 40
    for path in ("", "/Members", "/Members/Front", f"/Members/CA{'1' * 40}"):
        r = await h.rest.get(f"{_base(h)}/{unknown}{path}")
        assert r.status_code == 404 and r.json()["code"] == 1, path
    other, acc = await _other_account(h)
    async with other:
        r = await other.get(f"/Accounts/{acc}/Queues/{mine['queueId']}")
        assert r.status_code == 404
        r = await other.post(f"/Accounts/{acc}/Queues/{mine['queueId']}", json={"alias": "x"})
        assert r.status_code == 404
        assert (await other.get(f"/Accounts/{acc}/Queues")).json()["queues"] == []


async def test_update_changes_only_what_was_sent(h: Harness) -> None:
    q = await _create(h, alias="a", maxSize=5)
    url = f"{_base(h)}/{q['queueId']}"
    await h.advance(60)
    r = await h.rest.post(url, json={"alias": "b"})
    assert r.status_code == 200
    body = r.json()
    assert (body["alias"], body["maxSize"], body["revision"]) == ("b", 5, 2)
    assert body["dateUpdated"] != body["dateCreated"]
    body = (await h.rest.post(url, json={"maxSize": None})).json()
    assert (body["maxSize"], body["revision"]) == (5, 2)  # null maxSize: nothing changes
    body = (await h.rest.post(url, json={"maxSize": 1000, "alias": None})).json()
    assert (body["alias"], body["maxSize"]) == (None, 1000)
    assert (await h.rest.post(url, json={"maxSize": 1001})).status_code == 400


async def test_member_routes_on_an_empty_queue(h: Harness) -> None:
    q = await _create(h)
    url = f"{_base(h)}/{q['queueId']}/Members"
    listed = (await h.rest.get(url)).json()
    assert listed["queueMembers"] == [] and listed["total"] == 0
    assert (await h.rest.get(f"{url}/Front")).status_code == 404
    r = await h.rest.post(f"{url}/Front")
    assert r.status_code == 404 and "no call waiting" in r.json()["message"]
    call_id = "CA" + "2" * 40
    assert (await h.rest.get(f"{url}/{call_id}")).status_code == 404
    r = await h.rest.post(f"{url}/{call_id}")
    assert r.status_code == 404 and call_id in r.json()["message"]


async def test_members_render_as_queue_members(h: Harness) -> None:
    q = await _create(h)
    app = h.scripted_app()
    app.on("/voice", [{"Enqueue": {"queueId": q["queueId"], "waitUrl": app.url("/wait"),
                                   "actionUrl": app.url("/action")}}])
    app.on("/wait", [{"Pause": {"length": 60000}}])
    number = await h.number_for_app(voice_url=app.url("/voice"))
    call_id = await h.sim_call(CALLER, number)
    await h.advance(4)
    url = f"{_base(h)}/{q['queueId']}/Members"
    member = (await h.rest.get(f"{url}/{call_id}")).json()
    assert member == {"uri": f"{url}/{call_id}", "callId": call_id, "waitTime": 4, "position": 1,
                      "dateEnqueued": member["dateEnqueued"]}
    assert (await h.rest.get(f"{url}/Front")).json() == member
    assert (await h.rest.get(url)).json()["queueMembers"] == [member]
    assert freeclimb.QueueMember.from_dict(member) is not None
    queue = (await h.rest.get(f"{_base(h)}/{q['queueId']}")).json()
    assert (queue["currentSize"], queue["averageWaitTime"]) == (1, 4)
    r = await h.rest.post(f"{url}/{call_id}")
    assert r.status_code == 202 and r.json() == member


async def test_the_official_sdk_round_trip(h: Harness) -> None:
    api = h.freeclimb_api()

    async def sdk(method: str, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(api, method), *args, **kwargs)

    created = await sdk("create_a_queue", freeclimb.QueueRequest(alias="support", max_size=10))
    assert isinstance(created, freeclimb.QueueResult) and created.revision == 1
    qid = created.queue_id
    got = await sdk("get_a_queue", qid)
    assert (got.alias, got.max_size, got.current_size, got.average_wait_time) == (
        "support", 10, 0, 0)
    updated = await sdk("update_a_queue", qid, freeclimb.QueueRequest(alias="sales", max_size=3))
    assert isinstance(updated, freeclimb.QueueResult)
    assert (updated.alias, updated.max_size, updated.revision) == ("sales", 3, 2)
    listed = await sdk("list_active_queues", alias="sales")
    assert isinstance(listed, freeclimb.QueueList)
    assert [q.queue_id for q in listed.queues] == [qid]
    members = await sdk("list_members", qid)
    assert isinstance(members, freeclimb.QueueMemberList) and members.queue_members == []
    with pytest.raises(NotFoundException):
        await sdk("get_head_member", qid)
    with pytest.raises(NotFoundException):
        await sdk("dequeue_head_member", qid)
    with pytest.raises(BadRequestException):
        await sdk("create_a_queue", freeclimb.QueueRequest(max_size=5000))
