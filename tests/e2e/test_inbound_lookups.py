"""One inbound call reads what it needs once: the called number's record is looked up once,
even when the sim API's front door already looked it up to check who owns it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from percl.domain.records import IncomingNumber
from percl.store.memory import MemoryStore
from percl.testing.harness import Harness
from tests.e2e.conftest import CALLER


class CountingStore(MemoryStore):
    """A MemoryStore that counts its `find_number` calls, by number."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    async def find_number(self, phone_number: str) -> IncomingNumber | None:
        self.found.append(phone_number)
        return await super().find_number(phone_number)


@pytest_asyncio.fixture
async def counted() -> AsyncIterator[tuple[Harness, CountingStore]]:
    store = CountingStore()
    async with Harness(store=store) as harness:
        yield harness, store


async def test_an_inbound_call_over_the_sim_api_looks_its_number_up_once(
    counted: tuple[Harness, CountingStore],
) -> None:
    h, store = counted
    app = h.scripted_app()
    app.on("/voice", [{"Say": {"text": "hello"}}, {"Hangup": {}}])
    number = await h.number_for_app(voice_url=app.url("/voice"))
    store.found.clear()
    placed = await h.sim_rest.post("/calls", json={"from": CALLER, "to": number})
    assert placed.status_code == 201, placed.text
    call_id: Any = placed.json()["callId"]
    call = await h.run_until_ended(call_id)
    assert call.status == "completed" and call.phone_number_id is not None
    assert store.found.count(number) == 1


async def test_a_number_placed_without_the_front_door_is_looked_up_by_the_engine(
    counted: tuple[Harness, CountingStore],
) -> None:
    h, store = counted
    app = h.scripted_app()
    app.on("/voice", [{"Hangup": {}}])
    number = await h.number_for_app(voice_url=app.url("/voice"))
    store.found.clear()
    call_id = await h.sim_call(CALLER, number)
    await h.run_until_ended(call_id)
    assert store.found.count(number) == 1
