"""The `percl serve --workers N` supervisor's wait (cli/workers.py `_supervise`), with stand-in
processes: it returns once every worker has ended, even when they end between its check and
its wait (an empty wait blocked for good), and starts again a worker that exited with
EXIT_FENCED unless percl is stopping."""

from __future__ import annotations

import io
import os
import threading
from typing import Any

from rich.console import Console

from percl.cli.serve import EXIT_FENCED
from percl.cli.workers import _supervise


class Ended:
    """A worker that ends as soon as it is first looked at: `exitcode` is None once, then
    `code`; its sentinel is a pipe whose writer is gone (readable: ended)."""

    def __init__(self, code: int = 0) -> None:
        self.code, self.looks = code, 0
        self.sentinel, writer = os.pipe()
        os.close(writer)
        self.started = 0
        self.name, self.pid = "stand-in", 0

    @property
    def exitcode(self) -> int | None:
        self.looks += 1
        return None if self.looks == 1 else self.code

    def join(self, timeout: float | None = None) -> None:
        pass

    def start(self) -> None:
        self.started += 1


def _run(workers: list[Any], stopping: list[bool], made: list[Ended]) -> bool:
    def make(index: int) -> Any:
        made.append(Ended())
        return made[-1]

    done = threading.Event()

    def supervise() -> None:
        _supervise(workers, stopping, Console(file=io.StringIO()), make)
        done.set()

    threading.Thread(target=supervise, daemon=True).start()
    return done.wait(10)  # a guard against the hang, not a timing assertion


def test_workers_ending_between_the_check_and_the_wait_end_the_supervisor() -> None:
    assert _run([Ended()], [], [])


def test_a_fenced_worker_is_started_again_unless_stopping() -> None:
    made: list[Ended] = []
    workers: list[Any] = [Ended(EXIT_FENCED), Ended()]
    assert _run(workers, [], made)
    assert len(made) == 1 and made[0].started == 1 and workers[0] is made[0]
    made = []
    assert _run([Ended(EXIT_FENCED)], [True], made)
    assert made == []
