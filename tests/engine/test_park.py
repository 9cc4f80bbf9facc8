"""engine/park.py with a stand-in session: what Park and Unpark return, the waitUrl pacing, and what
a parked leg's end tells actionUrl. The whole flow runs end to end in tests/e2e/test_park.py."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from percl.domain import payloads as p
from percl.domain.enums import CallEndedReason, RequestType
from percl.engine.context import EngineContext
from percl.engine.park import PARK_COMMANDS, Parking, ParkService
from percl.percl import events as e
from percl.percl.commands import Park, Unpark
from percl.testing.clock import FakeClock

WAIT, ACTION, NOTE = "https://app.example.com/wait", "https://app.example.com/back", "https://app.example.com/n"


@dataclass
class _Call:
    call_id: str = "CA" + "1" * 40


@dataclass
class FakeSession:
    """The parts of CallSession the park service uses."""

    call: _Call = field(default_factory=_Call)
    membership: Any = None
    done: bool = False
    sent: list[tuple[RequestType, str]] = field(default_factory=list)
    posted: list[Any] = field(default_factory=list)
    logged: list[str] = field(default_factory=list)

    def join(self, membership: Any) -> None:
        self.membership = membership

    def leave(self) -> None:
        self.membership = None

    def post(self, event: Any) -> None:
        self.posted.append(event)

    async def log(self, level: Any, message: str, metadata: Any = None) -> None:
        self.logged.append(message)

    async def send_webhook(self, url: str, payload: p.Payload) -> None:
        assert self.membership is not None or self.done  # told while still held, or after the end
        self.sent.append((payload.REQUEST_TYPE, url))


def service(clock: FakeClock | None = None) -> ParkService:
    none: Any = None
    ctx = EngineContext(store=none, clock=clock or FakeClock(), ids=none, telephony=none,
                        webhooks=none, logs=none)
    return ParkService(ctx)


def park(notification: bool = True) -> Park:
    attrs = {"waitUrl": WAIT, "actionUrl": ACTION, **({"notificationUrl": NOTE} if notification else {})}
    return Park.model_validate(attrs)


def test_registers_park_and_unpark() -> None:
    svc = service()
    assert {"Park", "Unpark"} <= svc.ctx.runners.names()
    with pytest.raises(ValueError, match="already has a runner"):
        ParkService(svc.ctx)


async def test_park_holds_the_leg_and_notifies() -> None:
    svc, s = service(), FakeSession()
    outcome = await svc.run_park(s, park())  # type: ignore[arg-type]
    assert outcome == e.Hold(e.Idle.NOTIFY, PARK_COMMANDS)
    assert isinstance(s.membership, Parking) and svc.parked == {s.call.call_id: s.membership}
    assert s.sent == [(RequestType.REDIRECT, NOTE)]
    assert "Unpark" in PARK_COMMANDS and "Enqueue" not in PARK_COMMANDS and "Park" not in PARK_COMMANDS


async def test_no_notification_url_no_notice() -> None:
    svc, s = service(), FakeSession()
    await svc.run_park(s, park(notification=False))  # type: ignore[arg-type]
    assert s.sent == []


async def test_unpark_resumes_at_action_url() -> None:
    svc, s = service(), FakeSession()
    await svc.run_park(s, park())  # type: ignore[arg-type]
    parking = s.membership
    outcome = await svc.run_unpark(s, Unpark())  # type: ignore[arg-type]
    assert outcome == e.Fetch(ACTION, p.Redirect(), release=True)
    assert s.membership is None and parking.resumed and svc.parked == {}
    await parking.on_leg_ended(s)  # the leg ends later: actionUrl was already asked
    assert s.sent == [(RequestType.REDIRECT, NOTE)]


async def test_unpark_when_not_parked_ends_the_leg() -> None:
    outcome = await service().run_unpark(FakeSession(), Unpark())  # type: ignore[arg-type]
    assert isinstance(outcome, e.Finish) and outcome.reason is CallEndedReason.PERCL_PROCESSING_ERROR


async def test_wait_url_is_asked_again_no_sooner_than_a_second_later() -> None:
    clock = FakeClock()
    svc, s = service(clock), FakeSession()
    await svc.run_park(s, park())  # type: ignore[arg-type]
    parking = s.membership
    await parking.on_idle(s)
    assert s.posted == [e.Interrupt(WAIT, p.Redirect())]
    second = asyncio.ensure_future(parking.on_idle(s))
    await clock.advance(0.5)
    assert len(s.posted) == 1 and not second.done()
    await clock.advance(0.5)
    await second
    assert len(s.posted) == 2


async def test_no_wait_request_for_a_leg_that_left_meanwhile() -> None:
    clock = FakeClock()
    svc, s = service(clock), FakeSession()
    await svc.run_park(s, park())  # type: ignore[arg-type]
    parking = s.membership
    await parking.on_idle(s)
    second = asyncio.ensure_future(parking.on_idle(s))
    await clock.advance(0.2)
    s.done = True
    await clock.advance(1.0)
    await second
    assert len(s.posted) == 1


async def test_a_parked_leg_that_ends_tells_action_url_once() -> None:
    svc, s = service(), FakeSession()
    await svc.run_park(s, park(notification=False))  # type: ignore[arg-type]
    parking = s.membership
    s.done, s.membership = True, None  # what the session does before on_leg_ended
    await parking.on_leg_ended(s)
    await parking.on_leg_ended(s)
    assert s.sent == [(RequestType.REDIRECT, ACTION)] and svc.parked == {}


def test_keys_and_speech_go_to_the_wait_script() -> None:
    parking = Parking(service(), park(), "CA1")
    s: Any = FakeSession()
    assert parking.on_digits(s, "1") is False and parking.on_speech(s, "hi") is False
