"""Issue 17.3: bodies are bounded and read only after authentication (both APIs)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import freeclimb
import pytest
import pytest_asyncio

from percl.config import GuardSettings, Settings
from percl.testing.harness import Harness
from tests.security._accounts import REST, SIM, auth_of, basic, client

LIMIT = 4096


@pytest_asyncio.fixture
async def h() -> AsyncIterator[Harness]:
    settings = Settings(db="memory://", guard=GuardSettings(max_body_bytes=LIMIT))
    async with Harness(settings=settings) as harness:
        yield harness


class Counted:
    """A chunked request body that counts how many chunks percl pulled."""

    def __init__(self, chunks: int, size: int = 1024) -> None:
        self.pulled = 0
        self.chunks = chunks
        self.size = size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.pulled += 1
            yield b" " * self.size


def calls_path(h: Harness) -> str:
    return f"/Accounts/{h.account.account_id}/Calls"


async def test_a_content_length_over_the_limit_is_413_before_anything_is_read(h: Harness) -> None:
    async with client(h, REST, headers=auth_of(h.account)) as c:
        response = await c.post(calls_path(h), content=b"{" + b" " * LIMIT + b"}")
    assert response.status_code == 413
    error = freeclimb.PlatformError.from_json(response.text)
    assert error is not None and error.code == 3
    assert response.json()["details"] == {"maxBytes": LIMIT}


async def test_a_chunked_body_is_cut_off_at_the_limit(h: Harness) -> None:
    body = Counted(chunks=100)
    async with client(h, REST, headers=auth_of(h.account)) as c:
        response = await c.post(calls_path(h), content=body)
    assert response.status_code == 413 and response.json()["code"] == 3
    assert body.pulled <= LIMIT // 1024 + 1  # the rest of the 100 KiB was never read


@pytest.mark.parametrize("base", [REST, SIM])
async def test_an_unauthenticated_body_is_never_read(h: Harness, base: str) -> None:
    body = Counted(chunks=100)
    path = calls_path(h) if base == REST else "/calls"
    async with client(h, base, headers=basic(h.account.account_id, "wrong-key")) as c:
        response = await c.post(path, content=body)
    assert response.status_code == 401 and response.json()["code"] == 50
    assert body.pulled <= 1


@pytest.mark.parametrize("base", [REST, SIM])
async def test_an_unauthenticated_bad_body_is_401_not_422(h: Harness, base: str) -> None:
    path = calls_path(h) if base == REST else "/calls"
    async with client(h, base) as c:
        response = await c.post(path, content=b"{not json")
    assert response.status_code == 401 and response.json()["code"] == 50


async def test_the_sim_api_is_bounded_too(h: Harness) -> None:
    async with client(h, SIM, headers=auth_of(h.account)) as c:
        response = await c.put("/phones/+15550100001", content=b" " * (LIMIT + 1))
    assert response.status_code == 413 and response.json()["code"] == 3


async def pieces() -> AsyncIterator[bytes]:
    for piece in (b'{"alias": ', b'"chunked', b' app"}'):
        yield piece


async def test_a_body_within_the_limit_still_works(h: Harness) -> None:
    url = f"/Accounts/{h.account.account_id}/Applications"
    async with client(h, REST, headers=auth_of(h.account)) as c:
        made = await c.post(url, json={"alias": "x" * 60})
        chunked = await c.post(url, content=pieces())  # replayed whole, in order
    assert made.status_code == 201, made.text
    assert chunked.status_code == 201 and chunked.json()["alias"] == "chunked app"
