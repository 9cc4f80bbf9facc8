"""Account logs: GET and POST /Accounts/{accountId}/Logs, GET /Accounts/{a}/Calls/{callId}/Logs.

POST /Logs filters with PQL. Only its simplest form is understood for now: `field = "value"`
clauses joined by AND, over LogResult's property names (issue 3 brings the full language). The
filter also travels as a `pql` query parameter of GET /Logs, which is how a filtered list's
nextPageUri (always fetched with GET) keeps its filter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import StrictStr

from percl.api.auth import PathAccount
from percl.api.calls import owned_call
from percl.api.deps import deps_of
from percl.api.fields import WireModel
from percl.api.pagination import paginate
from percl.domain.records import LogEntry
from percl.engine.ports import LogFilter
from percl.errors import BadRequest

router = APIRouter()

PQL_SYNTAX_CODE = 5

_CLAUSE_RE = re.compile(
    r'\s*(?P<field>[A-Za-z]+)\s*=\s*(?:"(?P<text>(?:[^"\\]|\\.)*)"|(?P<number>-?[0-9]+))\s*'
)
_AND_RE = re.compile(r"\s*AND\s*", re.IGNORECASE)

# LogResult property -> how to read it from an entry (as the string PQL compares against).
_FIELDS: dict[str, Callable[[LogEntry], str | None]] = {
    "timestamp": lambda e: str(e.timestamp),
    "level": lambda e: e.level.value,
    "requestId": lambda e: e.request_id,
    "accountId": lambda e: e.account_id,
    "callId": lambda e: e.call_id,
    "message": lambda e: e.message,
}


@dataclass(frozen=True, slots=True)
class Clause:
    field: str
    value: str

    def matches(self, entry: LogEntry) -> bool:
        actual = _FIELDS[self.field](entry)
        if self.field == "level":  # PQL examples write "ERROR"; our levels are lowercase
            return actual is not None and actual.lower() == self.value.lower()
        return actual == self.value


def _pql_error(pql: str, problem: str) -> BadRequest:
    return BadRequest(
        f'PQL syntax error in {pql!r}: {problem}. Supported: field = "value" joined by AND',
        code=PQL_SYNTAX_CODE,
        details={"field": "pql"},
    )


def parse_pql(pql: str) -> list[Clause]:
    """The clauses of `field = "value" AND ...`. Raises BadRequest (400, code 5) otherwise."""
    clauses: list[Clause] = []
    pos = 0
    while True:
        match = _CLAUSE_RE.match(pql, pos)
        if match is None:
            raise _pql_error(pql, f'expected field = "value" at position {pos}')
        field = match.group("field")
        if field not in _FIELDS:
            raise _pql_error(pql, f"unknown field {field!r} (known: {', '.join(_FIELDS)})")
        text = match.group("text")
        value = re.sub(r"\\(.)", r"\1", text) if text is not None else match.group("number")
        clauses.append(Clause(field, value))
        pos = match.end()
        if pos == len(pql):
            return clauses
        joiner = _AND_RE.match(pql, pos)
        if joiner is None or joiner.end() == pos:
            raise _pql_error(pql, f"expected AND at position {pos}")
        pos = joiner.end()


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
    clauses = parse_pql(pql) if pql else []
    entries = await deps_of(request).store.list_logs(account_id, LogFilter())
    kept = [e for e in entries if all(c.matches(e) for c in clauses)]
    return _log_page(request, kept)


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
    """filter-logs: 200 LogList of the entries matching `pql`."""
    page = await _filtered(request, account.account_id, body.pql)
    if page["nextPageUri"] is not None:
        # The next page is fetched with GET, so the filter rides along in the query string.
        page["nextPageUri"] = _with_pql(page["nextPageUri"], body.pql)
    return page


def _with_pql(uri: str, pql: str) -> str:
    return f"{uri}&{urlencode({'pql': pql})}"


@router.get("/Accounts/{account_id}/Calls/{call_id}/Logs")
async def list_call_logs(request: Request, account: PathAccount, call_id: str) -> dict[str, Any]:
    """list-call-logs: 200 LogList of one call's entries. 404 when the call is unknown."""
    deps = deps_of(request)
    await owned_call(deps.store, account, call_id)
    entries = await deps.store.list_logs(account.account_id, LogFilter(call_id=call_id))
    return _log_page(request, entries)
