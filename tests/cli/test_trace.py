"""`percl trace`: a call's whole flow from the REST API (records, logs) and the sim transcripts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console

from percl.cli.traceview import LegTrace, events, to_tree
from percl.telephony.sim.model import PhoneStep
from tests.cli.bridge import AGENT, CALLER, ThreadedHarness, invoke


@pytest.fixture(scope="module")
def flow() -> Iterator[tuple[ThreadedHarness, str]]:
    """One finished demo call in which the caller chose the agent (an OutDial)."""
    with ThreadedHarness() as b:
        number = b.demo()
        call_id = b.run(b.h.sim_call(CALLER, number, [PhoneStep(after_ms=3000, digits="1")]))
        b.run(b.h.advance(60))
        yield b, call_id


def test_tree_shows_legs_states_webhooks_and_percl_in_time_order(
        flow: tuple[ThreadedHarness, str]) -> None:
    bridge, call_id = flow
    result = invoke(bridge, ["trace", call_id])
    assert result.exit_code == 0, result.output
    # rich wraps long lines at 80 columns under the branch's guide line
    text = " ".join(result.output.replace("│", " ").split())
    assert text.startswith(f"inbound call {call_id} {CALLER} -> ")
    marks = [
        "+0.000s state ringing",
        "+0.000s webhook inboundCall POST http://127.0.0.1:8600/demo/voice -> 200 in 0 ms",
        '+0.000s PerCL Say "Welcome to the percl demo." | GetDigits',
        "+0.000s state inProgress",
        "+3.000s far end pressed 1",
        "+3.000s webhook getDigits POST http://127.0.0.1:8600/demo/menu?try=1 -> 200",
        f"OutDial destination={AGENT}",
        "+5.300s dialled: outboundDial call",
        "+6.300s webhook outDialConnect",
        "+10.200s state completed (callEndedReason appHangup)",
        "+5.300s webhook outDialStart",  # back on the caller's branch
        "+10.400s state completed (callEndedReason appHangup)",
        "+10.400s webhook callStatus",
    ]
    positions = [text.find(mark) for mark in marks]
    assert -1 not in positions, [m for m, p in zip(marks, positions, strict=True) if p < 0]
    assert positions == sorted(positions)


def test_trace_of_a_dialled_leg_shows_the_whole_family(flow: tuple[ThreadedHarness, str]) -> None:
    bridge, call_id = flow
    data = json.loads(invoke(bridge, ["trace", call_id, "--json"]).output)
    child_id = data["legs"][0]["call"]["callId"]
    again = json.loads(invoke(bridge, ["trace", child_id, "--json"]).output)
    assert again == data
    assert data["call"]["callId"] == call_id and data["call"]["direction"] == "inbound"
    child = data["legs"][0]
    assert child["call"]["direction"] == "outboundDial" and child["legs"] == []
    kinds = {e["kind"] for e in data["events"]}
    assert kinds == {"state", "webhook", "percl", "media", "dial"}
    offsets = [e["offsetS"] for e in data["events"]]
    assert offsets == sorted(offsets) and offsets[0] == 0.0
    hook = next(e for e in data["events"] if e["kind"] == "webhook")
    assert hook["detail"]["requestType"] == "inboundCall" and hook["detail"]["responseStatus"] == 200
    assert hook["detail"]["requestBody"]["callId"] == call_id
    percl = next(e for e in child["events"] if e["kind"] == "percl")
    assert percl["detail"]["percl"][-1] == {"Hangup": {}}


def test_unknown_call_is_an_error(flow: tuple[ThreadedHarness, str]) -> None:
    bridge, _ = flow
    result = invoke(bridge, ["trace", "CA" + "0" * 40])
    assert result.exit_code == 1 and "no call CA" in result.output


def test_failed_webhook_is_red_and_reason_is_shown(flow: tuple[ThreadedHarness, str]) -> None:
    bridge, _ = flow
    h = bridge.h
    app = h.scripted_app("http://broken.test")
    app.on("/voice", (500, "boom"))
    number = bridge.run(h.number_for_app("+13125550188", voice_url=app.url("/voice")))
    call_id = bridge.run(h.sim_call(CALLER, number))
    bridge.run(h.advance(5))
    data = json.loads(invoke(bridge, ["trace", call_id, "--json"]).output)
    errors = [e for e in data["events"] if e["level"] == "error"]
    assert errors and errors[0]["kind"] == "webhook"
    assert "-> 500 in" in errors[0]["text"]
    console = Console(record=True, width=200, force_terminal=True, color_system="standard")
    leg = LegTrace(call=data["call"], logs=[_log(e) for e in data["events"] if e["kind"] == "webhook"])
    console.print(to_tree(leg))
    assert "\x1b[1;31m" in console.export_text(styles=True)  # bold red


def _log(event: dict[str, Any]) -> dict[str, Any]:
    detail = event["detail"]
    return {"timestamp": event["atUs"], "level": event["level"], "message": event["text"],
            "metadata": detail}


def test_events_from_a_record_without_logs() -> None:
    call = {"callId": "CA1", "direction": "outboundAPI", "status": "noAnswer",
            "startTimeISO": "2026-01-01T00:00:00.000Z", "endTimeISO": "2026-01-01T00:00:30.000Z"}
    listed = [(e.at_us, e.text) for e in events(LegTrace(call=call))]
    assert listed == [(1_767_225_600_000_000, "state ringing"),
                      (1_767_225_630_000_000, "state noAnswer")]


def test_trace_shows_the_calls_recordings() -> None:
    with ThreadedHarness() as b:
        h = b.h
        app = h.scripted_app()
        app.on("/voice", [{"RecordUtterance": {"actionUrl": app.url("/rec"), "finishOnKey": "#"}}])
        app.on("/rec", [{"Hangup": {}}])
        number = b.run(h.number_for(app))
        call_id = b.run(h.sim_call(CALLER, number, [PhoneStep(after_ms=500, say="call me back"),
                                                    PhoneStep(after_ms=2200, digits="#")]))
        b.run(h.run_until_ended(call_id))
        [rec] = b.run(h.recordings(call_id))
        result = invoke(b, ["trace", call_id])
        assert result.exit_code == 0, result.output
        text = " ".join(result.output.replace("│", " ").split())
        # the Download URL at the address the CLI reached percl at
        url = (f"http://percl.test/apiserver/Accounts/{h.account.account_id}/Recordings/"
               f"{rec.recording_id}/Download")
        assert f"recording {rec.recording_id} 3 s {url}" in text
        assert text.find("webhook record") < text.find(f"recording {rec.recording_id}")
        as_json = json.loads(invoke(b, ["trace", call_id, "--json"]).output)
        [event] = [e for e in as_json["events"] if e["kind"] == "recording"]
        assert event["detail"] == {"recordingId": rec.recording_id, "durationSec": 3,
                                   "downloadUrl": url}
