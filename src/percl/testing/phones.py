"""Virtual phones for tests (the async API; percl.testing.sync.Phone wraps it).

    phone = h.phone("+15550100001")
    call = await phone.calls(number, press("1", after_ms=4000))   # dials one of the account's numbers
    await call.expect_say("Press 1 for sales")                     # see legs.AsyncPhoneCall
    h.phone("+15550100002").program("busy")                        # how it answers when percl calls
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from percl.domain.enums import CallDirection, PhoneAnswer
from percl.domain.phone import is_e164
from percl.domain.records import Call
from percl.telephony.sim.model import PhoneProgram, PhoneStep
from percl.testing.legs import AsyncPhoneCall

if TYPE_CHECKING:
    from percl.testing.harness import Harness

__all__ = ["AsyncPhone", "AsyncPhoneCall", "hang_up", "press", "speak"]


def press(digits: str, *, after_ms: int) -> PhoneStep:
    """A script step: press `digits` (100 ms apart) `after_ms` after the call was answered."""
    return PhoneStep(after_ms=after_ms, digits=digits)


def speak(text: str, *, after_ms: int) -> PhoneStep:
    """A script step: the phone says `text` `after_ms` after the call was answered."""
    return PhoneStep(after_ms=after_ms, say=text)


def hang_up(*, after_ms: int) -> PhoneStep:
    """A script step: the phone hangs up `after_ms` after the call was answered."""
    return PhoneStep(after_ms=after_ms, hangup=True)


class AsyncPhone:
    """A virtual phone on the simulated network: program how it answers, make it dial."""

    def __init__(self, harness: Harness, number: str) -> None:
        if not is_e164(number):
            raise ValueError(f"{number!r} is not an E.164 number (like +15550100001)")
        self._h = harness
        self.number = number
        self._rung = 0  # outbound legs already handed out by expect_ring

    def __repr__(self) -> str:
        return f"<phone {self.number}>"

    def program(self, answer: PhoneAnswer | str = PhoneAnswer.HUMAN, *, after_ms: int = 1000,
                hangup_after_ms: int | None = None, script: Iterable[PhoneStep] = ()) -> AsyncPhone:
        """How this phone behaves when called from now on: `answer` is human, machine, fax,
        busy, noAnswer, failed (or manual: rings until `call.answer()`), after `after_ms`; then
        it runs `script` (press / speak / hang_up steps) and hangs up after `hangup_after_ms`."""
        try:
            mode = PhoneAnswer(answer)
        except ValueError:
            names = ", ".join(m.value for m in PhoneAnswer)
            raise ValueError(f"unknown answer mode {answer!r}: use one of {names}") from None
        self._h.platform.sim.program(self.number, PhoneProgram(
            answer=mode, answer_after_ms=after_ms, hangup_after_ms=hangup_after_ms,
            script=tuple(script)))
        return self

    def reset(self) -> AsyncPhone:
        """Back to the default: a human who answers after 1 s and stays on the line."""
        self._h.platform.sim.reset(self.number)
        return self

    async def calls(self, number: str, *script: PhoneStep) -> AsyncPhoneCall:
        """This phone dials `number` (one of the account's numbers); `script` steps run after
        percl answers. Returns once percl has taken the call (the inboundCall webhook is sent
        as the clock allows)."""
        call_id = await self._h.sim_call(self.number, number, script)
        return self._h.leg(call_id)

    @property
    def legs(self) -> list[AsyncPhoneCall]:
        """Every call this phone was on, oldest first: those it made and those that rang it."""
        return [self._h.leg(c.call_id) for c in self._h.book.calls() if self._is_far_end(c)]

    @property
    def last_call(self) -> AsyncPhoneCall | None:
        """The newest call this phone was on (e.g. the leg an OutDial or REST call rang)."""
        legs = self.legs
        return legs[-1] if legs else None

    async def expect_ring(self, *, within: float = 60.0) -> AsyncPhoneCall:
        """Wait until percl calls this phone (OutDial, REST) again; returns that leg. Each call
        to this phone is returned once, in order."""
        __tracebackhide__ = True  # a failing expectation points at the test, not the kit
        started = self._h.clock.now()
        await self._h.run_until(lambda: len(self._rang()) > self._rung, within)
        rang = self._rang()
        if len(rang) <= self._rung:
            waited = self._h.clock.now() - started
            raise AssertionError(
                f"expected percl to call {self.number} within {within:g} s; waited {waited:.2f} s "
                f"and it rang {len(rang)} time(s) in all, all of them already seen.\n"
                f"Webhooks so far:\n{self._h.webhooks.describe()}")
        self._rung += 1
        return self._h.leg(rang[self._rung - 1].call_id)

    def _rang(self) -> list[Call]:
        return [c for c in self._h.book.calls()
                if c.direction is not CallDirection.INBOUND and c.to == self.number]

    def _is_far_end(self, call: Call) -> bool:
        if call.direction is CallDirection.INBOUND:
            return call.from_ == self.number
        return call.to == self.number
