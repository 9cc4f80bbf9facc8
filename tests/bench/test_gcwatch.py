"""bench/gcwatch_percl.py: GC pauses are timed per generation and summarised."""

from __future__ import annotations

from bench.gcwatch_percl import PauseLog


def test_pauses_are_timed_per_generation() -> None:
    log = PauseLog()
    for generation in (0, 0, 2):
        log("start", {"generation": generation})
        log("stop", {"generation": generation})
    summary = log.summary()
    assert summary["0"]["n"] == 2 and summary["1"]["n"] == 0 and summary["2"]["n"] == 1
    assert 0 <= summary["2"]["max_ms"] < 1000
    assert summary["1"] == {"n": 0, "total_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
