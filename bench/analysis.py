"""Turn benchapp's records and the generator's POST timings into the figures the benchmarks print.

All times are CLOCK_MONOTONIC nanoseconds from two processes on one machine (see benchapp.py).
For every call the app's records are put in arrival order: webhook 1 (outDialApiConnect), 2, ...
The series, each in milliseconds:

- rest: POST /Calls sent -> its 202 read by the generator (the REST call as a client sees it);
- setup: POST /Calls sent -> webhook 1 arrives at the app (a call set up, as the app sees it);
- gap[kind]: webhook k-1 arrives -> webhook k (of that kind) arrives, both at the app: the
  webhook's latency as the app sees it, including the app's own answer time;
- engine[kind]: the app answers webhook k-1 -> webhook k arrives. With media time scale 0 nothing
  in between is simulated time, so this is all percl (plus loopback and the app's HTTP parsing):
  reading the answer, running the PerCL, writing the store, logging, signing, sending;
- app: webhook arrives -> the app answers (the app's own cost, expected to be tiny).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import Summary

Record = tuple[str, str, int, int]  # callId, requestType, arrived ns, answered ns
NS_PER_MS = 1_000_000


@dataclass
class Figures:
    """Everything one run measured; `window_s` runs from the first POST to the last webhook.
    `calls_completed` counts calls whose callStatus webhook reached the app."""

    calls_placed: int = 0
    calls_completed: int = 0
    webhooks: int = 0
    window_s: float = 0.0
    rest: list[float] = field(default_factory=list)
    setup: list[float] = field(default_factory=list)
    gap: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    engine: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    app: list[float] = field(default_factory=list)
    ended_ns: list[int] = field(default_factory=list)  # callStatus arrivals, sorted
    spans: list[tuple[int, int]] = field(default_factory=list)  # each engine-added interval, ns

    @property
    def calls_per_s(self) -> float:
        return self.calls_completed / self.window_s if self.window_s else 0.0

    @property
    def webhooks_per_s(self) -> float:
        return self.webhooks / self.window_s if self.window_s else 0.0

    @property
    def steady_calls_per_s(self) -> float:
        """Calls ended per second between the 10th and the 90th percentile of end times: the
        rate without the ramp-up (an empty pipeline) and the drain (the last calls finishing)."""
        return self.rate_between(0.1, 0.9)

    def rate_between(self, lo: float, hi: float) -> float:
        """Calls ended per second between the `lo` and `hi` fractions of the end times."""
        ends = self.ended_ns
        if len(ends) < 20:
            return self.calls_per_s
        first, last = int(len(ends) * lo), int(len(ends) * hi) - 1
        return (last - first) / ((ends[last] - ends[first]) / 1e9) if ends[last] > ends[first] else 0.0

    def engine_all(self) -> list[float]:
        return [v for values in self.engine.values() for v in values]

    def lines(self) -> list[str]:
        """The latency table: one line per series, labelled with what it measures."""
        out = [Summary.of(self.rest).line("REST POST /Calls -> 202 (client)"),
               Summary.of(self.setup).line("POST /Calls sent -> 1st webhook at app (setup)")]
        for kind, values in sorted(self.gap.items()):
            out.append(Summary.of(values).line(f"webhook {kind}: previous webhook -> this, at app"))
        for kind, values in sorted(self.engine.items()):
            out.append(Summary.of(values).line(f"engine-added: app answered -> {kind} arrives"))
        out.append(Summary.of(self.engine_all()).line("engine-added, all transitions"))
        out.append(Summary.of(self.app).line("app: webhook arrived -> app answered"))
        return out


def by_call(records: Iterable[Record]) -> dict[str, list[Record]]:
    """The records of each call, in arrival order."""
    calls: dict[str, list[Record]] = defaultdict(list)
    for rec in records:
        calls[rec[0]].append(rec)
    for recs in calls.values():
        recs.sort(key=lambda r: r[2])
    return calls


def figures(records: Sequence[Record], sent: dict[str, tuple[int, int]],
            since_ns: int = 0) -> Figures:
    """Figures for the calls in `sent` (callId -> (POST sent ns, 202 read ns)); records of other
    calls (warm-up, held calls) are ignored, as are records that arrived before `since_ns`."""
    f = Figures(calls_placed=len(sent))
    f.rest = [(done - start) / NS_PER_MS for start, done in sent.values()]
    calls = by_call(r for r in records if r[0] in sent and r[2] >= since_ns)
    first = min((start for start, _ in sent.values()), default=0)
    last = first
    for call_id, recs in calls.items():
        f.setup.append((recs[0][2] - sent[call_id][0]) / NS_PER_MS)
        for prev, cur in itertools.pairwise(recs):
            f.gap[cur[1]].append((cur[2] - prev[2]) / NS_PER_MS)
            f.engine[cur[1]].append((cur[2] - prev[3]) / NS_PER_MS)
            f.spans.append((prev[3], cur[2]))
        f.app.extend((r[3] - r[2]) / NS_PER_MS for r in recs)
        f.webhooks += len(recs)
        f.ended_ns.extend(r[2] for r in recs if r[1] == "callStatus")
        last = max(last, recs[-1][2])
    f.calls_completed = len(f.ended_ns)
    f.ended_ns.sort()
    f.window_s = (last - first) / 1e9
    return f


def percl_view(db_path: Path, call_ids: Iterable[str]) -> list[float]:
    """Engine-added latency as percl itself sees it, from its SQLite file (read-only, another
    process may still be writing it): for consecutive webhooks of a call, the next webhook's
    send time (its log line's timestamp minus its `elapsedMs`) minus the previous webhook's log
    timestamp (written just after its answer was read). In ms. This is the interval the issue
    names -- percl has the answer -> the next webhook leaves -- without loopback or the app's HTTP
    parsing; it slightly under-counts (the log line is stamped a few us after the answer is read).
    Every logged attempt counts, so a retry or fallback would add its wait; the benchmark app
    never fails, so there are none.
    """
    wanted = set(call_ids)
    rows: dict[str, list[tuple[int, float]]] = defaultdict(list)
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        for call_id, ts, meta in db.execute(
                "SELECT call_id, timestamp, metadata FROM logs WHERE metadata LIKE '%\"elapsedMs\"%'"):
            if call_id in wanted:
                rows[call_id].append((ts, json.loads(meta)["elapsedMs"]))
    out: list[float] = []
    for entries in rows.values():
        entries.sort()
        for (prev_ts, _), (ts, elapsed_ms) in itertools.pairwise(entries):
            out.append((ts - elapsed_ms * 1000 - prev_ts) / 1000)
    return out
