"""`percl sim call` through click's runner, against the demo app on the FakeClock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from percl.cli.main import cli
from percl.cli.simcmd import build_script, load_script
from percl.domain.enums import CallStatus
from tests.cli.bridge import AGENT, CALLER, ScriptedKeyboard, ThreadedHarness, invoke


@pytest.fixture(scope="module")
def bridge() -> Iterator[ThreadedHarness]:
    with ThreadedHarness() as b:
        yield b


@pytest.fixture(scope="module")
def demo(bridge: ThreadedHarness) -> str:
    return bridge.demo()


def lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines()]


def test_press_runs_unattended_and_follows_the_dialled_leg(bridge: ThreadedHarness,
                                                          demo: str) -> None:
    keyboard = ScriptedKeyboard(bridge)
    result = invoke(bridge, ["sim", "call", CALLER, demo, "--press", "1"], keyboard)
    assert result.exit_code == 0, result.output
    assert keyboard.interactive == [False]
    out = lines(result.output)
    assert out[0].startswith(f"{CALLER} -> {demo}  call CA")
    assert '0.00s  heard "Welcome to the percl demo."' in out
    assert "3.00s  pressed 1" in out
    dialled = next(line for line in out if "┌ dialled" in line)
    assert f"dialled {AGENT} (outboundDial) CA" in dialled
    assert '6.30s    │ heard "Hello agent. A caller on ' + demo + ' asked for you."' in out
    assert out.index("3.00s  pressed 1") < out.index(dialled)
    assert "10.40s  state completed" in out and out[-1] == "call ended: completed"


def test_typed_lines_wait_for_the_answer_then_press_and_speak(bridge: ThreadedHarness,
                                                             demo: str) -> None:
    # "2" after the welcome Say: every Say flushes the keys pressed while it speaks
    keyboard = ScriptedKeyboard(bridge, steps=[(0.0, '"hello there'), (0.0, "?"), (3.0, "2"),
                                               (0.0, "xyz")])
    result = invoke(bridge, ["sim", "call", CALLER, demo], keyboard)
    assert keyboard.interactive == [True]
    out = lines(result.output)
    assert any(line.startswith("keys: type digits") for line in out)  # the help, twice
    assert "? 'xyz': type ? for help" in out
    pressed = next(i for i, line in enumerate(out) if line.endswith("pressed 2"))
    said = next(i for i, line in enumerate(out) if line.endswith('said "hello there"'))
    joke = next(i for i, line in enumerate(out) if "It lost its contacts" in line)
    assert said < pressed < joke
    assert result.exit_code == 0 and out[-1] == "call ended: completed"


def test_ctrl_c_hangs_up_and_exits_130(bridge: ThreadedHarness, demo: str) -> None:
    keyboard = ScriptedKeyboard(bridge, interrupt_at=1.0)
    result = invoke(bridge, ["sim", "call", CALLER, demo], keyboard)
    assert result.exit_code == 130
    assert lines(result.output)[-1] == "hung up (Ctrl-C)"
    call_id = lines(result.output)[0].rsplit(" ", 1)[-1]
    bridge.run(bridge.h.clock.settle())
    call = bridge.run(bridge.h.call(call_id))
    assert call.status is CallStatus.COMPLETED
    transcript = bridge.h.transcript(call_id)
    assert transcript.entries[-1].by == "farEnd"


def test_hangup_typed_ends_the_call(bridge: ThreadedHarness, demo: str) -> None:
    keyboard = ScriptedKeyboard(bridge, steps=[(1.0, "h")])
    result = invoke(bridge, ["sim", "call", CALLER, demo], keyboard)
    out = lines(result.output)
    assert "hangup by farEnd" in " ".join(out)
    assert result.exit_code == 0 and out[-1] == "call ended: completed"


def test_a_call_that_does_not_complete_exits_3(bridge: ThreadedHarness) -> None:
    h = bridge.h
    app = h.scripted_app("http://reject.test")
    app.on("/voice", [{"Reject": {"reason": "closed"}}])
    number = bridge.run(h.number_for_app("+13125550177", voice_url=app.url("/voice")))
    result = invoke(bridge, ["sim", "call", CALLER, number, "--script", "[]"])
    out = lines(result.output)
    assert "rejected" in " ".join(out)
    assert result.exit_code == 3 and out[-1].startswith("call ended: ")
    assert out[-1] != "call ended: completed"


def test_script_from_json_text_and_file(tmp_path: Path) -> None:
    steps = [{"afterMs": 500, "digits": "1"}]
    assert load_script(json.dumps(steps)) == steps
    path = tmp_path / "script.json"
    path.write_text(json.dumps({"script": steps}))
    assert load_script(str(path)) == steps
    assert load_script(None) == []
    assert build_script(steps, ("2",), ("hi",)) == [
        *steps, {"afterMs": 3500, "digits": "2"}, {"afterMs": 6500, "say": "hi"}]


@pytest.mark.parametrize(("value", "problem"), [
    ("[not json", "not JSON"), ('{"steps": []}', "expected a list"), ("/no/such/file", "cannot read"),
])
def test_bad_script_is_a_usage_error(value: str, problem: str) -> None:
    result = CliRunner().invoke(cli, ["sim", "call", CALLER, AGENT, "--script", value])
    assert result.exit_code == 2 and problem in result.output


def test_server_refusals_are_messages(bridge: ThreadedHarness, demo: str) -> None:
    result = invoke(bridge, ["sim", "call", CALLER, demo, "--press", "1"], key="wrong-key-123")
    assert result.exit_code == 1
    assert "refused account" in result.output and "--key" in result.output
    result = invoke(bridge, ["sim", "call", CALLER, "+13125550999", "--press", "1"])
    assert result.exit_code == 1 and "HTTP 404" in result.output and "buy it first" in result.output


def test_unreachable_server_exits_1_with_a_hint() -> None:
    args = ["sim", "call", CALLER, AGENT, "--press", "1", "--url", "http://127.0.0.1:9",
            "--account", "AC" + "0" * 40, "--key", "k" * 10]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "cannot reach percl at http://127.0.0.1:9" in result.output
    assert "percl serve" in result.output
