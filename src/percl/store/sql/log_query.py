"""The account log's queries: a LogFilter (its PQL tree included) as a WHERE clause, keyset pages,
capped counts and bounded pruning.

Why PQL runs in SQL: GET /Logs on a long log read every line of the account into Python per page
(411k lines: ~4 s, every other request waiting). Every PQL comparison has an SQL equivalent, so a
whole query becomes one WHERE clause and a page is one index walk (`ix_logs_account_timestamp`,
or `ix_logs_call` for a call's lines) that stops after `limit` rows; nothing is left for Python.
The translation follows percl.domain.logquery's rules: strings compare exactly (SQLite's
default BINARY collation), levels by severity (as a set of level names), a null field satisfies
only `!=`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Delete,
    Integer,
    Select,
    and_,
    bindparam,
    delete,
    false,
    func,
    literal,
    or_,
    select,
    tuple_,
)

from percl.domain.enums import LogLevel
from percl.domain.logquery import And, Comparison, LogQuery, Op, levels_matching
from percl.engine.ports import LogFilter, LogPosition
from percl.store.base import PRUNE_BATCH
from percl.store.schema import LOG_MAP, logs

_C = logs.c
_COLUMNS = {
    "timestamp": _C.timestamp,
    "level": _C.level,
    "requestId": _C.request_id,
    "accountId": _C.account_id,
    "callId": _C.call_id,
    "message": _C.message,
}
_NULLABLE = frozenset({"requestId", "callId"})


def log_conditions(account_id: str, flt: LogFilter) -> list[ColumnElement[bool]]:
    """The WHERE conditions of `flt` over the account's lines."""
    conds: list[ColumnElement[bool]] = [_C.account_id == account_id]
    if flt.call_id is not None:
        conds.append(_C.call_id == flt.call_id)
    if flt.level is not None:
        conds.append(_C.level == flt.level.value)
    if flt.query is not None:
        conds.append(query_condition(flt.query))
    return conds


def query_condition(node: LogQuery) -> ColumnElement[bool]:
    """A parsed PQL tree as one SQL condition."""
    if isinstance(node, And):
        return and_(*(query_condition(t) for t in node.terms))
    if not isinstance(node, Comparison):
        return or_(*(query_condition(t) for t in node.terms))
    column = _COLUMNS[node.field]
    if isinstance(node.value, LogLevel):
        levels = levels_matching(node.op, node.value)
        return column.in_([lv.value for lv in levels]) if levels else false()
    comparison: ColumnElement[bool] = {
        Op.EQ: column == node.value,
        Op.NE: column != node.value,
        Op.LT: column < node.value,
        Op.LE: column <= node.value,
        Op.GT: column > node.value,
        Op.GE: column >= node.value,
    }[node.op]
    if node.op is Op.NE and node.field in _NULLABLE:
        return or_(comparison, column.is_(None))
    return comparison


def page_select(
    account_id: str, flt: LogFilter, before: LogPosition | None, limit: int
) -> Select[Any]:
    """log_id then LOG_MAP's columns of at most `limit` lines after `before`, newest first."""
    stmt = select(_C.log_id, *LOG_MAP.columns).where(*log_conditions(account_id, flt))
    if before is not None:
        stmt = stmt.where(tuple_(_C.timestamp, _C.log_id) < tuple_(*before))
    return stmt.order_by(_C.timestamp.desc(), _C.log_id.desc()).limit(max(limit, 0))


def count_select(account_id: str, flt: LogFilter, cap: int) -> Select[Any]:
    """count(*) of the matches, reading no more than `cap` of them."""
    capped = select(literal(1)).where(*log_conditions(account_id, flt)).limit(max(cap, 0))
    return select(func.count()).select_from(capped.subquery())


#: The fixed parameters of `prune_statement()`.
PRUNE_PARAMS = {"batch": PRUNE_BATCH, "skip": 0}


def prune_statement() -> Delete:
    """A DELETE of those among the oldest PRUNE_BATCH lines (a rowid walk) that are older than
    the parameter `older_than` or beyond the newest `keep` (log ids grow by one per line, and only
    the oldest are ever deleted, so the newest `keep` have ids above max(log_id) - keep). Run it
    with PRUNE_PARAMS beside those two.

    Reusable (executor.py): built and compiled once. Built per prune, it was compiled per prune:
    about a third of a prune's instructions (bench/instructions.py)."""
    # The batch's bounds are parameters too (PRUNE_PARAMS): a reusable statement takes every
    # value from its caller's parameters (SQLite's LIMIT comes with an OFFSET).
    oldest = (select(_C.log_id, _C.timestamp).order_by(_C.log_id)
              .limit(bindparam("batch", type_=Integer))
              .offset(bindparam("skip", type_=Integer)).subquery())
    newest = select(func.max(_C.log_id)).scalar_subquery()
    doomed = select(oldest.c.log_id).where(or_(
        oldest.c.timestamp < bindparam("older_than"), oldest.c.log_id <= newest - bindparam("keep")))
    return delete(logs).where(_C.log_id.in_(doomed))
