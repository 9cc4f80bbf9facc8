"""`percl sim call` through click's runner, against the demo app on the FakeClock."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from percl.cli.live import LiveCall
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
    # the menu prompt cut by the key is told once, then the cut; each leg rings once
    assert sum("Press 1 to call an agent" in line for line in out) == 1
    assert out.index("3.00s  pressed 1") < out.index("3.00s  (cut after 700 ms)")
    assert "5.30s    │ ringing" in out and not any("state ringing" in line for line in out)


def test_typed_lines_wait_for_the_answer_then_press_and_speak(bridge: ThreadedHarness,
                                                             demo: str) -> None:
    # "2" after the welcome Say: every Say flushes the keys pressed while it speaks
    keyboard = ScriptedKeyboard(bridge, steps=[(0.0, '"hello there'), (0.0, "?"), (3.0, "2"),
                                               (0.0, "xyz")])
    result = invoke(bridge, ["sim", "call", CALLER, demo], keyboard)
    assert keyboard.interactive == [True]
    out = lines(result.output)
    assert any(line.startswith("keys: type digits") for line in out)  # the help, twice
    assert "a / d to answer" not in result.output  # the softphone's keys
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
    call_id = out[0].rsplit(" ", 1)[-1]
    assert result.exit_code == 3
    assert out[-2:] == ["call ended: busy (callEndedReason appReject)",
                        f"the whole flow: percl trace {call_id}"]


def test_a_failed_call_says_why(bridge: ThreadedHarness) -> None:
    h = bridge.h
    app = h.scripted_app("http://broken.test")
    app.on("/voice", (500, "boom"))
    number = bridge.run(h.number_for_app("+13125550178", voice_url=app.url("/voice")))
    result = invoke(bridge, ["sim", "call", CALLER, number, "--script", "[]"])
    out = lines(result.output)
    call_id = out[0].rsplit(" ", 1)[-1]
    assert result.exit_code == 3
    assert out[-3:] == ["call ended: failed (callEndedReason webhookFailed)",
                        "cause: inboundCall webhook to http://broken.test/voice failed: HTTP 500",
                        f"the whole flow: percl trace {call_id}"]


def test_a_wrong_key_ends_after_the_demos_retries(bridge: ThreadedHarness, demo: str) -> None:
    result = invoke(bridge, ["sim", "call", CALLER, demo, "--press", "3"])
    out = lines(result.output)
    assert result.exit_code == 0 and out[-1] == "call ended: completed"
    assert sum("Press 1 to call an agent" in line for line in out) == 3
    assert any(line.endswith('heard "Sorry, I did not get that. Goodbye."') for line in out)


def test_timeout_hangs_up_and_exits_124(bridge: ThreadedHarness, demo: str) -> None:
    result = invoke(bridge, ["sim", "call", CALLER, demo, "--script", "[]", "--timeout", "5"])
    out = lines(result.output)
    assert result.exit_code == 124, result.output
    assert "timed out after 5 s: hanging up" in out
    assert "5.00s  hangup by farEnd" in out and out[-1] == "call ended: completed"


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_hang_up_like_ctrl_c(bridge: ThreadedHarness, demo: str,
                                                signum: signal.Signals, code: int) -> None:
    before = signal.getsignal(signum)
    keyboard = ScriptedKeyboard(bridge, steps=[(1.0, lambda: os.kill(os.getpid(), signum))])
    result = invoke(bridge, ["sim", "call", CALLER, demo], keyboard)
    out = lines(result.output)
    assert result.exit_code == code
    assert out[-1] == f"hung up ({signum.name})"
    assert signal.getsignal(signum) == before  # the command's handler is gone
    call_id = out[0].rsplit(" ", 1)[-1]
    bridge.run(bridge.h.clock.settle())
    assert bridge.run(bridge.h.call(call_id)).status is CallStatus.COMPLETED
    assert bridge.h.transcript(call_id).entries[-1].by == "farEnd"


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
    assert "credentials refused" in result.output and "--key" in result.output
    result = invoke(bridge, ["sim", "call", CALLER, "+13125550999", "--press", "1"])
    assert result.exit_code == 1 and "HTTP 404" in result.output and "buy it first" in result.output


def test_unreachable_server_exits_1_with_a_hint() -> None:
    args = ["sim", "call", CALLER, AGENT, "--press", "1", "--url", "http://127.0.0.1:9",
            "--account", "AC" + "0" * 40, "--key", "k" * 10]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "cannot reach percl at http://127.0.0.1:9" in result.output
    assert "percl serve" in result.output


class TwoLegs:
    """A REST + sim API whose dialled leg's transcript starts before its record's startTime
    (times are truncated differently): its lines must still follow its header."""

    def sim(self, method: str, path: str, **kwargs: object) -> dict[str, object]:
        if "CAchild" in path:
            return {"createdMs": 1_767_225_605_000, "since": 0, "live": False,
                    "entries": [{"atMs": 0, "type": "ringing"},
                                {"atMs": 0, "type": "hangup", "by": "platform"}]}
        return {"createdMs": 1_767_225_600_000, "since": 0, "live": False,
                "entries": [{"atMs": 0, "type": "answered"}, {"atMs": 9000, "type": "hangup",
                                                              "by": "farEnd"}]}

    def rest(self, method: str, path: str, **kwargs: object) -> dict[str, object]:
        return {"callId": "CAroot", "status": "completed",
                "endTimeISO": "2026-01-01T00:00:09.000Z"}

    def rest_list(self, path: str, key: str, params: dict[str, str]) -> list[dict[str, object]]:
        if params["parentCallId"] != "CAroot":
            return []
        return [{"callId": "CAchild", "to": AGENT, "direction": "outboundDial",
                 "status": "busy", "startTimeISO": "2026-01-01T00:00:05.001Z",
                 "endTimeISO": "2026-01-01T00:00:05.001Z"}]


def test_a_dialled_legs_header_comes_before_its_lines() -> None:
    console = Console(record=True, width=200)
    live = LiveCall(TwoLegs(), console, "CAroot")  # type: ignore[arg-type]
    live.refresh()
    out = lines(console.export_text())
    header = next(i for i, line in enumerate(out) if "┌ dialled" in line)
    assert out[header] == f"5.00s    ┌ dialled {AGENT} (outboundDial) CAchild"
    assert out[header + 1:header + 3] == ["5.00s    │ ringing", "5.00s    │ hangup by platform"]


def test_timeout_also_hangs_up_the_legs_the_call_dialled(bridge: ThreadedHarness) -> None:
    # A parent's end does not end its children: a dialled leg whose app loops forever must not
    # keep `sim call --timeout` following it forever.
    app = bridge.h.scripted_app("http://forever.test")
    again = {"Redirect": {"actionUrl": app.url("/agent")}}
    app.on("/voice", [{"OutDial": {"destination": "+15550100077", "callingNumber": CALLER,
                                   "actionUrl": app.url("/dialing"),
                                   "callConnectUrl": app.url("/agent")}}])
    app.on("/dialing", [{"Pause": {"length": 60_000}}, {"Redirect": {"actionUrl": app.url("/dialing")}}])
    app.on("/agent", [{"Pause": {"length": 60_000}}, again])
    number = bridge.run(bridge.h.number_for(app, voice_path="/voice"))
    result = invoke(bridge, ["sim", "call", CALLER, number, "--script", "[]", "--timeout", "5"])
    out = lines(result.output)
    assert result.exit_code == 124, result.output
    dialled = next(line for line in out if "┌ dialled" in line).rsplit(" ", 1)[-1]
    bridge.run(bridge.h.clock.settle())
    assert bridge.run(bridge.h.call(dialled)).status is CallStatus.COMPLETED


def test_a_conference_participant_heard_is_printed_with_what_and_who() -> None:
    from percl.cli.render import entry_text

    assert entry_text({"type": "heard", "text": "billing please", "speaker": "+15550100002",
                       "speakerCallId": "CA1"}) == 'heard "billing please" from +15550100002'
    assert entry_text({"type": "heard", "digits": "12", "speaker": "+15550100002"}) == (
        "heard tones 12 from +15550100002")
