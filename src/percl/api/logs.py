"""Account logs: GET and POST /Accounts/{accountId}/Logs, GET /Accounts/{a}/Calls/{callId}/Logs.

POST /Logs filters with PQL (the language lives in percl.api.pql; a bad query is 400, code 5).
The whole parsed query goes to the store, which evaluates it in SQL (store/sql/log_query.py), and a
page is one keyset walk of an index: the cursor holds the PQL, the position of the last line
shown and the total counted on the first page (counted no further than the list cap), so a page
costs the same however long the log is. `pql` is also accepted as a query parameter of GET
/Logs (a percl extension); that is how a cursor's PQL reaches the GET that fetches a next page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import StrictStr

from percl.api.auth import PathAccount
from percl.api.calls import owned_call
from percl.api.deps import deps_of
from percl.api.fields import WireModel
from percl.api.pagination import SortKey, matched_count, open_page, page_envelope
from percl.api.pql import parse_pql
from percl.domain.records import LogEntry
from percl.engine.ports import LogFilter, LogPosition

router = APIRouter()

PQL_PARAM = "pql"


def render_log(entry: LogEntry) -> dict[str, Any]:
    """LogResult (timestamp in integer microseconds)."""
    return {
        "timestamp": entry.timestamp,
        "level": entry.level.value,
        "requestId": entry.request_id,
        "accountId": entry.account_id,
        "callId": entry.call_id,
        "message": entry.message,
        "metadata": dict(entry.metadata),
    }


class FilterLogsBody(WireModel):
    """FreeClimb's FilterLogsRequest."""

    pql: StrictStr


async def _log_page(
    request: Request, account_id: str, flt: LogFilter, pql: str | None = None
) -> dict[str, Any]:
    """The page of the account's matching lines the request names. With `pql` (POST /Logs) the
    cursor of the next page carries it and nextPageUri shows only the cursor."""
    deps = deps_of(request)
    store = deps.store
    filters = None if pql is None else [(PQL_PARAM, pql)]
    page = open_page(request, page_size=deps.page_size, max_list=deps.max_list, filters=filters)
    rows = await store.page_logs(account_id, flt, before=_position(page.after),
                                 limit=page.limit + 1)
    more = len(rows) > page.limit
    matched = await matched_count(page, len(rows), more,
                                  lambda: store.count_logs(account_id, flt, cap=deps.max_list))
    return page_envelope(request, page, matched, rows, more, "logs", lambda row: render_log(row[1]),
                         lambda row: row[0], query_filters=pql is None)


def _position(after: SortKey | None) -> LogPosition | None:
    """The store's keyset position from a (verified) cursor's sort key."""
    if after is None:
        return None
    timestamp, seq = after
    return int(timestamp), int(seq)


def _filter(pql: str | None) -> LogFilter:
    """The store filter of `pql` (everything when None). Raises PqlError (400, code 5) before
    the store is touched when `pql` is not valid PQL."""
    return LogFilter() if pql is None else LogFilter(query=parse_pql(pql))


@router.get("/Accounts/{account_id}/Logs")
async def list_logs(
    request: Request, account: PathAccount, pql: str | None = None
) -> dict[str, Any]:
    """list-all-account-logs: 200 LogList, newest first. `pql` (percl extension) filters."""
    return await _log_page(request, account.account_id, _filter(pql))


@router.post("/Accounts/{account_id}/Logs")
async def filter_logs(
    request: Request, account: PathAccount, body: FilterLogsBody
) -> dict[str, Any]:
    """filter-logs: 200 LogList of the entries matching `pql`. Bad PQL: 400, code 5. The next
    page is `GET nextPageUri`, whose cursor carries the PQL."""
    return await _log_page(request, account.account_id, _filter(body.pql), body.pql)


@router.get("/Accounts/{account_id}/Calls/{call_id}/Logs")
async def list_call_logs(request: Request, account: PathAccount, call_id: str) -> dict[str, Any]:
    """list-call-logs: 200 LogList of one call's entries. 404 when the call is unknown."""
    deps = deps_of(request)
    await owned_call(deps.store, account, call_id)
    return await _log_page(request, account.account_id, LogFilter(call_id=call_id))
