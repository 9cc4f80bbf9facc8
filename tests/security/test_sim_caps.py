"""Issue 17.8: the sim API caps steps, text, bodies and how many programs and rules an account holds."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from percl.simapi.faults import MAX_BODY, MAX_RULES
from percl.telephony.sim.control import MAX_PROGRAMS
from percl.telephony.sim.control.wire import MAX_SAY, MAX_STEPS
from percl.testing.harness import Harness

APP = "http://app.test"


@pytest_asyncio.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness() as harness:
        yield harness


def steps(n: int, say: str = "hi") -> list[dict[str, object]]:
    return [{"afterMs": i, "say": say} for i in range(n)]


def phone(i: int) -> str:
    return f"+1555{i:07d}"


async def test_a_program_holds_at_most_max_steps_of_bounded_text(h: Harness) -> None:
    sim = h.sim_rest
    assert MAX_STEPS == 100 and MAX_SAY == 1024
    assert (await sim.put(f"/phones/{phone(1)}", json={"script": steps(MAX_STEPS)})).status_code == 200
    too_many = await sim.put(f"/phones/{phone(1)}", json={"script": steps(MAX_STEPS + 1)})
    assert too_many.status_code == 400 and too_many.json()["details"]["errors"][0]["field"] == "script"
    too_long = await sim.put(f"/phones/{phone(1)}", json={"script": steps(1, "x" * (MAX_SAY + 1))})
    assert too_long.status_code == 400
    assert too_long.json()["details"]["errors"][0]["field"] == "script[0].say"


async def test_a_placed_calls_script_is_capped_too(h: Harness) -> None:
    number = await h.number_for_app(voice_url=APP + "/voice")
    placed = await h.sim_rest.post("/calls", json={"from": phone(2), "to": number,
                                                   "script": steps(MAX_STEPS + 1)})
    assert placed.status_code == 400 and "script" in placed.json()["message"]


async def test_an_account_programs_at_most_max_programs_numbers(h: Harness) -> None:
    sim = h.sim_rest
    for i in range(MAX_PROGRAMS):
        assert (await sim.put(f"/phones/{phone(i)}", json={"answer": "busy"})).status_code == 200
    refused = await sim.put(f"/phones/{phone(MAX_PROGRAMS)}", json={"answer": "busy"})
    assert refused.status_code == 400 and refused.json()["code"] == 3
    assert refused.json()["details"]["maxPrograms"] == MAX_PROGRAMS
    # replacing one already programmed is fine, and deleting one makes room
    assert (await sim.put(f"/phones/{phone(0)}", json={"answer": "machine"})).status_code == 200
    assert (await sim.delete(f"/phones/{phone(0)}")).status_code == 204
    assert (await sim.put(f"/phones/{phone(MAX_PROGRAMS)}", json={})).status_code == 200


async def test_an_account_holds_at_most_max_rules_with_bounded_bodies(h: Harness) -> None:
    await h.number_for_app(voice_url=APP + "/voice")
    sim = h.sim_rest
    for i in range(MAX_RULES):
        rule = {"urlPrefix": f"{APP}/{i}", "kind": "refuse"}
        assert (await sim.put("/faults", json=rule)).status_code == 204
    refused = await sim.put("/faults", json={"urlPrefix": APP + "/x", "kind": "refuse"})
    assert refused.status_code == 400 and refused.json()["details"]["maxRules"] == MAX_RULES
    replaced = await sim.put("/faults", json={"urlPrefix": APP + "/0", "kind": "timeout"})
    assert replaced.status_code == 204
    await sim.delete("/faults")
    big = {"urlPrefix": APP, "kind": "garbage", "body": "x" * (MAX_BODY + 1)}
    assert (await sim.put("/faults", json=big)).status_code == 400
    big["body"] = "x" * MAX_BODY
    assert (await sim.put("/faults", json=big)).status_code == 204
