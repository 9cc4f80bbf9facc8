"""A leg handed over to the worker running its conference's room (issue 19), in `make test`: the
e2e kit's two workers on one PostgreSQL (tests/e2e/workers_kit.py: one simulated world, the
in-process bus) run the spanning flows of tests/e2e/test_conferences_workers.py; and when the
room's worker has another phone network (another process's), the leg travels in its parcel; when
it cannot (a phone too large for the bus), the leg ends with perclProcessingError and a log line
saying why, and nothing else changes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from percl.domain.enums import CallEndedReason, CallStatus
from percl.engine.ports import LeaseKind
from percl.telephony.sim.model import PhoneProgram, PhoneStep, TranscriptEvent
from percl.testing.harness import Harness
from tests import postgres
from tests.e2e import test_conferences_workers as flows
from tests.e2e.conference_kit import AsyncApp
from tests.e2e.workers_kit import TwoWorkers


@pytest.fixture
async def kit() -> AsyncIterator[TwoWorkers]:
    async with TwoWorkers(postgres.server().new_database()) as workers:
        yield workers


@pytest.mark.parametrize("flow", [
    flows.test_a_rest_call_joins_a_conference_a_phone_started,
    flows.test_a_dequeued_caller_joins_the_agents_conference,
    flows.test_an_outdial_child_and_its_parent_join_a_conference_running_elsewhere,
])
async def test_conference_flows_spanning_two_workers(
        kit: TwoWorkers, flow: Callable[[Harness], Awaitable[None]]) -> None:
    await flow(kit)


def _two_worlds(h: TwoWorkers) -> None:
    """The REST worker's phones become another process's: a leg can reach the room's worker
    only in its parcel (JSON on the bus), as between two `percl serve` processes."""
    h.rest_worker.sim._in_transit = {}


async def _phone_room_and_rest_call(h: TwoWorkers) -> tuple[str, str, list[str]]:
    """A phone's call A opens a conference on the phones' worker; a REST call B (on the REST
    worker) is told to join it."""
    app = AsyncApp(h)
    rooms: list[str] = []

    async def created(body: dict[str, Any], _: str) -> Any:
        rooms.append(body["conferenceId"])
        return [{"AddToConference": {"conferenceId": body["conferenceId"]}}]

    app.on("voice", [{"CreateConference": {"actionUrl": app.url("/created/a")}}])
    app.on("created", created)
    app.on("join", lambda _b, _a: flows._join(rooms[0]))
    app.on("status", [])
    await h.number_for_app(flows.FC, voice_url=app.url("/voice"),
                           status_callback_url=app.url("/status"))
    a = await h.sim_call(flows.A, flows.FC)
    await h.wait_for(lambda: rooms, within=30)
    b = await flows.rest_call(h, flows.B, app.url("/join/b"), app.url("/status/b"))
    return a, b, rooms


async def test_a_leg_moves_to_another_process_in_its_parcel(kit: TwoWorkers) -> None:
    h = kit
    _two_worlds(h)
    h.platform.sim.program(flows.B, PhoneProgram(script=(
        PhoneStep(60_000, say="scripted hello from b"), PhoneStep(90_000, hangup=True))))
    a, b, rooms = await _phone_room_and_rest_call(h)
    await h.wait_for(lambda: flows.worker_of(h, b) == "calls", within=30)  # moved
    assert await flows.participants(h, rooms[0]) == sorted([a, b])
    assert h.rest_worker.sim.transcript(b) is None  # its phone left the REST worker's network
    assert h.rest_worker.cluster is not None
    moved = [e.message for e in await h.logs(b) if "moved here" in e.message]
    assert moved == [f"Call moved here from percl worker {h.rest_worker.cluster.worker_id} "
                     f"(this is worker {h.platform.cluster.worker_id})"]  # type: ignore[union-attr]
    h.platform.sim.say(a, "hello from a")
    call = await h.run_until_ended(b, limit_s=120)  # its phone's script hangs up, there
    assert (call.status, call.call_ended_reason) == (CallStatus.COMPLETED,
                                                     CallEndedReason.FAR_END_HANGUP)
    heard_by_a, heard_by_b = (h.platform.sim.transcript(x) for x in (a, b))
    assert heard_by_a is not None and heard_by_b is not None
    assert [e.text for e in heard_by_a.entries if e.type is TranscriptEvent.HEARD] == [
        "scripted hello from b"]
    assert [e.text for e in heard_by_b.entries if e.type is TranscriptEvent.HEARD] == [
        "hello from a"]
    assert heard_by_b.entries[0].type is TranscriptEvent.RINGING  # carried from the REST worker
    assert flows.call_statuses(h, b) == ["completed"]
    assert await flows.participants(h, rooms[0]) == [a]


async def test_a_leg_the_rooms_worker_cannot_take_ends_with_a_reason(kit: TwoWorkers) -> None:
    h = kit
    _two_worlds(h)
    # A phone whose script is too large for the bus cannot travel.
    h.platform.sim.program(flows.B, PhoneProgram(script=tuple(
        PhoneStep(600_000 + i, say="x" * 1000) for i in range(10))))
    a, b, rooms = await _phone_room_and_rest_call(h)
    call = await h.run_until_ended(b, limit_s=60)
    assert (call.status, call.call_ended_reason) == (
        CallStatus.COMPLETED, CallEndedReason.PERCL_PROCESSING_ERROR)
    messages = [e.message for e in await h.logs(b)]
    assert any("could not move to percl worker" in m and "cannot take the media" in m
               for m in messages), messages
    assert flows.call_statuses(h, b) == ["completed"]
    assert await flows.participants(h, rooms[0]) == [a]  # the room is as it was
    assert (await h.call(a)).status is CallStatus.IN_PROGRESS
    assert not h.rest_worker.sim._in_transit  # the leg went back to its network before it ended
    await h.clock.settle()
    assert h.rest_worker.cluster is not None
    assert await h.rest_worker.cluster.holder(LeaseKind.CALL, b) is None  # released by its owner


async def test_a_leg_its_network_cannot_let_go_ends_with_a_reason(kit: TwoWorkers) -> None:
    """A leg whose media is tied to its worker (a SIP or browser phone: `park` refuses it)
    stays and ends with perclProcessingError and a log line saying so."""
    h = kit
    refused: list[str] = []

    def tied(call_id: str) -> bool:
        refused.append(call_id)
        return False

    h.rest_worker.sim.park = tied  # type: ignore[method-assign]
    a, b, rooms = await _phone_room_and_rest_call(h)
    call = await h.run_until_ended(b, limit_s=60)
    assert refused == [b]
    assert (call.status, call.call_ended_reason) == (
        CallStatus.COMPLETED, CallEndedReason.PERCL_PROCESSING_ERROR)
    messages = [e.message for e in await h.logs(b)]
    assert any("cannot move to percl worker" in m and "tied to this worker" in m
               for m in messages), messages
    assert await flows.participants(h, rooms[0]) == [a]
    assert (await h.call(a)).status is CallStatus.IN_PROGRESS


async def test_a_call_recording_stops_and_is_saved_when_its_leg_moves(kit: TwoWorkers) -> None:
    h = kit
    app = AsyncApp(h)
    rooms: list[str] = []

    async def created(body: dict[str, Any], _: str) -> Any:
        rooms.append(body["conferenceId"])
        return [{"AddToConference": {"conferenceId": body["conferenceId"]}}]

    async def join(_body: dict[str, Any], _: str) -> Any:
        return [{"StartRecordCall": {}}, {"Say": {"text": "joining"}},
                {"AddToConference": {"conferenceId": rooms[0]}}]

    app.on("voice", [{"CreateConference": {"actionUrl": app.url("/created/a")}}])
    app.on("created", created)
    app.on("join", join)
    app.on("status", [])
    await h.number_for_app(flows.FC, voice_url=app.url("/voice"),
                           status_callback_url=app.url("/status"))
    await h.sim_call(flows.A, flows.FC)
    await h.wait_for(lambda: rooms, within=30)
    b = await flows.rest_call(h, flows.B, app.url("/join/b"), app.url("/status/b"))
    await h.wait_for(lambda: flows.worker_of(h, b) == "calls", within=30)  # moved
    await h.clock.settle()
    [recording] = await h.recordings(b)
    assert recording.duration_ms > 0 and h.recording_wav(recording.recording_id)


async def test_a_conference_terminated_on_its_rooms_worker_cannot_be_joined_on_another(
        kit: TwoWorkers) -> None:
    """The worker where the conference was created over REST keeps a room object for it; once
    the room (run on the other worker) is terminated, a leg on the first worker asking to join
    gets perclProcessingError, as with one percl, and the conference stays terminated."""
    h = kit
    app = AsyncApp(h)
    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Conferences",
                          json={"playBeep": "never", "statusCallbackUrl": app.url("/conf/x")})
    assert r.status_code == 200, r.text
    room = r.json()["conferenceId"]  # made on the REST worker
    app.on("voice", lambda _b, _a: flows._join(room))
    app.on("join", lambda _b, _a: flows._join(room))
    for name in ("conf", "status"):
        app.on(name, [])
    await h.number_for_app(flows.FC, voice_url=app.url("/voice"),
                           status_callback_url=app.url("/status"))
    a = await h.sim_call(flows.A, flows.FC)  # joins on the phones' worker, which runs the room
    await h.wait_for(lambda: flows.worker_of(h, a) == "calls", within=30)
    await h.advance(2)
    assert await flows.participants(h, room) == [a]
    await flows.terminate(h, room)
    assert (await h.run_until_ended(a, limit_s=60)).status is CallStatus.COMPLETED
    b = await flows.rest_call(h, flows.B, app.url("/join/b"), app.url("/status/b"))
    call = await h.run_until_ended(b, limit_s=60)
    assert call.call_ended_reason is CallEndedReason.PERCL_PROCESSING_ERROR
    r = await h.rest.get(f"/Accounts/{h.account.account_id}/Conferences/{room}")
    assert r.json()["status"] == "terminated"
