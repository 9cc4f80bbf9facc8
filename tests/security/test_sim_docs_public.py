"""Issue 17.15: the sim API's own docs are public by decision; they describe routes, no account."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from percl.testing.harness import Harness
from tests.security._accounts import SIM, client


@pytest_asyncio.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness() as harness:
        yield harness


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
async def test_docs_are_served_without_credentials_and_name_no_account(h: Harness, path: str) -> None:
    await h.sim_rest.put("/phones/+15550100077", json={"answer": "busy"})  # some account state
    async with client(h, SIM) as anonymous:
        response = await anonymous.get(path)
    assert response.status_code == 200
    for secret in (h.account.account_id, h.account.api_key, h.account.signing_secret,
                   "+15550100077"):
        assert secret not in response.text


async def test_everything_else_needs_credentials(h: Harness) -> None:
    async with client(h, SIM) as anonymous:
        for path in ("/phones/+15550100077", "/faults", "/docs/../faults", "/nothing-here"):
            assert (await anonymous.get(path)).status_code == 401, path
