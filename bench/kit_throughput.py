"""How fast the test kit runs simple call flows on the FakeClock (not part of `make test`).

Each flow is what a developer's test does: a virtual phone calls the app's number, hears a Say
and a GetDigits prompt, presses 1, hears the answer and is hung up on:

    call = percl.phone(CALLER).calls(number)
    call.expect_say(MENU); call.press("1"); call.expect_say(BYE); call.expect_hangup()

One `Percl` (one platform, one store: the kit's default MemoryStore, or with `--store sqlite` an
in-memory SQLite as the kit used before) runs all N flows one after another, as a test file of N
tests sharing a module-scoped fixture would. The app is a Flask app (called in one of the kit's
worker threads, the default), the same app called on the loop's thread, or a ScriptedApp.

    .venv/bin/python bench/kit_throughput.py [--calls 1000] [--app flask|flask-unthreaded|scripted]
                                             [--store memory|sqlite] [--media symbolic|audio]
                                             [--runs 1]

With `--runs N` it measures N times (a fresh Percl each, in this one process) and ends with the
best and the median rate: on a shared machine single runs vary by a third.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, request

from percl.engine.ports import Store
from percl.store.memory import MemoryStore
from percl.store.sqlite import SqliteStore
from percl.testing import Percl

CALLER = "+15550100001"
WELCOME = "Welcome to the bench."
MENU = "Press 1 to continue."
BYE = "You pressed 1. Goodbye."


def flask_app() -> Flask:
    app = Flask(__name__)

    @app.post("/voice")
    def voice() -> Any:
        return [{"Say": {"text": WELCOME}},
                {"GetDigits": {"actionUrl": request.url_root + "menu", "maxDigits": 1,
                               "prompts": [{"Say": {"text": MENU}}]}}]

    @app.post("/menu")
    def menu() -> Any:
        return [{"Say": {"text": f"You pressed {request.get_json()['digits']}. Goodbye."}},
                {"Hangup": {}}]

    return app


def mount(percl: Percl, kind: str) -> str:
    if kind == "scripted":
        app = percl.scripted_app()
        app.on("/voice", [{"Say": {"text": WELCOME}},
                          {"GetDigits": {"actionUrl": app.url("/menu"), "maxDigits": 1,
                                         "prompts": [{"Say": {"text": MENU}}]}}])
        app.on("/menu", lambda body: [{"Say": {"text": f"You pressed {body['digits']}. Goodbye."}},
                                      {"Hangup": {}}])
        return percl.number_for(app)
    flask = flask_app()
    percl.mount(flask, threaded=kind == "flask")
    return percl.number_for(flask)


def flow(percl: Percl, number: str) -> None:
    call = percl.phone(CALLER).calls(number)
    call.expect_say(MENU)
    call.press("1")
    call.expect_say(BYE)
    call.expect_hangup(reason="appHangup")


@dataclass
class Run:
    """One measurement: N flows on one fresh Percl."""

    elapsed: float
    cpu: float
    clock_s: float
    webhooks: int


def measure(calls: int, app: str, store_kind: str, media: str = "symbolic") -> Run:
    store: Store = MemoryStore() if store_kind == "memory" else SqliteStore.for_path(":memory:")
    with Percl(store=store, media=media) as percl:
        number = mount(percl, app)
        flow(percl, number)  # warm-up: imports, first-request setup
        started_clock = percl.now
        started, cpu_started = time.perf_counter(), time.process_time()
        for _ in range(calls):
            flow(percl, number)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        return Run(elapsed, cpu, percl.now - started_clock, len(percl.webhooks))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--app", choices=["flask", "flask-unthreaded", "scripted"], default="flask")
    parser.add_argument("--store", choices=["memory", "sqlite"], default="memory")
    parser.add_argument("--media", choices=["symbolic", "audio"], default="symbolic",
                        help="the simulated network's fidelity (audio: real TTS, tones, detectors)")
    parser.add_argument("--runs", type=int, default=1,
                        help="measure this many times (a fresh Percl each) and give best and median")
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        run = measure(args.calls, args.app, args.store, args.media)
        runs.append(run)
        print(f"kit throughput: {args.calls} flows ({args.app} app, {args.store} store, "
              f"{args.media} media), "
              f"{run.elapsed:.2f} s wall, {args.calls / run.elapsed:.0f} flows/s, "
              f"{run.elapsed / args.calls * 1000:.2f} ms a flow")
        print(f"  {run.cpu:.2f} s of CPU in this process ({args.calls / run.cpu:.0f} flows per CPU "
              f"second; wall time also counts waiting for a busy machine), load average "
              f"{os.getloadavg()[0]:.1f}")
        print(f"  {run.clock_s:.0f} s of FakeClock time ({run.clock_s / run.elapsed:.0f}x real time), "
              f"{run.webhooks} webhooks")
    if args.runs > 1:
        rates = sorted(args.calls / run.elapsed for run in runs)
        print(f"{args.runs} runs: best {rates[-1]:.0f} flows/s, median {statistics.median(rates):.0f} "
              f"flows/s, worst {rates[0]:.0f} flows/s")
    print(f"  machine: {platform.platform()}, Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
