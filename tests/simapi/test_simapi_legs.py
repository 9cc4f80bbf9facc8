"""simapi/legs.py in isolation: a leg not found here is asked of its owner once; the owner
answers from its own network and never forwards again; no owner keeps the local 404."""

from __future__ import annotations

from typing import Any

import pytest

from percl.domain.json import JsonValue
from percl.engine.ports import LeaseKind
from percl.engine.workers.forwarding import Arguments, Operation, OwnerGone
from percl.errors import BadRequest, NotFound
from percl.simapi.legs import SIM_CALL, SimLegs


class _NoLegs:
    """A network control that runs no leg at all (every far-end act: NotFound)."""

    def __init__(self) -> None:
        self.pressed: list[str] = []

    async def press(self, account_id: str, call_id: str, digits: str) -> None:
        self.pressed.append(call_id)
        raise NotFound(f"Call {call_id} is not a live call on the simulated network")


class _Owners:
    """Two workers' forwarding in one: `ask_owner` runs the other worker's SIM_CALL."""

    def __init__(self, worker_id: str, owner: str | None) -> None:
        self.worker_id = worker_id
        self.owner = owner
        self.served: dict[str, Operation] = {}
        self.other: _Owners | None = None
        self.asked: list[tuple[str, Arguments]] = []

    def serve(self, name: str, operation: Operation) -> None:
        self.served[name] = operation

    async def holder(self, kind: LeaseKind, key: str) -> str | None:
        return self.owner

    async def ask_owner(self, kind: LeaseKind, key: str, name: str,
                        arguments: Arguments) -> JsonValue:
        self.asked.append((name, arguments))
        if self.owner is None or self.owner == self.worker_id or self.other is None:
            raise OwnerGone("nobody else")
        return await self.other.served[name](arguments)


def _pair(owner: str | None) -> tuple[SimLegs, _Owners, _NoLegs, _Owners, _NoLegs]:
    here, there = _Owners("a", owner), _Owners("b", owner)
    here.other, there.other = there, here
    sim_a, sim_b = _NoLegs(), _NoLegs()
    legs = SimLegs(sim_a, here)  # type: ignore[arg-type]
    SimLegs(sim_b, there)  # type: ignore[arg-type]
    return legs, here, sim_a, there, sim_b


async def test_a_leg_its_owner_does_not_run_either_is_404_after_one_ask() -> None:
    legs, here, sim_a, there, sim_b = _pair(owner="b")
    with pytest.raises(NotFound):
        await legs.press("AC1", "CA1", "1")
    assert [name for name, _ in here.asked] == [SIM_CALL]
    assert dict(here.asked[0][1]) == {"act": "press", "account_id": "AC1", "call_id": "CA1",
                                      "value": "1"}
    assert there.asked == []  # the owner did not forward it again (its lease says "b" too)
    assert sim_a.pressed == ["CA1"] and sim_b.pressed == ["CA1"]


async def test_no_other_owner_keeps_the_local_404() -> None:
    legs, here, _sim_a, _there, sim_b = _pair(owner=None)
    with pytest.raises(NotFound, match="not a live call"):
        await legs.press("AC1", "CA1", "1")
    assert len(here.asked) == 1 and sim_b.pressed == []


async def test_an_unknown_act_from_the_bus_is_a_bad_request() -> None:
    _legs, _here, _sim_a, there, _sim_b = _pair(owner="b")
    with pytest.raises(BadRequest, match="unknown sim act"):
        args: dict[str, Any] = {"act": "explode", "account_id": "AC1", "call_id": "CA1"}
        await there.served[SIM_CALL](args)
