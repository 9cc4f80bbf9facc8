"""/Accounts/{accountId}/Exports: CSV exports of an account's calls or messages.

POST takes FreeClimb's ExportRequest `{resourceType: Calls|Messages, format: [columns], output:
{type: csv}, query: {filters}}` and answers 200 ExportResult `queued`; the file is written in the
background (api/export_jobs.py). `format` names columns of CallResult or MessageResult (all of
them, in the result's order, when absent or empty); `query` takes the filters of GET /Calls
(`active`, `to`, `from`, `status`, `startTime`, `endTime`, `parentCallId`, `applicationId`) or GET
/Messages (`to`, `from`, `beginTime`, `endTime`, `direction`, `campaignId`, `brandId`, `is10DLC`),
written as JSON values, and an unknown one is a 400 naming it. Rows are newest first and only
those created before the export was asked for (a snapshot: later rows never shift the pages).

GET .../Download streams the finished file as `text/csv`; an export that is not `completed`
(or was deleted) has no file: 404. DELETE (204) stops the job, deletes the file and keeps the
record listed as `deleted`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from percl.api.auth import PathAccount
from percl.api.calls import call_filter, render_call
from percl.api.campaign_registry import CampaignRegistry
from percl.api.deps import ApiDeps, deps_of
from percl.api.errors import validation_to_api_error
from percl.api.export_jobs import PAGE_ROWS, ExportJobs, RowPages
from percl.api.fields import WireModel
from percl.api.messages import (
    CampaignMessageFilter,
    filter_time,
    message_campaign,
    message_renderer,
    render_message,
)
from percl.api.owned import of_account
from percl.api.pagination import paginate
from percl.api.render import envelope
from percl.domain.enums import (
    CallDirection,
    CallStatus,
    ExportResourceType,
    ExportStatus,
    MessageDirection,
)
from percl.domain.ids import EXPORT
from percl.domain.records import Account, Call, Export, Message
from percl.engine.ports import MessageFilter, Store
from percl.errors import ApiError, BadRequest, NotFound

router = APIRouter()

T = TypeVar("T")


class ExportOutput(WireModel):
    type: Literal["csv"]


class ExportRequest(WireModel):
    """FreeClimb's ExportRequest."""

    resource_type: ExportResourceType = Field(alias="resourceType")
    format: list[StrictStr] | None = None
    output: ExportOutput
    query: dict[str, Any] | None = None


