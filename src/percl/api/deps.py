"""What the REST API is built from. Re-exported as `percl.api.ApiDeps`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from fastapi import Request

from percl.api.campaign_registry import CampaignRegistry
from percl.api.export_jobs import ExportJobs
from percl.domain.clock import Clock
from percl.domain.ids import IdGenerator
from percl.engine.knowledge import KnowledgeBases
from percl.engine.ports import NumberInventory, Store
from percl.engine.recordings import RecordingLibrary
from percl.engine.service import CallControl, ConferenceControl, MessageControl, QueueControl


@dataclass(frozen=True)
class ApiDeps:
    """Everything the routes use; `create_api` puts it on `app.state.deps`.

    `max_list` caps how many items any list reports (FreeClimb caps lists at 10 000);
    `page_size` is how many items each page of a list carries. `cursor_secret` keys the
    list cursors' authentication tags (random per process unless configured: cursors then last
    until a restart; see api/pagination.py).
    `blob_max_bytes` caps a blob's JSON text (413 beyond it).
    """

    store: Store
    clock: Clock
    ids: IdGenerator
    calls: CallControl
    inventory: NumberInventory
    max_list: int = 10_000
    page_size: int = 100
    queues: QueueControl | None = None
    messages: MessageControl | None = None
    conferences: ConferenceControl | None = None
    cursor_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    blob_max_bytes: int = 64 * 1024
    exports: ExportJobs | None = None
    knowledge: KnowledgeBases | None = None
    campaigns: CampaignRegistry | None = None
    recordings: RecordingLibrary | None = None  # None: no recording exists


def deps_of(request: Request) -> ApiDeps:
    """The ApiDeps of the app serving `request`."""
    deps: ApiDeps = request.app.state.deps
    return deps


def request_id_of(request: Request) -> str | None:
    """The `RQ...` id the request-id middleware gave this POST, or None for other methods."""
    rid: str | None = request.scope.get("state", {}).get("request_id")
    return rid
