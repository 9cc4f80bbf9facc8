"""`percl calls`, `percl logs [-f] [--pql]` and `percl trace --last`, through click's runner."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from percl.errors import StoreBusy
from percl.telephony.sim.model import PhoneStep
from tests.cli.bridge import CALLER, ScriptedKeyboard, Step, ThreadedHarness, invoke


@pytest.fixture(scope="module")
def bridge() -> Iterator[ThreadedHarness]:
    """Two finished demo calls: the first chose the joke (2), the second the agent (1)."""
    with ThreadedHarness() as b:
        number = b.demo()
        for digits in ("2", "1"):
            b.run(b.h.sim_call(CALLER, number, [PhoneStep(after_ms=3000, digits=digits)]))
            b.run(b.h.advance(60))
        yield b


def calls_of(bridge: ThreadedHarness, *args: str) -> list[dict[str, object]]:
    result = invoke(bridge, ["calls", "--json", *args])
    assert result.exit_code == 0, result.output
    data: list[dict[str, object]] = json.loads(result.output)
    return data


def test_calls_lists_newest_first_with_filters(bridge: ThreadedHarness) -> None:
    everything = calls_of(bridge)
    assert [c["direction"] for c in everything] == ["outboundDial", "inbound", "inbound"]
    assert [c["direction"] for c in calls_of(bridge, "--limit", "2")] == ["outboundDial", "inbound"]
    inbound = calls_of(bridge, "--from", CALLER)
    assert len(inbound) == 2 and all(c["from"] == CALLER for c in inbound)
    assert calls_of(bridge, "--to", CALLER) == []
    assert len(calls_of(bridge, "--status", "completed")) == 3
    assert calls_of(bridge, "--status", "busy") == [] and calls_of(bridge, "--active") == []
    result = invoke(bridge, ["calls"])
    lines = result.output.splitlines()
    assert len(lines) == 3 and lines[1].startswith(str(everything[1]["callId"]))
    assert f"  2026-01-01 00:00:00  inbound       {CALLER} -> " in lines[2]
    assert lines[2].endswith("  completed  8 s")  # the joke: hung up by the app
    assert invoke(bridge, ["calls", "--status", "busy"]).output == "no calls match\n"


def test_calls_refuses_an_unknown_status(bridge: ThreadedHarness) -> None:
    result = invoke(bridge, ["calls", "--status", "done"])
    assert result.exit_code == 2 and "'done' is not one of" in result.output


def test_trace_last_is_the_newest_call(bridge: ThreadedHarness) -> None:
    newest = calls_of(bridge)[0]["callId"]
    last = json.loads(invoke(bridge, ["trace", "--last", "--json"]).output)
    of_newest = json.loads(invoke(bridge, ["trace", str(newest), "--json"]).output)
    assert last == of_newest and last["legs"][0]["call"]["callId"] == newest
    assert invoke(bridge, ["trace"]).exit_code == 2
    assert invoke(bridge, ["trace", str(newest), "--last"]).exit_code == 2


def test_trace_lines_are_whole_when_piped(bridge: ThreadedHarness) -> None:
    result = invoke(bridge, ["trace", "--last"])
    assert result.exit_code == 0
    assert max(len(line) for line in result.output.splitlines()) > 100
    hook = next(line for line in result.output.splitlines() if "webhook outDialStart" in line)
    assert hook.rstrip().endswith("-> 200 in 0 ms")  # one line, not wrapped at 80 columns


def test_logs_prints_the_newest_entries_oldest_first(bridge: ThreadedHarness) -> None:
    result = invoke(bridge, ["logs", "--json", "--limit", "5"])
    entries = [json.loads(line) for line in result.output.splitlines()]
    stamps = [e["timestamp"] for e in entries]
    assert len(entries) == 5 and stamps == sorted(stamps)
    everything = [json.loads(line) for line in invoke(bridge, ["logs", "--json", "--limit", "1000"])
                  .output.splitlines()]
    assert everything[-5:] == entries and len(everything) > 5
    text = invoke(bridge, ["logs", "--limit", "1"]).output
    assert text.count("\n") == 1 and "  info     CA" in text


def test_logs_pql_filters_and_bad_pql_is_an_error(bridge: ThreadedHarness) -> None:
    result = invoke(bridge, ["logs", "--json", "--pql", 'message = "Call ended: completed (appHangup)"'])
    entries = [json.loads(line) for line in result.output.splitlines()]
    assert len(entries) == 3 and {e["message"] for e in entries} == {"Call ended: completed (appHangup)"}
    bad = invoke(bridge, ["logs", "--pql", "level ="])
    assert bad.exit_code == 1 and "HTTP 400" in bad.output


def test_logs_follow_prints_each_new_entry_once_until_interrupted(bridge: ThreadedHarness) -> None:
    h = bridge.h
    app = h.scripted_app("http://follow.test")
    app.on("/voice", [{"Say": {"text": "hi"}}, {"Hangup": {}}])
    number = bridge.run(h.number_for_app("+13125550166", voice_url=app.url("/voice")))
    started: list[str] = []

    def place_call() -> None:
        started.append(bridge.run(h.sim_call(CALLER, number)))

    keyboard = ScriptedKeyboard(bridge, steps=[(2.0, place_call)], interrupt_at=30.0)
    result = invoke(bridge, ["logs", "-f", "--json", "--limit", "1"], keyboard)
    assert result.exit_code == 0 and keyboard.interactive == [False]
    entries = [json.loads(line) for line in result.output.splitlines()]
    new = entries[1:]
    assert new and all(e["callId"] == started[0] for e in new)
    assert len({json.dumps(e, sort_keys=True) for e in entries}) == len(entries)  # no repeats
    assert new[-1]["message"] == "Call ended: completed (appHangup)"
    assert [e["timestamp"] for e in new] == sorted(e["timestamp"] for e in new)


def test_logs_follow_outlives_a_busy_database(bridge: ThreadedHarness,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    h = bridge.h
    app = h.scripted_app("http://busy.test")
    app.on("/voice", [{"Say": {"text": "hi"}}, {"Hangup": {}}])
    number = bridge.run(h.number_for_app("+13125550167", voice_url=app.url("/voice")))
    store = h.platform.store
    started: list[str] = []

    async def busy(*_a: object, **_k: object) -> object:
        raise StoreBusy()

    def place_call() -> None:
        started.append(bridge.run(h.sim_call(CALLER, number)))

    def lock() -> None:  # GET /Logs answers 503 (whichever read the store pages the log with)
        for read in ("list_logs", "page_logs"):
            monkeypatch.setattr(store, read, busy, raising=False)

    steps: list[tuple[float, Step]] = [
        (1.0, lock),
        (3.0, lambda: monkeypatch.undo()),
        (4.0, place_call),
    ]
    keyboard = ScriptedKeyboard(bridge, steps=steps, interrupt_at=30.0)
    result = invoke(bridge, ["logs", "-f", "--json", "--limit", "1"], keyboard)
    assert result.exit_code == 0, result.output
    assert "retrying" in result.stderr
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    assert entries[-1]["callId"] == started[0]
    assert entries[-1]["message"] == "Call ended: completed (appHangup)"


def test_status_says_up_only_when_the_credentials_are_accepted(bridge: ThreadedHarness) -> None:
    # /healthz needs no login: status must also try the account, or a wrong key looks fine.
    good = invoke(bridge, ["status"])
    assert good.exit_code == 0, good.output
    assert "up: percl " in good.output
    bad = invoke(bridge, ["status"], key="wrong-key-123")
    assert bad.exit_code == 1
    assert "credentials refused" in bad.output and "up:" not in bad.output