class _Query(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class CallsQuery(_Query):
    """The filters of GET /Calls, as JSON values."""

    active: StrictBool = False
    to: StrictStr | None = None
    from_: StrictStr | None = Field(default=None, alias="from")
    status: CallStatus | None = None
    start_time: StrictStr | None = Field(default=None, alias="startTime")
    end_time: StrictStr | None = Field(default=None, alias="endTime")
    parent_call_id: StrictStr | None = Field(default=None, alias="parentCallId")
    application_id: list[StrictStr] | StrictStr | None = Field(default=None, alias="applicationId")


class MessagesQuery(_Query):
    """The filters of GET /Messages, as JSON values."""

    to: StrictStr | None = None
    from_: StrictStr | None = Field(default=None, alias="from")
    begin_time: StrictStr | None = Field(default=None, alias="beginTime")
    end_time: StrictStr | None = Field(default=None, alias="endTime")
    direction: MessageDirection | None = None
    campaign_id: StrictStr | None = Field(default=None, alias="campaignId")
    brand_id: StrictStr | None = Field(default=None, alias="brandId")
    is_10dlc: StrictBool | None = Field(default=None, alias="is10DLC")


@functools.cache
def columns_of(resource: ExportResourceType) -> tuple[str, ...]:
    """Every column an export of `resource` may have: the keys of its REST result, in order."""
    if resource is ExportResourceType.CALLS:
        return tuple(render_call(Call("CA", "AC", "", "", CallDirection.INBOUND)))
    return tuple(render_message(Message("SM", "AC", "", "", "", MessageDirection.OUTBOUND)))


def export_uri(export: Export) -> str:
    return f"/Accounts/{export.account_id}/Exports/{export.export_id}"


def render_export(export: Export) -> dict[str, Any]:
    """ExportResult."""
    return {
        **envelope(export_uri(export), export.date_created, export.date_updated, export.revision),
        "accountId": export.account_id,
        "exportId": export.export_id,
        "status": export.status.value,
        "size": export.size,
        "resourceType": export.resource_type.value,
        "query": json.loads(export.query),
        "format": list(export.fields),
        "output": {"type": "csv"},
    }


def _query(model: type[_Query], query: Mapping[str, Any]) -> Any:
    """`query` validated by `model`. Raises BadRequest naming `query.<field>`."""
    try:
        return model.model_validate(query)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", "query", *e["loc"])} for e in exc.errors()]
        raise validation_to_api_error(errors) from None


def _fields(resource: ExportResourceType, wanted: list[str] | None) -> tuple[str, ...]:
    known = columns_of(resource)
    unknown = [name for name in wanted or () if name not in known]
    if unknown:
        raise BadRequest(f"format: {', '.join(unknown)} is not a field of a {resource.value} "
                         f"result; use some of {', '.join(known)}", details={"field": "format"})
    return tuple(wanted) if wanted else known


Position = tuple[float, str]  # a row's keyset position in its list: (dateCreated, id)


async def _pages(read: Callable[[Position | None], Awaitable[tuple[Position | None, int, Sequence[T]]]],
                 render: Callable[[T], dict[str, Any]]) -> AsyncIterator[list[dict[str, Any]]]:
    """Rendered pages, `read(before)` fetching each after the keyset position `before` (so rows
    written meanwhile neither repeat nor shift the walk): the last fetched row's position, how
    many rows the store gave (PAGE_ROWS but for the last page) and those a filter kept."""
    before: Position | None = None
    while True:
        before, fetched, rows = await read(before)
        if rows:
            yield [render(row) for row in rows]
        if fetched < PAGE_ROWS:
            return


def _call_pages(store: Store, account_id: str, query: Mapping[str, Any], now: float) -> RowPages:
    q: CallsQuery = _query(CallsQuery, query)
    ids = [q.application_id] if isinstance(q.application_id, str) else (q.application_id or [])
    flt = call_filter(q.active, q.to, q.from_, q.status, q.start_time, q.end_time,
                      q.parent_call_id, ids)
    flt = dataclasses.replace(flt, created_to=now)

    async def read(before: Position | None) -> tuple[Position | None, int, Sequence[Call]]:
        rows = await store.list_calls(account_id, flt, before=before, limit=PAGE_ROWS)
        last = (rows[-1].date_created, rows[-1].call_id) if rows else None
        return last, len(rows), rows

    return lambda: _pages(read, render_call)


def _message_pages(store: Store, account_id: str, query: Mapping[str, Any], now: float,
                   registry: CampaignRegistry) -> RowPages:
    q: MessagesQuery = _query(MessagesQuery, query)
    end = filter_time(q.end_time, "query.endTime", end=True) if q.end_time else now
    flt = MessageFilter(
        to=q.to, from_=q.from_, direction=q.direction, end=min(end, now),
        begin=filter_time(q.begin_time, "query.beginTime", end=False) if q.begin_time else None,
    )
    by_campaign = CampaignMessageFilter(q.campaign_id, q.brand_id, q.is_10dlc)

    async def read(before: Position | None) -> tuple[Position | None, int, Sequence[Message]]:
        rows = await store.list_messages(account_id, flt, before=before, limit=PAGE_ROWS)
        last = (rows[-1].date_created, rows[-1].message_id) if rows else None
        if not by_campaign.active:
            return last, len(rows), rows
        kept = [m for m in rows if by_campaign.keeps(message_campaign(registry, m))]
        return last, len(rows), kept

    return lambda: _pages(read, message_renderer(registry))


def _jobs(deps: ApiDeps) -> ExportJobs:
    if deps.exports is None:
        raise ApiError("Exports are not available on this server", status=503, code=55)
    return deps.exports


async def owned_export(store: Store, account: Account, export_id: str) -> Export:
    """The account's export `export_id`. Raises NotFound for unknown or foreign ids."""
    return of_account(await store.get_export(export_id), account, f"Export {export_id}")


@router.post("/Accounts/{account_id}/Exports")
async def create_export(request: Request, account: PathAccount, body: ExportRequest) -> dict[str, Any]:
    """create-export: 200 ExportResult `queued`; 400 naming a bad format column or query filter."""
    deps = deps_of(request)
    jobs = _jobs(deps)
    now = deps.clock.now()
    query = body.query or {}
    fields = _fields(body.resource_type, body.format)
    if body.resource_type is ExportResourceType.CALLS:
        pages = _call_pages(deps.store, account.account_id, query, now)
    else:
        registry = deps.campaigns or CampaignRegistry.empty()
        pages = _message_pages(deps.store, account.account_id, query, now, registry)
    export = Export(
        export_id=deps.ids.new(EXPORT), account_id=account.account_id,
        resource_type=body.resource_type, fields=fields,
        query=json.dumps(query, separators=(",", ":")), date_created=now, date_updated=now,
    )
    await deps.store.put_export(export)
    jobs.start(export, pages)
    return render_export(export)


@router.get("/Accounts/{account_id}/Exports")
async def list_exports(
    request: Request, account: PathAccount, status: ExportStatus | None = None
) -> dict[str, Any]:
    """list-exports: 200 ExportList, newest first; `status` filters; pages by `cursor`."""
    deps = deps_of(request)
    found = await deps.store.list_exports(account.account_id, status)
    return paginate(request, found, "exports", render_export,
                    page_size=deps.page_size, max_list=deps.max_list,
                    sort_key=lambda e: (e.date_created, e.export_id), descending=True)


@router.get("/Accounts/{account_id}/Exports/{export_id}")
async def get_export(request: Request, account: PathAccount, export_id: str) -> dict[str, Any]:
    """get-an-export: 200 ExportResult (deleted ones too), 404 when unknown or foreign."""
    return render_export(await owned_export(deps_of(request).store, account, export_id))


@router.delete("/Accounts/{account_id}/Exports/{export_id}", status_code=204)
async def delete_export(request: Request, account: PathAccount, export_id: str) -> Response:
    """delete-an-export: 204; the job stops, the file goes, the record stays as `deleted`."""
    deps = deps_of(request)
    export = await owned_export(deps.store, account, export_id)
    await _jobs(deps).delete(export)
    return Response(status_code=204)


@router.get("/Accounts/{account_id}/Exports/{export_id}/Download")
async def download_export(request: Request, account: PathAccount, export_id: str) -> StreamingResponse:
    """download-an-export: 200 text/csv, streamed from the file; 404 until `completed`."""
    deps = deps_of(request)
    export = await owned_export(deps.store, account, export_id)
    chunks = _jobs(deps).files.chunks(export_id) if export.status is ExportStatus.COMPLETED else None
    if chunks is None:
        raise NotFound(f"Export {export_id} has no file to download: its status is "
                       f"{export.status.value} (only a completed export has one)")
    filename = f"{export_id}.csv"
    return StreamingResponse(chunks, media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})
