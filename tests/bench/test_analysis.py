"""bench/analysis.py and bench/common.py statistics: what each series measures, on made-up times."""

from __future__ import annotations

import math

import pytest
from bench.analysis import figures
from bench.common import Summary, percentile

MS = 1_000_000  # ns


def _records() -> list[tuple[str, str, int, int]]:
    # Call A: POST sent at 0; connect arrives at 5 ms, answered at 6; redirect arrives at 8,
    # answered at 8.5; callStatus arrives at 12. Call B only got its connect webhook.
    return [
        ("CA_a", "redirect", 8 * MS, 8 * MS + MS // 2),
        ("CA_a", "outDialApiConnect", 5 * MS, 6 * MS),
        ("CA_a", "callStatus", 12 * MS, 12 * MS),
        ("CA_b", "outDialApiConnect", 20 * MS, 20 * MS),
        ("CA_other", "outDialApiConnect", 1 * MS, 1 * MS),  # not placed in this run: ignored
    ]


def test_series_follow_arrival_order_and_definitions() -> None:
    sent = {"CA_a": (0, 3 * MS), "CA_b": (10 * MS, 11 * MS)}
    f = figures(_records(), sent)
    assert f.calls_placed == 2 and f.calls_completed == 1 and f.webhooks == 4
    assert sorted(f.rest) == [1.0, 3.0]
    assert sorted(f.setup) == [5.0, 10.0]
    assert f.gap["redirect"] == [3.0] and f.gap["callStatus"] == [4.0]
    assert f.engine["redirect"] == [2.0] and f.engine["callStatus"] == [3.5]
    assert sorted(f.engine_all()) == [2.0, 3.5]
    assert f.window_s == pytest.approx(0.020)  # first POST (0) -> last arrival (20 ms)
    assert f.calls_per_s == pytest.approx(50.0) and f.webhooks_per_s == pytest.approx(200.0)
    assert f.ended_ns == [12 * MS] and f.steady_calls_per_s == f.calls_per_s  # too few to trim


def test_steady_rate_leaves_out_ramp_up_and_drain() -> None:
    # 100 calls end 10 ms apart, except that the last 10 straggle in 1 s apart (a drain).
    ends = [i * 10 * MS for i in range(90)] + [(890 + 1000 * k) * MS for k in range(1, 11)]
    records = [(f"CA{i}", "callStatus", t, t) for i, t in enumerate(ends)]
    f = figures(records, {f"CA{i}": (0, 0) for i in range(100)})
    assert f.calls_per_s == pytest.approx(100 / 10.89, rel=1e-3)
    assert f.steady_calls_per_s == pytest.approx(79 / 0.79)  # ends[10] -> ends[89] only


def test_records_before_since_are_left_out() -> None:
    f = figures(_records(), {"CA_a": (0, 3 * MS)}, since_ns=6 * MS)
    assert f.webhooks == 2 and "redirect" not in f.gap  # the connect (5 ms) is dropped


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_summary_of_nothing_is_nan_and_lines_name_the_series() -> None:
    empty = Summary.of([])
    assert empty.n == 0 and math.isnan(empty.p99)
    s = Summary.of([3.0, 1.0, 2.0])
    assert (s.p50, s.max) == (2.0, 3.0)
    assert "GET /Calls" in s.line("GET /Calls") and "p99    3.00" in s.line("x")
