"""bench/workers.py stage 5's parts: the nats-server it starts and stops, the CPU it reads, and
how it reports rounds (medians, not the best), on made-up rows."""

from __future__ import annotations

import os
import socket
import time

import pytest
from bench.common import Summary
from bench.natsserver import NatsServer, find_nats_server
from bench.workers import CpuMeter, Ended, bus_share, medians, run_time_by_pid


def _row(label: str, p50: float, seconds: float, postgres_ms: float) -> Ended:
    times = Summary(500, p50, p50 * 2, p50 * 3, p50 * 4)
    return Ended(label, 500, times, seconds, {"postgres": postgres_ms / 1000}, 500, [], 1.0)


def test_medians_report_the_middle_round_of_each_way() -> None:
    rows = [_row("NATS, forwarded", p50, s, pg)
            for p50, s, pg in ((5.0, 1.0, 0.3), (30.0, 4.0, 0.9), (12.0, 2.0, 0.4))]
    rows.append(_row("NATS, owner", 2.0, 0.5, 0.2))
    lines = medians(rows)
    forwarded = next(line for line in lines if "NATS, forwarded" in line)
    assert "(3)" in forwarded and "p50  12.00" in forwarded  # not the best round's 5.00
    assert "250.0 requests/s" in forwarded  # 500 / 2.0 s
    assert "postgres 0.400" in forwarded
    assert any("NATS, owner" in line and "(1)" in line for line in lines)


def test_bus_share_is_forwarded_less_owner() -> None:
    share = bus_share(_row("f", 10.0, 1.0, 0.5), _row("o", 4.0, 1.0, 0.3))
    assert "p50 +6.00 ms" in share and "p99 +18.00 ms" in share and "postgres +0.200" in share


def test_ended_lines_show_errors_and_what_completed() -> None:
    row = _row("LISTEN/NOTIFY, forwarded", 3.0, 2.0, 0.6)
    row.completed, row.errors = 498, ["POST /Calls/CA1 -> 404 ...", "x"]
    text = "\n".join(row.lines())
    assert "completed 498/500" in text and "2 errors, first: POST /Calls/CA1 -> 404" in text


def test_run_time_counts_this_process_to_below_a_tick() -> None:
    meter = CpuMeter(lambda: [os.getpid()], run_time_by_pid)
    end = time.process_time() + 0.003  # 3 ms of work: under one 10 ms tick of /proc/<pid>/stat
    while time.process_time() < end:
        pass
    spent = meter.spent()
    assert 0.0025 < spent < 0.009  # ticks would read 0 or 0.01
    assert run_time_by_pid([2**22 + 7]) == {}  # no such process: left out, not an error


def test_nats_server_starts_on_loopback_and_stops_by_pid() -> None:
    binary = find_nats_server()
    if binary is None:
        pytest.skip("nats-server is not installed (apt-get install nats-server)")
    with NatsServer(binary) as nats:
        assert nats.url == f"nats://127.0.0.1:{nats.port}"
        pid = nats.pid
        with socket.create_connection(("127.0.0.1", nats.port), timeout=5.0) as s:
            assert s.recv(4) == b"INFO"
    assert nats.proc is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
