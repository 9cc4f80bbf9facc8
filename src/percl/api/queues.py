"""/Accounts/{accountId}/Queues: create (201), list, get, update (200); members: list, get, head;
dequeue the head or a given call (202 QueueMember, the member's Enqueue actionUrl gets `dequeue`).

Reads come straight from the store (currentSize, positions and waits are computed from the
members at the request's clock time); changes go through the engine's `QueueControl`, which
serialises them with the calls waiting in the queue.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import Field, StrictInt

from percl.api.auth import PathAccount
from percl.api.deps import ApiDeps, deps_of
from percl.api.fields import Alias, WireModel
from percl.api.owned import of_account
from percl.api.pagination import SortKey, open_page, page_envelope, paginate
from percl.api.render import envelope, rfc1123
from percl.domain.records import Account, Queue
from percl.engine.ports import Store
from percl.engine.queue.state import (
    MAX_MAX_SIZE,
    MemberView,
    average_removal_s,
    average_wait_s,
    member_views,
)
from percl.engine.service import QueueControl
from percl.errors import ApiError, NotFound

router = APIRouter()

MaxSize = Annotated[StrictInt, Field(ge=1, le=MAX_MAX_SIZE)]


class QueueRequest(WireModel):
    """FreeClimb's QueueRequest: `alias` (≤ 64 characters), `maxSize` (1-1000, default 100)."""

    alias: Alias | None = None
    max_size: MaxSize | None = Field(default=None, alias="maxSize")

    def given(self) -> dict[str, Any]:
        """The fields the client sent, by record attribute; a null maxSize means "unchanged"."""
        changes = {name: getattr(self, name) for name in self.model_fields_set}
        if changes.get("max_size", 0) is None:
            del changes["max_size"]
        return changes


def queue_uri(queue: Queue) -> str:
    return f"/Accounts/{queue.account_id}/Queues/{queue.queue_id}"


async def render_queue(store: Store, queue: Queue, now: float) -> dict[str, Any]:
    """QueueResult: the record plus currentSize and the averages, as of clock time `now`."""
    members = await store.list_members(queue.queue_id)
    uri = queue_uri(queue)
    return {
        **envelope(uri, queue.date_created, queue.date_updated, queue.revision),
        "accountId": queue.account_id,
        "queueId": queue.queue_id,
        "alias": queue.alias,
        "maxSize": queue.max_size,
        "currentSize": len(members),
        "averageQueueRemovalTime": average_removal_s(queue),
        "averageWaitTime": average_wait_s(members, now),
        "subresourceUris": {"members": f"{uri}/Members"},
    }


def render_member(view: MemberView) -> dict[str, Any]:
    """QueueMember."""
    m = view.member
    return {
        "uri": f"/Accounts/{m.account_id}/Queues/{m.queue_id}/Members/{m.call_id}",
        "callId": m.call_id,
        "waitTime": view.wait_time_s,
        "position": view.position,
        "dateEnqueued": rfc1123(m.date_enqueued),
    }


async def owned_queue(store: Store, account: Account, queue_id: str) -> Queue:
    """The account's queue `queue_id`. Raises NotFound for unknown or foreign ids."""
    return of_account(await store.get_queue(queue_id), account, f"Queue {queue_id}")


def _control(deps: ApiDeps) -> QueueControl:
    if deps.queues is None:  # a wiring bug: app.py always gives one
        raise ApiError("Queues are not available on this server", code=0, status=500)
    return deps.queues


async def _views(deps: ApiDeps, account: Account, queue_id: str) -> list[MemberView]:
    await owned_queue(deps.store, account, queue_id)
    return member_views(await deps.store.list_members(queue_id), deps.clock.now())


@router.post("/Accounts/{account_id}/Queues", status_code=201)
async def create_queue(request: Request, account: PathAccount, body: QueueRequest) -> dict[str, Any]:
    """create-a-queue: 201 QueueResult."""
    deps = deps_of(request)
    given = body.given()
    queue = await _control(deps).create_queue(account, given.get("alias"), given.get("max_size"))
    return await render_queue(deps.store, queue, deps.clock.now())


