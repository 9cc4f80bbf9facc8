"""/Accounts/{accountId}/Blobs: an account's JSON documents with an alias and an expiry.

FreeClimb's rules, as its OpenAPI document states them: `alias` is unique within the account and
at most 64 characters (default: the blobId; a clash is 409 code 108); `expiresAt` is an RFC 3339
time at most 48 hours ahead (default 9 hours ahead), after which the blob deletes itself; a blob
larger than the limit is 413 (code 3). Times render as RFC 3339 with milliseconds.

Expiry without a timer: every blob route first deletes the blobs whose time has come (by the
injected Clock), so an expired blob is never seen, its alias is free again, and nothing waits for
a restart. The size counted is the blob's compact JSON text in UTF-8 (`ApiDeps.blob_max_bytes`).

PUT and PATCH write compare-and-set (the store's `expect_revision`): a write lands only on the
revision it was computed from. When another request wrote or deleted the blob in between, the
change is computed again from what is stored now: a racing PATCH's keys are kept, a racing DELETE
stays done (404), and after `WRITE_ATTEMPTS` lost races the answer is 409 (code 108).

DELETE removes the whole blob (204). FreeClimb also describes deleting single keys through a
request body, but documents no body (and the SDK sends none), so percl reads none.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import Field, StrictStr

from percl.api.auth import PathAccount
from percl.api.deps import ApiDeps, deps_of
from percl.api.fields import WireModel
from percl.api.owned import of_account
from percl.api.pagination import paginate
from percl.api.render import iso
from percl.domain.ids import BLOB
from percl.domain.records import Account, Blob
from percl.errors import ApiError, BadRequest, Conflict

router = APIRouter()

DEFAULT_TTL_S = 9 * 3600
MAX_TTL_S = 48 * 3600
#: How often a PUT or PATCH recomputes its change when other writes keep getting in first.
WRITE_ATTEMPTS = 5

BlobAlias = Annotated[StrictStr, Field(min_length=1, max_length=64)]


class CreateBlobRequest(WireModel):
    alias: BlobAlias | None = None
    expires_at: StrictStr | None = Field(default=None, alias="expiresAt")
    blob: dict[str, Any]


class ModifyBlobRequest(WireModel):
    blob: dict[str, Any]
    alias: BlobAlias | None = None


class ReplaceBlobRequest(WireModel):
    blob: dict[str, Any]


def render_blob(blob: Blob) -> dict[str, Any]:
    """BlobResult."""
    return {
        "blobId": blob.blob_id,
        "accountId": blob.account_id,
        "alias": blob.alias,
        "revision": blob.revision,
        "dateCreated": iso(blob.date_created),
        "dateUpdated": iso(blob.date_updated),
        "expiresAt": iso(blob.expires_at),
        "blob": json.loads(blob.content),
    }


def blob_text(content: dict[str, Any], limit: int) -> str:
    """`content` as compact JSON text. Raises 413 (code 3) when it is over `limit` bytes."""
    text = json.dumps(content, separators=(",", ":"), ensure_ascii=False)
    size = len(text.encode())
    if size > limit:
        raise ApiError(f"The blob is {size} bytes of JSON; a blob may hold at most {limit}",
                       status=413, code=3, details={"field": "blob"})
    return text


def expiry(value: str | None, now: float) -> float:
    """Epoch seconds of `expiresAt` (default: 9 hours from `now`). Raises BadRequest unless it
    is an RFC 3339 time with a zone, after `now` and at most 48 hours ahead."""
    if value is None:
        return now + DEFAULT_TTL_S
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadRequest(f"expiresAt must be an RFC 3339 time such as 2025-01-04T15:04:05.060Z, "
                         f"got {value!r}", details={"field": "expiresAt"})
    at = moment.timestamp()
    if not now < at <= now + MAX_TTL_S:
        raise BadRequest(f"expiresAt must be in the future and at most 48 hours ahead, got {value!r}",
                         details={"field": "expiresAt"})
    return at


async def _owned_blob(deps: ApiDeps, account: Account, blob_id: str) -> Blob:
    """The account's live blob. Expired ones are deleted first; raises NotFound."""
    await deps.store.delete_expired_blobs(deps.clock.now())
    return of_account(await deps.store.get_blob(blob_id), account, f"Blob {blob_id}")


