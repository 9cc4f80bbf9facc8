"""Helpers for end-to-end tests: a Harness per test, transcript readers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from percl.testing.harness import Harness

CALLER = "+15550100001"
AGENT = "+15550100002"


@pytest_asyncio.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness() as harness:
        yield harness


def said(transcript: Any) -> list[str]:
    """Texts of the Say entries the far end heard, in order."""
    return [e.text for e in transcript.entries if e.type == "say"]


def kinds(transcript: Any) -> list[str]:
    return [str(e.type) for e in transcript.entries]
