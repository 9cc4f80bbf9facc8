"""The sim API reaches a leg on whichever worker runs it (issue 19, simapi/legs.py): in the e2e
kit's two workers on one PostgreSQL, a REST call's leg moves to the worker running its
conference, with its phone in its parcel (another process's network); the sim API through the
worker it left still reads its transcript (paged by the bus's budget), presses, speaks and hangs
it up; its audio answers 409 there; a call nobody runs stays 404."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tests import postgres
from tests.e2e import test_conferences_workers as flows
from tests.e2e.workers_kit import TwoWorkers
from tests.engine.workers.test_handover import _phone_room_and_rest_call, _two_worlds

from percl.domain.enums import CallEndedReason, CallStatus
from percl.simapi.legs import TRANSCRIPT_BUDGET
from percl.telephony.sim.model import TranscriptEvent


@pytest.fixture
async def kit() -> AsyncIterator[TwoWorkers]:
    async with TwoWorkers(postgres.server().new_database()) as workers:
        yield workers


@pytest.fixture
async def moved(kit: TwoWorkers) -> AsyncIterator[tuple[TwoWorkers, str, httpx.AsyncClient]]:
    """A REST call B that moved from the REST worker to the phones' worker, and a sim API client
    of the REST worker (the one it left)."""
    h = kit
    _two_worlds(h)
    _a, b, _rooms = await _phone_room_and_rest_call(h)
    await h.wait_for(lambda: flows.worker_of(h, b) == "calls", within=30)
    assert h.rest_worker.sim.transcript(b) is None  # not on the REST worker's network any more
    acc = h.account
    token = base64.b64encode(f"{acc.account_id}:{acc.api_key}".encode()).decode()
    async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=h.rest_worker.asgi),
            base_url="http://percl.test/sim/v1",
            headers={"Authorization": f"Basic {token}"}) as left:
        yield h, b, left


async def _read_all(client: httpx.AsyncClient, call_id: str) -> list[dict[str, Any]]:
    """Every entry, following `more` page by page; each page within the bus's budget."""
    entries: list[dict[str, Any]] = []
    while True:
        r = await client.get(f"/calls/{call_id}/transcript", params={"since": len(entries)})
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["since"] == len(entries)
        size = len(json.dumps(page["entries"], separators=(",", ":"),
                              ensure_ascii=False).encode())
        assert size <= TRANSCRIPT_BUDGET
        entries += page["entries"]
        if not page["more"]:
            return entries
        assert page["entries"], "a page that says `more` holds at least one entry"


async def test_transcript_through_the_worker_a_leg_left(
        moved: tuple[TwoWorkers, str, httpx.AsyncClient]) -> None:
    h, b, left = moved
    r = await left.get(f"/calls/{b}/transcript")
    assert r.status_code == 200, r.text
    there = (await h.sim_rest.get(f"/calls/{b}/transcript")).json()  # on the leg's worker
    body = r.json()
    assert body["more"] is False and there["more"] is False
    assert body == there
    assert body["live"] is True and body["entries"][0]["type"] == "ringing"


async def test_press_say_and_hang_up_through_the_worker_a_leg_left(
        moved: tuple[TwoWorkers, str, httpx.AsyncClient]) -> None:
    h, b, left = moved
    r = await left.post(f"/calls/{b}/digits", json={"digits": "12#"})
    assert r.status_code == 204, r.text
    r = await left.post(f"/calls/{b}/speech", json={"text": "hello from afar"})
    assert r.status_code == 204, r.text
    await h.clock.advance(2)
    transcript = h.platform.sim.transcript(b)
    assert transcript is not None
    assert [e.digits for e in transcript.entries
            if e.type is TranscriptEvent.DIGITS_PRESSED] == ["12#"]
    assert [e.text for e in transcript.entries if e.type is TranscriptEvent.SAID] == [
        "hello from afar"]
    # A request the leg refuses answers as it would on the leg's worker (400, not 404).
    r = await left.post(f"/calls/{b}/answer")
    assert r.status_code == 400, r.text
    r = await left.post(f"/calls/{b}/hangup")
    assert r.status_code == 204, r.text
    call = await h.run_until_ended(b, limit_s=60)
    assert (call.status, call.call_ended_reason) == (CallStatus.COMPLETED,
                                                     CallEndedReason.FAR_END_HANGUP)


async def test_a_long_transcript_is_paged_by_the_bus_budget(
        moved: tuple[TwoWorkers, str, httpx.AsyncClient]) -> None:
    h, b, left = moved
    for i in range(12):  # about 12 kB of entries: over one bus message
        r = await left.post(f"/calls/{b}/speech", json={"text": f"{i:02d} " + "words " * 150})
        assert r.status_code == 204, r.text
        await h.clock.advance(1)
    first = (await left.get(f"/calls/{b}/transcript")).json()
    assert first["more"] is True and first["entries"]
    entries = await _read_all(left, b)
    there = (await h.sim_rest.get(f"/calls/{b}/transcript")).json()
    assert entries == there["entries"]
    assert [e["text"][:2] for e in entries if e["type"] == "said"] == [
        f"{i:02d}" for i in range(12)]


async def test_audio_of_a_leg_on_another_worker_is_409(
        moved: tuple[TwoWorkers, str, httpx.AsyncClient]) -> None:
    _h, b, left = moved
    r = await left.get(f"/calls/{b}/audio")
    assert r.status_code == 409, r.text
    assert "runs on another percl worker" in r.json()["message"]


async def test_a_call_nobody_runs_is_still_404(
        moved: tuple[TwoWorkers, str, httpx.AsyncClient]) -> None:
    h, b, left = moved
    unknown = "CA" + "0" * 40
    assert (await left.get(f"/calls/{unknown}/transcript")).status_code == 404
    assert (await left.post(f"/calls/{unknown}/digits", json={"digits": "1"})).status_code == 404
    assert (await left.get(f"/calls/{unknown}/audio")).status_code == 404
    # Once the leg ended nobody runs it: its owner let the lease go.
    assert (await left.post(f"/calls/{b}/hangup")).status_code == 204
    await h.run_until_ended(b, limit_s=60)
    await h.clock.settle()
    r = await left.post(f"/calls/{b}/digits", json={"digits": "1"})
    assert r.status_code == 404, r.text