async def _update(deps: ApiDeps, account: Account, blob_id: str,
                  change: Callable[[Blob], dict[str, Any]]) -> Blob:
    """The account's blob with the fields `change` computes from it, stored as a new revision
    if nobody wrote the blob since it was read; otherwise read and computed again. Raises
    NotFound (gone, also when deleted meanwhile), Conflict (alias clash; or still losing races
    after WRITE_ATTEMPTS), and what `change` raises."""
    for _ in range(WRITE_ATTEMPTS):
        blob = await _owned_blob(deps, account, blob_id)
        updated = dataclasses.replace(blob, date_updated=deps.clock.now(),
                                      revision=blob.revision + 1, **change(blob))
        if await deps.store.put_blob(updated, expect_revision=blob.revision):
            return updated
    raise Conflict(f"Blob {blob_id} kept changing while this request was applied; try again",
                   details={"blobId": blob_id})


@router.post("/Accounts/{account_id}/Blobs", status_code=201)
async def create_blob(request: Request, account: PathAccount, body: CreateBlobRequest) -> dict[str, Any]:
    """create-blob: 201 BlobResult; 400 bad expiresAt, 409 alias taken, 413 too large."""
    deps = deps_of(request)
    now = deps.clock.now()
    await deps.store.delete_expired_blobs(now)
    blob_id = deps.ids.new(BLOB)
    blob = Blob(
        blob_id=blob_id,
        account_id=account.account_id,
        alias=body.alias if body.alias is not None else blob_id,
        content=blob_text(body.blob, deps.blob_max_bytes),
        expires_at=expiry(body.expires_at, now),
        date_created=now,
        date_updated=now,
    )
    await deps.store.put_blob(blob)
    return render_blob(blob)


@router.get("/Accounts/{account_id}/Blobs")
async def list_blobs(request: Request, account: PathAccount, alias: str | None = None) -> dict[str, Any]:
    """list-blobs: 200 BlobListResponse, oldest first; `alias` exact; pages by `cursor`."""
    deps = deps_of(request)
    await deps.store.delete_expired_blobs(deps.clock.now())
    found = await deps.store.list_blobs(account.account_id, alias)
    return paginate(request, found, "blobs", render_blob,
                    page_size=deps.page_size, max_list=deps.max_list,
                    sort_key=lambda b: (b.date_created, b.blob_id))


@router.get("/Accounts/{account_id}/Blobs/{blob_id}")
async def get_blob(request: Request, account: PathAccount, blob_id: str) -> dict[str, Any]:
    """get-blob: 200 BlobResult, 404 when unknown, foreign or expired."""
    return render_blob(await _owned_blob(deps_of(request), account, blob_id))


@router.put("/Accounts/{account_id}/Blobs/{blob_id}")
async def replace_blob(
    request: Request, account: PathAccount, blob_id: str, body: ReplaceBlobRequest
) -> dict[str, Any]:
    """replace-blob: 200 BlobResult whose content is exactly `blob`; 413 when too large."""
    deps = deps_of(request)
    return render_blob(await _update(
        deps, account, blob_id, lambda _blob: {"content": blob_text(body.blob, deps.blob_max_bytes)}))


@router.patch("/Accounts/{account_id}/Blobs/{blob_id}")
async def modify_blob(
    request: Request, account: PathAccount, blob_id: str, body: ModifyBlobRequest
) -> dict[str, Any]:
    """modify-blob: 200 BlobResult; `blob`'s top-level keys are added or replaced, the others
    kept; `alias` renames (409 when taken); 413 when the result is too large."""
    deps = deps_of(request)

    def merge(blob: Blob) -> dict[str, Any]:
        merged = {**json.loads(blob.content), **body.blob}
        changes: dict[str, Any] = {"content": blob_text(merged, deps.blob_max_bytes)}
        if body.alias is not None:
            changes["alias"] = body.alias
        return changes

    return render_blob(await _update(deps, account, blob_id, merge))


@router.delete("/Accounts/{account_id}/Blobs/{blob_id}", status_code=204)
async def delete_blob(request: Request, account: PathAccount, blob_id: str) -> Response:
    """delete-blob: 204; 404 when unknown, foreign or expired."""
    deps = deps_of(request)
    await _owned_blob(deps, account, blob_id)
    await deps.store.delete_blob(blob_id)
    return Response(status_code=204)
