"""The background side of Exports: one task per export turns the account's calls or messages into
a CSV file, page by page, so an export of any size is never held whole in memory.

Lifecycle of an export record: `queued` (POST answered) -> `inProgress` (the task has started)
-> `completed` (with the file's `size`) or `failed` (the reading or writing raised; the partial
file is deleted). DELETE cancels a running task, deletes the file and leaves the record listed as
`deleted` (FreeClimb's ExportStatus has that value). A process that stops while exports run
leaves them `queued`/`inProgress`; the next start marks them `failed` (`recover`).

Rows come from a `RowPages` the route builds from the request's filters (the same filters as
GET /Calls and GET /Messages): async pages of rendered REST results, of which the CSV keeps the
export's `format` columns. A page boundary hands the loop back, so an export never starves
requests (MemoryStore reads never suspend by themselves).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import dataclasses
import io
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from percl.domain.clock import Clock
from percl.domain.enums import ExportStatus
from percl.domain.records import Export
from percl.engine.ports import ExportFiles, ExportSink, Store
from percl.runtime.tasks import OwnedTaskGroup, TaskOwner

log = logging.getLogger("percl.api.exports")

#: Rows read from the store per page of an export.
PAGE_ROWS = 500

RowPages = Callable[[], AsyncIterator[Sequence[Mapping[str, Any]]]]
_UNFINISHED = (ExportStatus.QUEUED, ExportStatus.IN_PROGRESS)


def csv_cell(value: Any) -> str:
    """One CSV cell: null empty, booleans as JSON spells them, objects and lists as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def csv_text(rows: Sequence[Sequence[Any]]) -> str:
    """`rows` as CSV text (RFC 4180 quoting, CRLF line ends)."""
    out = io.StringIO()
    csv.writer(out).writerows([[csv_cell(v) for v in row] for row in rows])
    return out.getvalue()


class ExportJobs(TaskOwner):
    """Runs exports in its task group. Use as `async with`; `recover()` once before."""

    def __init__(self, store: Store, clock: Clock, files: ExportFiles) -> None:
        self._store, self._clock, self.files = store, clock, files
        self._group = OwnedTaskGroup("ExportJobs")
        self._running: dict[str, asyncio.Task[None]] = {}

    async def recover(self) -> int:
        """Mark `failed` the exports a stopped process left unfinished; returns how many."""
        failed = 0
        for account in await self._store.list_accounts():
            for export in await self._store.list_exports(account.account_id):
                if export.status in _UNFINISHED:
                    self.files.remove(export.export_id)
                    await self._set(export, ExportStatus.FAILED)
                    failed += 1
        return failed

    def start(self, export: Export, pages: RowPages) -> None:
        """Run `export` (stored `queued`) in the background. Raises RuntimeError when the jobs
        are not running (outside `async with`)."""
        task = self._group.spawn(self._run(export, pages))
        self._running[export.export_id] = task
        task.add_done_callback(lambda _: self._running.pop(export.export_id, None))

    async def delete(self, export: Export) -> Export:
        """Stop `export`'s task if it runs, delete its file, store it `deleted` (idempotent)."""
        task = self._running.get(export.export_id)
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        self.files.remove(export.export_id)
        latest = await self._store.get_export(export.export_id) or export
        if latest.status is ExportStatus.DELETED:
            return latest
        return await self._set(latest, ExportStatus.DELETED)

    async def _set(self, export: Export, status: ExportStatus, **changes: Any) -> Export:
        updated = dataclasses.replace(export, status=status, date_updated=self._clock.now(),
                                      revision=export.revision + 1, **changes)
        await self._store.put_export(updated)
        return updated

    async def _run(self, export: Export, pages: RowPages) -> None:
        """The task: never raises but CancelledError (the group needs its tasks to guard
        themselves)."""
        export = await self._set(export, ExportStatus.IN_PROGRESS)
        sink = self.files.create(export.export_id)
        try:
            size = await self._write(export, pages, sink)
        except asyncio.CancelledError:
            sink.abandon()
            raise
        except Exception:
            log.exception("export %s failed", export.export_id)
            sink.abandon()
            with contextlib.suppress(Exception):
                await self._set(export, ExportStatus.FAILED)
            return
        await self._set(export, ExportStatus.COMPLETED, size=size)

    async def _write(self, export: Export, pages: RowPages, sink: ExportSink) -> int:
        columns = export.fields
        sink.write(csv_text([columns]))
        async for page in pages():
            sink.write(csv_text([[row.get(c) for c in columns] for row in page]))
            await asyncio.sleep(0)  # let requests in between pages
        return sink.finish()
