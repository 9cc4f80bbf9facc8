"""`percl serve`'s console lines: one per call event and webhook, decoded from the account log
the engine writes (engine.logs.StoreLogSink -> LogObserver -> cli.activity.ActivityPrinter)."""

from __future__ import annotations

import io

from rich.console import Console

from percl.cli.activity import ActivityPrinter, Verbosity
from percl.domain.enums import LogLevel
from percl.domain.records import LogEntry
from percl.engine.logs import StoreLogSink
from percl.engine.ports import LogFilter
from percl.runtime.clock import SystemClock
from percl.store.memory import MemoryStore
from percl.testing.harness import Harness

CALLER = "+15550100001"


def printer(verbosity: Verbosity = Verbosity.NORMAL) -> tuple[ActivityPrinter, io.StringIO]:
    out = io.StringIO()
    p = ActivityPrinter(Console(file=out, width=300, color_system=None), verbosity)
    p.active = True
    return p, out


async def _engine_log(h: Harness, voice_url: str) -> tuple[str, list[LogEntry]]:
    """A real inbound call's account log, oldest first."""
    number = await h.number_for_app(voice_url=voice_url)
    call_id = await h.sim_call(CALLER, number)
    await h.run_until_ended(call_id)
    logs = await h.store.list_logs(h.account.account_id, LogFilter())
    return call_id, list(reversed(logs))


def _lines(out: io.StringIO) -> list[str]:
    return [line[9:] for line in out.getvalue().splitlines()]  # without the HH:MM:SS clock


async def test_a_call_prints_its_webhooks_and_state_changes() -> None:
    async with Harness() as h:
        app = h.scripted_app()
        app.on("/voice", [{"Say": {"text": "hi"}}, {"Hangup": {}}])
        call_id, log = await _engine_log(h, app.url("/voice"))
    p, out = printer()
    for entry in log:
        p.observe(entry)
    head = f"{call_id}  {CALLER} -> +13125550100  "
    lines = _lines(out)
    assert f"{head}inboundCall 200 0 ms" in lines
    assert f"{head}ended completed (appHangup)" in lines
    assert not any("PerCL received" in line for line in lines)  # a detail: --verbose only
    verbose, vout = printer(Verbosity.VERBOSE)
    for entry in log:
        verbose.observe(entry)
    assert any("PerCL received" in line for line in _lines(vout))
    assert len(_lines(vout)) == len(log) > len(lines)


async def test_a_failed_webhook_is_a_red_line_with_its_cause_and_quiet_keeps_only_errors() -> None:
    async with Harness() as h:
        call_id, log = await _engine_log(h, "http://nowhere.test/voice")
    p, out = printer()
    quiet, qout = printer(Verbosity.QUIET)
    for entry in log:
        p.observe(entry)
        quiet.observe(entry)
    failed = [line for line in _lines(out) if "failed:" in line]
    assert failed and failed[0].startswith(f"{call_id}  {CALLER} -> +13125550100  inboundCall "
                                           "POST http://nowhere.test/voice failed: ")
    assert _lines(qout) and all("inboundCall 200" not in line for line in _lines(qout))
    assert len(_lines(qout)) == sum(1 for e in log if e.level is LogLevel.ERROR)


def test_lines_are_coloured_by_outcome() -> None:
    out = io.StringIO()
    p = ActivityPrinter(Console(file=out, force_terminal=True, color_system="standard"))
    p.active = True
    ok = LogEntry(0, LogLevel.INFO, "AC1", "Webhook ...", call_id="CA1", metadata={
        "requestType": "inboundCall", "elapsedMs": 12.4, "responseStatus": 200, "cause": None,
        "url": "http://a/v", "requestBody": {"from": "+1555", "to": "+1201"}})
    bad = LogEntry(0, LogLevel.ERROR, "AC1", "Webhook ...", call_id="CA1", metadata={
        "requestType": "getDigits", "elapsedMs": 1, "responseStatus": None, "url": "http://a/m",
        "cause": "transportError", "error": "connection refused"})
    p.observe(ok)
    p.observe(bad)
    text = out.getvalue()
    assert "\x1b[32minboundCall 200 12 ms" in text  # green
    assert "\x1b[1;31mgetDigits POST http://a/m failed: connection refused" in text  # bold red
    assert "CA1\x1b[0m  +1555 -> +1201" in text  # numbers learnt from the first webhook


class Boom:
    def observe(self, entry: LogEntry) -> None:
        raise RuntimeError("the terminal is gone")


class Keep:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def observe(self, entry: LogEntry) -> None:
        self.seen.append(entry.message)


async def test_the_log_sink_shows_every_stored_line_to_its_observers() -> None:
    store, keep = MemoryStore(), Keep()
    sink = StoreLogSink(store, SystemClock(), [Boom(), keep])
    await store.open()
    await sink.log(LogLevel.INFO, "AC1", "one")
    await sink.log(LogLevel.ERROR, "AC1", "two")  # a failing observer neither raises nor stops others
    assert keep.seen == ["one", "two"]
    assert [e.message for e in await store.list_logs("AC1", LogFilter())] == ["two", "one"]


def test_a_line_with_some_other_status_is_not_a_call_state_change() -> None:
    # The conference's waitUrl line carries the HTTP status of its fetch; it is no "ended ..."
    # of the call that created the conference.
    p, out = printer()
    p.observe(LogEntry(0, LogLevel.INFO, "AC1", "Conference CF1 waitUrl http://a/wait fetched",
                       call_id="CA1", metadata={"conferenceId": "CF1", "status": 200}))
    p.observe(LogEntry(0, LogLevel.INFO, "AC1", "Call ended: completed (hangup)", call_id="CA1",
                       metadata={"status": "completed", "callEndedReason": "hangup"}))
    assert _lines(out) == ["CA1  ended completed (hangup)"]
