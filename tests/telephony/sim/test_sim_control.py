"""telephony/sim/control: the network's control operations, scoped to the calling account,
without HTTP (percl.simapi serves them at /sim/v1; tests/simapi covers the routes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from percl.domain.enums import CallDirection, PhoneAnswer
from percl.domain.ids import SequentialIds
from percl.domain.records import Call, IncomingNumber
from percl.errors import BadRequest, NotFound
from percl.telephony.sim.control import MAX_LISTED_LEGS, MAX_PROGRAMS, NetworkControl
from percl.telephony.sim.model import PhoneProgram, PhoneStep
from percl.telephony.sim.network import SimNetwork
from percl.testing.clock import FakeClock

ALICE, BOB = "AC" + "a" * 40, "AC" + "b" * 40
ALICE_NUMBER, PHONE = "+13125550100", "+16175550150"


@dataclass
class FakeStore:
    """The two Store reads the control makes: number ownership and call ownership."""

    numbers: dict[str, IncomingNumber] = field(default_factory=dict)
    calls: dict[str, Call] = field(default_factory=dict)

    async def find_number(self, phone_number: str) -> IncomingNumber | None:
        return self.numbers.get(phone_number)

    async def get_call(self, call_id: str) -> Call | None:
        return self.calls.get(call_id)


@dataclass
class Offered:
    """An InboundHandler standing in for the engine: notes the calls, attaches nobody."""

    calls: list[str] = field(default_factory=list)

    async def incoming_call(
        self, call_id: str, from_: str, to: str, number: object = None, *,
        web_rtc: bool = False,
    ) -> None:
        self.calls.append(call_id)


@dataclass
class Env:
    control: NetworkControl
    net: SimNetwork
    store: FakeStore

    async def alice_call(self) -> str:
        """A virtual phone calls Alice's number; the store records the call as Alice's."""
        call_id = await self.control.place_call(ALICE, PHONE, ALICE_NUMBER, ())
        self.store.calls[call_id] = Call(call_id, ALICE, PHONE, ALICE_NUMBER, CallDirection.INBOUND)
        return call_id


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    store = FakeStore(numbers={ALICE_NUMBER: IncomingNumber("PN" + "1" * 40, ALICE, ALICE_NUMBER)})
    async with SimNetwork(FakeClock(), SequentialIds("ctl")) as net:
        net.set_inbound_handler(Offered())
        yield Env(NetworkControl(net, store), net, store)  # type: ignore[arg-type]


async def test_a_program_is_the_callers_own(env: Env) -> None:
    machine = PhoneProgram(answer=PhoneAnswer.MACHINE, script=(PhoneStep(after_ms=5, digits="1"),))
    assert env.control.program(ALICE, PHONE, machine) == machine
    assert env.control.get_program(ALICE, PHONE) == machine
    assert env.control.get_program(BOB, PHONE) == PhoneProgram()
    env.control.reset(ALICE, PHONE)
    assert env.control.get_program(ALICE, PHONE) == PhoneProgram()


async def test_an_account_programs_at_most_max_programs_numbers(env: Env) -> None:
    numbers = [f"+1617555{i:04d}" for i in range(MAX_PROGRAMS + 1)]
    for number in numbers[:-1]:
        env.control.program(ALICE, number, PhoneProgram())
    env.control.program(ALICE, numbers[0], PhoneProgram(answer_after_ms=0))  # replacing is fine
    with pytest.raises(BadRequest) as refused:
        env.control.program(ALICE, numbers[-1], PhoneProgram())
    assert refused.value.details == {"field": "number", "maxPrograms": MAX_PROGRAMS}
    env.control.program(BOB, numbers[-1], PhoneProgram())  # the cap is per account


async def test_only_the_owner_of_the_number_places_a_call_to_it(env: Env) -> None:
    with pytest.raises(NotFound, match="not an incoming number of this account"):
        await env.control.place_call(BOB, PHONE, ALICE_NUMBER, ())
    with pytest.raises(BadRequest, match=r"must be E\.164"):  # the network's ValueError
        await env.control.place_call(ALICE, "5550150", ALICE_NUMBER, ())
    call_id = await env.alice_call()
    assert env.net.is_live(call_id)


async def test_another_accounts_call_is_invisible(env: Env) -> None:
    call_id = await env.alice_call()
    for act in (
        env.control.press(BOB, call_id, "1"),
        env.control.say(BOB, call_id, "hi"),
        env.control.hang_up(BOB, call_id),
        env.control.answer(BOB, call_id),
        env.control.decline(BOB, call_id),
        env.control.transcript(BOB, call_id),
    ):
        with pytest.raises(NotFound, match=f"Call {call_id} not found"):
            await act
    assert env.net.is_live(call_id)
    assert await env.control.legs(BOB, PHONE) == []
    assert [leg.call_id for leg in await env.control.legs(ALICE, PHONE)] == [call_id]
    assert (await env.control.transcript(ALICE, call_id)).call_id == call_id


async def test_far_end_errors_become_rest_errors(env: Env) -> None:
    call_id = await env.alice_call()
    with pytest.raises(BadRequest):  # an inbound leg is not the called phone: it cannot pick up
        await env.control.answer(ALICE, call_id)
    await env.control.hang_up(ALICE, call_id)
    with pytest.raises(NotFound, match="is not a live call on the simulated network"):
        await env.control.press(ALICE, call_id, "1")
    unknown = "CA" + "0" * 40
    with pytest.raises(NotFound, match="No transcript"):
        await env.control.transcript(ALICE, unknown)


async def test_legs_lists_at_most_max_listed_legs_newest_first(env: Env) -> None:
    placed = [await env.alice_call() for _ in range(MAX_LISTED_LEGS + 2)]
    listed = [leg.call_id for leg in await env.control.legs(ALICE, PHONE)]
    assert listed == placed[::-1][:MAX_LISTED_LEGS]
