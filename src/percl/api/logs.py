"""Account logs: GET and POST /Accounts/{accountId}/Logs, GET /Accounts/{a}/Calls/{callId}/Logs.

POST /Logs filters with PQL (the language lives in percl.api.pql; a bad query is 400, code 5).
The filter also travels as a `pql` query parameter of GET /Logs, which is how a filtered list's
nextPageUri (always fetched with GET) keeps its filter. The store is asked only for what a query
pins down for certain (one callId, one level in a top-level AND); PQL decides the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Request
from pydantic import StrictStr

from percl.api.auth import PathAccount
from percl.api.calls import owned_call
from percl.api.deps import deps_of
from percl.api.fields import WireModel
from percl.api.pagination import paginate
from percl.api.pql import And, Comparison, Node, Op, matches, parse_pql
from percl.domain.enums import LogLevel
from percl.domain.records import LogEntry
from percl.engine.ports import LogFilter

router = APIRouter()

PQL_PARAM = "pql"


def store_filter(node: Node) -> LogFilter:
    """The LogFilter every match of `node` satisfies, so the store can narrow before PQL runs.

    Only `callId = "..."` and `level = "..."` that must hold (the whole query, or a term of a
    top-level AND) are pushed down; anything else leaves the store filter open.
    """
    terms = node.terms if isinstance(node, And) else (node,)
    call_id: str | None = None
    level: LogLevel | None = None
    for term in terms:
        if not isinstance(term, Comparison) or term.op is not Op.EQ:
            continue
        if term.field == "callId" and isinstance(term.value, str):
            call_id = term.value
        elif term.field == "level" and isinstance(term.value, LogLevel):
            level = term.value
    return LogFilter(call_id=call_id, level=level)


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


def _log_page(request: Request, entries: Sequence[LogEntry]) -> dict[str, Any]:
    deps = deps_of(request)
    return paginate(
        request, entries, "logs", render_log, page_size=deps.page_size, max_list=deps.max_list
    )


async def _filtered(request: Request, account_id: str, pql: str | None) -> dict[str, Any]:
    """The page of the account's log entries that match `pql` (all entries when None).

    Raises PqlError (400, code 5) before touching the store when `pql` is not valid PQL.
    """
    store = deps_of(request).store
    if pql is None:
        return _log_page(request, await store.list_logs(account_id, LogFilter()))
    node = parse_pql(pql)
    entries = await store.list_logs(account_id, store_filter(node))
    return _log_page(request, [e for e in entries if matches(node, e)])


@router.get("/Accounts/{account_id}/Logs")
async def list_logs(
    request: Request, account: PathAccount, pql: str | None = None
) -> dict[str, Any]:
    """list-all-account-logs: 200 LogList, newest first. `pql` (percl extension) filters."""
    return await _filtered(request, account.account_id, pql)


@router.post("/Accounts/{account_id}/Logs")
async def filter_logs(
    request: Request, account: PathAccount, body: FilterLogsBody
) -> dict[str, Any]:
    """filter-logs: 200 LogList of the entries matching `pql`. Bad PQL: 400, code 5."""
    page = await _filtered(request, account.account_id, body.pql)
    if page["nextPageUri"] is not None:
        # The next page is fetched with GET, so the filter rides along in the query string.
        page["nextPageUri"] = with_pql(page["nextPageUri"], body.pql)
    return page


def with_pql(uri: str, pql: str) -> str:
    """`uri` with its `pql` query parameter set to `pql` (replacing any the request carried)."""
    parts = urlsplit(uri)
    params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != PQL_PARAM]
    params.append((PQL_PARAM, pql))
    return f"{parts.path}?{urlencode(params)}"


@router.get("/Accounts/{account_id}/Calls/{call_id}/Logs")
async def list_call_logs(request: Request, account: PathAccount, call_id: str) -> dict[str, Any]:
    """list-call-logs: 200 LogList of one call's entries. 404 when the call is unknown."""
    deps = deps_of(request)
    await owned_call(deps.store, account, call_id)
    entries = await deps.store.list_logs(account.account_id, LogFilter(call_id=call_id))
    return _log_page(request, entries)
