"""`percl sim phone` through click's runner: the demo's OutDial rings the terminal softphone."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from percl.domain.enums import CallStatus, PhoneAnswer
from percl.telephony.sim.model import PhoneProgram, PhoneStep
from tests.cli.bridge import AGENT, CALLER, ScriptedKeyboard, ThreadedHarness, invoke


@pytest.fixture
def bridge() -> Iterator[ThreadedHarness]:
    with ThreadedHarness() as b:
        yield b


def caller_presses_1(bridge: ThreadedHarness, number: str) -> None:
    """The demo caller picks the agent: the demo OutDials AGENT about 5.3 s later."""
    bridge.run(bridge.h.sim_call(CALLER, number, [PhoneStep(after_ms=3000, digits="1")]))


def lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines()]


def test_ring_answer_hear_and_reset_on_ctrl_c(bridge: ThreadedHarness) -> None:
    number = bridge.demo()
    keyboard = ScriptedKeyboard(bridge, steps=[
        (0.2, lambda: caller_presses_1(bridge, number)), (8.0, "a")], interrupt_at=20.0)
    result = invoke(bridge, ["sim", "phone", AGENT], keyboard)
    assert result.exit_code == 0, result.output
    out = lines(result.output)
    assert out[0] == f"softphone {AGENT}: waiting for calls (Ctrl-C to quit)"
    ring = next(line for line in out if line.startswith("RING"))
    assert ring.startswith(f"RING  {number} is calling {AGENT} (outboundDial) CA")
    assert "a answers, d declines" in out
    heard = next(i for i, line in enumerate(out) if "Hello agent. A caller on" in line)
    assert out.index(f"answered {number}") < heard < out.index("call ended")
    assert out[out.index("call ended") + 1].startswith("softphone")  # waits for the next call
    assert out[-1] == f"{AGENT} is back to the default program"
    assert bridge.h.platform.sim.get_program(AGENT) == PhoneProgram()
    agent_leg = ring.rsplit(" ", 1)[-1]
    leg = bridge.run(bridge.h.call(agent_leg))
    assert leg.status is CallStatus.COMPLETED and leg.connect_time is not None


def test_decline_is_busy_for_the_platform(bridge: ThreadedHarness) -> None:
    number = bridge.demo()
    keyboard = ScriptedKeyboard(bridge, steps=[
        (0.0, "d"), (0.2, lambda: caller_presses_1(bridge, number)), (7.0, "?"), (7.2, "d")],
        interrupt_at=9.0)
    result = invoke(bridge, ["sim", "phone", AGENT], keyboard)
    out = lines(result.output)
    assert out[1] == "nothing is ringing"
    assert f"declined {number}" in out and result.exit_code == 0
    agent_leg = next(line for line in out if line.startswith("RING")).rsplit(" ", 1)[-1]
    assert bridge.run(bridge.h.call(agent_leg)).status is CallStatus.BUSY


def test_auto_answer_and_ctrl_c_in_a_call_hangs_up(bridge: ThreadedHarness) -> None:
    h = bridge.h
    app = h.scripted_app("http://app.test")
    app.on("/connect", [{"Pause": {"length": 60_000}}])
    keyboard = ScriptedKeyboard(bridge, steps=[(0.2, lambda: bridge.run(h.rest.post(
        f"/Accounts/{h.account.account_id}/Calls",
        json={"from": "+13125550100", "to": AGENT, "callConnectUrl": app.url("/connect")})))],
        interrupt_at=5.0)
    result = invoke(bridge, ["sim", "phone", AGENT, "--auto-answer"], keyboard)
    out = lines(result.output)
    assert result.exit_code == 0
    ring = next(line for line in out if line.startswith("RING"))
    assert "(outboundAPI)" in ring and "a answers, d declines" not in out
    assert "silence 60000 ms" in " ".join(out)
    assert out[-2:] == ["hung up", f"{AGENT} is back to the default program"]
    call = bridge.run(h.call(ring.rsplit(" ", 1)[-1]))
    bridge.run(h.clock.settle())
    assert bridge.run(h.call(call.call_id)).status is CallStatus.COMPLETED


def test_sigterm_in_a_call_hangs_up_and_resets_the_number(bridge: ThreadedHarness) -> None:
    h = bridge.h
    app = h.scripted_app("http://app.test")
    app.on("/connect", [{"Pause": {"length": 60_000}}])
    keyboard = ScriptedKeyboard(bridge, steps=[
        (0.2, lambda: bridge.run(h.rest.post(
            f"/Accounts/{h.account.account_id}/Calls",
            json={"from": "+13125550100", "to": AGENT, "callConnectUrl": app.url("/connect")}))),
        (5.0, lambda: os.kill(os.getpid(), signal.SIGTERM))])
    result = invoke(bridge, ["sim", "phone", AGENT, "--auto-answer"], keyboard)
    out = lines(result.output)
    assert result.exit_code == 0
    assert out[-2:] == ["hung up", f"{AGENT} is back to the default program"]
    ring = next(line for line in out if line.startswith("RING"))
    bridge.run(h.clock.settle())
    assert bridge.run(h.call(ring.rsplit(" ", 1)[-1])).status is CallStatus.COMPLETED


def test_a_caller_giving_up_is_a_missed_call(bridge: ThreadedHarness) -> None:
    h = bridge.h
    h.platform.sim.program(AGENT, PhoneProgram(answer=PhoneAnswer.MANUAL))
    app = h.scripted_app("http://app.test")
    app.on("/connect", [])
    keyboard = ScriptedKeyboard(bridge, steps=[(0.2, lambda: bridge.run(h.rest.post(
        f"/Accounts/{h.account.account_id}/Calls",
        json={"from": "+13125550100", "to": AGENT, "callConnectUrl": app.url("/connect"),
              "timeout": 5})))], interrupt_at=8.0)
    result = invoke(bridge, ["sim", "phone", AGENT], keyboard)
    assert "missed call from +13125550100" in lines(result.output)
