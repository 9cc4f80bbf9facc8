"""ConferenceService and its pieces below the PerCL/REST surface: room lookup rules, start-up
recovery, and the outbox that keeps a conference's notifications in order."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from percl.domain import payloads as p
from percl.domain.enums import ConferenceStatus, LogLevel, PlayBeep
from percl.domain.records import Account, Participant
from percl.engine.conference.outbox import Notice, Outbox
from percl.engine.ports import ParticipantFilter, WebhookOutcome, WebhookRequest, WebhookResult
from percl.testing.harness import Harness


@pytest_asyncio.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness() as harness:
        yield harness


async def _create(h: Harness) -> str:
    room = await h.platform.conferences.create(
        h.account, alias=None, play_beep=PlayBeep.ALWAYS, record=False, wait_url=None,
        status_callback_url=None, action_url=None, request_id=None, creator=None)
    return room.conference_id


async def test_room_lookup_refuses_unknown_foreign_and_terminated(h: Harness) -> None:
    service = h.platform.conferences
    cf = await _create(h)
    assert (await service.room(h.account.account_id, cf)) is service.rooms[cf]
    assert await service.room("AC" + "9" * 40, cf) is None
    assert await service.room(h.account.account_id, "CF" + "0" * 40) is None
    await service.rooms[cf].terminate()
    assert cf not in service.rooms
    assert await service.room(h.account.account_id, cf) is None


async def test_a_conference_not_in_memory_is_loaded_from_the_store(h: Harness) -> None:
    service = h.platform.conferences
    cf = await _create(h)
    del service.rooms[cf]  # as after a restart
    room = await service.room(h.account.account_id, cf)
    assert room is not None and room.conference.conference_id == cf
    assert room.account.account_id == h.account.account_id


async def test_recover_empties_conferences_a_crash_left_populated(h: Harness) -> None:
    service = h.platform.conferences
    cf = await _create(h)
    stored = await h.store.get_conference(cf)
    await h.store.put_conference(dataclasses.replace(stored, status=ConferenceStatus.IN_PROGRESS))
    await h.store.put_participant(Participant(cf, "CA" + "1" * 40, h.account.account_id))
    other = await _create(h)  # empty: left alone
    assert await service.recover() == 1
    assert (await h.store.get_conference(cf)).status is ConferenceStatus.EMPTY
    assert await h.store.list_participants(cf, ParticipantFilter()) == []
    assert (await h.store.get_conference(other)).revision == 1


async def test_record_is_stored_without_a_warning(h: Harness) -> None:
    # (it is recorded from inProgress: tests/e2e/test_recordings.py)
    room = await h.platform.conferences.create(
        h.account, alias=None, play_beep=PlayBeep.NEVER, record=True, wait_url=None,
        status_callback_url=None, action_url=None, request_id=None, creator=None)
    stored = await h.store.get_conference(room.conference_id)
    assert stored is not None and stored.record is True
    assert not [e for e in await h.logs() if e.level is LogLevel.WARNING]


# --------------------------------------------------------------------------- the outbox


class GatedSender:
    """A WebhookSender that records each request and waits for the test to let it finish."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.gate = asyncio.Event()

    async def send(self, request: WebhookRequest) -> WebhookResult:
        self.sent.append(request.url)
        await self.gate.wait()
        if request.url == "boom":
            raise ValueError("an engine bug")
        return WebhookResult(WebhookOutcome.OK, request.url, 200)


class ListLogs:
    def __init__(self) -> None:
        self.lines: list[str] = []

    async def log(self, level: LogLevel, account_id: str, message: str, **_: object) -> None:
        self.lines.append(message)


@pytest.mark.parametrize("urls", [["a", "b", "c"], ["a", "boom", "c"]])
async def test_outbox_sends_in_order_one_at_a_time(urls: list[str]) -> None:
    sender, logs = GatedSender(), ListLogs()
    outbox = Outbox(Account("AC" + "1" * 40, "key", "secret"), sender, logs)
    for url in urls:
        outbox.put(Notice(url, None, p.ConferenceStatusChanged("CF1", ConferenceStatus.EMPTY)))
    outbox.close()
    outbox.put(Notice("late", None, p.ConferenceStatusChanged("CF1", ConferenceStatus.EMPTY)))  # closed
    runner = asyncio.ensure_future(outbox.run())
    await asyncio.sleep(0)
    assert sender.sent == ["a"]  # the next waits for the first to be answered
    sender.gate.set()
    await runner
    assert sender.sent == urls
    assert ("boom" in urls) == any("Internal error sending conferenceStatus to boom" in line
                                   for line in logs.lines)
