"""Helpers for end-to-end tests: a Harness per test, transcript readers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from percl.testing.harness import Harness

CALLER = "+15550100001"
AGENT = "+15550100002"


@pytest_asyncio.fixture
async def h(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """One percl; with `--pg-workers`, two workers on PostgreSQL (tests/e2e/workers_kit.py)."""
    if request.config.getoption("pg_workers"):
        from tests import postgres
        from tests.e2e.workers_kit import TwoWorkers

        async with TwoWorkers(postgres.server().new_database()) as workers:
            yield workers
        return
    async with Harness() as harness:
        yield harness


def said(transcript: Any) -> list[str]:
    """Texts of the Say entries the far end heard, in order."""
    return [e.text for e in transcript.entries if e.type == "say"]


def kinds(transcript: Any) -> list[str]:
    return [str(e.type) for e in transcript.entries]