@router.get("/Accounts/{account_id}/Queues")
async def list_queues(
    request: Request, account: PathAccount, alias: str | None = None
) -> dict[str, Any]:
    """list-active-queues: 200 QueueList, oldest first; `alias` matches exactly. Queues persist
    (FreeClimb has no delete), so every queue of the account is listed."""
    deps = deps_of(request)
    page = open_page(request, page_size=deps.page_size, max_list=deps.max_list)
    queues = await deps.store.list_queues(account.account_id, alias)
    after = page.after
    rest = queues if after is None else [q for q in queues if _queue_key(q) > after]
    now = deps.clock.now()
    # Rendering needs each queue's members (an await), so only the page's queues are rendered.
    chunk = [(q, await render_queue(deps.store, q, now)) for q in rest[: page.limit]]
    return page_envelope(request, page, len(queues), chunk, len(rest) > page.limit, "queues",
                         lambda slot: slot[1], lambda slot: _queue_key(slot[0]))


def _queue_key(queue: Queue) -> SortKey:
    """The queue list's order: oldest first."""
    return (queue.date_created, queue.queue_id)


@router.get("/Accounts/{account_id}/Queues/{queue_id}")
async def get_queue(request: Request, account: PathAccount, queue_id: str) -> dict[str, Any]:
    """get-a-queue: 200 QueueResult, 404 when unknown."""
    deps = deps_of(request)
    queue = await owned_queue(deps.store, account, queue_id)
    return await render_queue(deps.store, queue, deps.clock.now())


@router.post("/Accounts/{account_id}/Queues/{queue_id}")
async def update_queue(
    request: Request, account: PathAccount, queue_id: str, body: QueueRequest
) -> dict[str, Any]:
    """update-a-queue: 200 QueueResult. A maxSize below the current size refuses Enqueues until
    the queue has shrunk below it; members already waiting stay."""
    deps = deps_of(request)
    queue = await _control(deps).update_queue(account, queue_id, body.given())
    return await render_queue(deps.store, queue, deps.clock.now())


@router.get("/Accounts/{account_id}/Queues/{queue_id}/Members")
async def list_members(request: Request, account: PathAccount, queue_id: str) -> dict[str, Any]:
    """list-members: 200 QueueMemberList, head first."""
    deps = deps_of(request)
    views = await _views(deps, account, queue_id)
    return paginate(request, views, "queueMembers", render_member,
                    page_size=deps.page_size, max_list=deps.max_list,
                    sort_key=lambda v: (v.member.date_enqueued, v.member.seq, v.member.call_id))


# "Front" must be routed before {call_id}: it would match that pattern too.
@router.get("/Accounts/{account_id}/Queues/{queue_id}/Members/Front")
async def get_head_member(request: Request, account: PathAccount, queue_id: str) -> dict[str, Any]:
    """get-head-member: 200 QueueMember; 404 when the queue is empty."""
    views = await _views(deps_of(request), account, queue_id)
    if not views:
        raise NotFound(f"Queue {queue_id} is empty")
    return render_member(views[0])


@router.post("/Accounts/{account_id}/Queues/{queue_id}/Members/Front", status_code=202)
async def dequeue_head_member(
    request: Request, account: PathAccount, queue_id: str
) -> dict[str, Any]:
    """dequeue-head-member: 202 QueueMember (as it was); its actionUrl gets `dequeue`."""
    return render_member(await _control(deps_of(request)).dequeue(account, queue_id, None))


@router.get("/Accounts/{account_id}/Queues/{queue_id}/Members/{call_id}")
async def get_member(
    request: Request, account: PathAccount, queue_id: str, call_id: str
) -> dict[str, Any]:
    """get-a-member: 200 QueueMember; 404 when the call is not in the queue."""
    views = await _views(deps_of(request), account, queue_id)
    for view in views:
        if view.member.call_id == call_id:
            return render_member(view)
    raise NotFound(f"Call {call_id} is not in queue {queue_id}")


@router.post("/Accounts/{account_id}/Queues/{queue_id}/Members/{call_id}", status_code=202)
async def dequeue_member(
    request: Request, account: PathAccount, queue_id: str, call_id: str
) -> dict[str, Any]:
    """dequeue-a-member: 202 QueueMember (as it was); its actionUrl gets `dequeue`."""
    return render_member(await _control(deps_of(request)).dequeue(account, queue_id, call_id))
