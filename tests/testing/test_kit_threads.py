"""A threaded WSGI app in the kit: concurrent webhooks, and no thread left once the kit closes."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, request

from percl.testing import Harness, Percl

CALLER, OTHER = "+15550100001", "+15550100002"


def meeting_app(barrier: threading.Barrier) -> Flask:
    """Each /voice waits until a second /voice is in flight: one app thread would never get there."""
    app = Flask(__name__)

    @app.post("/voice")
    def voice() -> Any:
        barrier.wait()
        return [{"Say": {"text": f"Hello {request.get_json()['from']}"}}, {"Hangup": {}}]

    return app


async def test_two_webhooks_to_one_app_are_answered_at_once() -> None:
    barrier = threading.Barrier(2, timeout=5)  # a broken barrier answers 500: the test fails
    async with Harness() as h:
        number = await h.number_for(meeting_app(barrier))
        # Both calls placed before the clock settles (two concurrent settle() laps would keep
        # each other busy): their inboundCall webhooks are then in flight together.
        ids = [await h.platform.sim.place_call(phone, number, ()) for phone in (CALLER, OTHER)]
        await h.clock.settle()
        first, second = h.leg(ids[0]), h.leg(ids[1])
        await first.expect_say(f"Hello {CALLER}")
        await second.expect_say(f"Hello {OTHER}")
        assert [w.status for w in h.webhooks] == [200, 200]


def test_closing_the_kit_stops_the_app_threads() -> None:
    app = Flask(__name__)

    @app.post("/voice")
    def voice() -> Any:
        return [{"Say": {"text": threading.current_thread().name}}, {"Hangup": {}}]

    before = set(threading.enumerate())
    with Percl() as percl:
        call = percl.phone(CALLER).calls(percl.number_for(app))
        call.expect_say(contains="percl-app")  # answered in one of the kit's worker threads
        started = [t for t in threading.enumerate() if t not in before]
        assert any(t.name.startswith("percl-app") for t in started)
    assert [t for t in threading.enumerate() if t in started] == []
