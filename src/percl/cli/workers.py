"""`percl serve --workers N`: N worker processes serving one port, on one PostgreSQL database.

How the port is shared: SO_REUSEPORT. Each worker binds and listens on the port with its own
socket, and Linux spreads new connections over the listening sockets (by a hash of the
connection's addresses), so no process hands connections to another and a worker that dies takes
only its own connections with it. (uvicorn's own `--workers` forks children that share one
inherited socket and needs the app as an import string; percl builds its app from Settings in
each process, so it runs its workers itself.) This supervisor binds the port first without
listening (so port 0 becomes one port for every worker, and the port stays taken between
restarts) and never accepts a connection.

Before the workers start, the supervisor creates or migrates the schema and makes the seed
account once, so N workers never race to create two accounts. Then it forks them (a spawned
interpreter would import percl again: seconds per worker on a busy machine; the supervisor has no
thread and no event loop left at that point, so a fork is clean and shares the imported modules
copy-on-write; each worker makes its own event loop), each in a process group of its own,
so a Ctrl-C reaches the supervisor only, which passes one SIGINT to each worker: one graceful
shutdown each (a second SIGINT would make uvicorn exit at once). It exits once every worker has.
Worker 0 prints the banner and writes the credentials file; the others print one line each.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from rich.console import Console

from percl.app import ensure_account, store_for
from percl.cli import startup
from percl.cli.serve import EXIT_FENCED, ServeOptions, run_server
from percl.config import Settings, is_postgres
from percl.domain.ids import RandomIds
from percl.runtime.clock import SystemClock


class WorkersRefused(startup.StartRefused):
    """--workers N > 1 on SQLite, or with a flag N workers cannot share (the message is the line
    to print; exit code 2)."""


def check_workers(settings: Settings, options: ServeOptions) -> None:
    """Raise WorkersRefused when N > 1 on SQLite, or with --tls-self-signed (N workers would
    each make the certificate files)."""
    if settings.workers > 1 and not is_postgres(settings.db):
        raise WorkersRefused(
            f"--workers {settings.workers} needs PostgreSQL (PERCL_DB=postgresql://...): "
            "an SQLite database is served by one worker")
    if settings.workers > 1 and options.tls_self_signed:
        raise WorkersRefused(
            f"--workers {settings.workers} cannot use --tls-self-signed (each worker would make "
            "its own certificate files): give a certificate with --tls-cert and --tls-key")


def run_workers(settings: Settings, options: ServeOptions, console: Console) -> int:
    """Serve with `settings.workers` processes until interrupted; returns the exit code (0 when
    every worker ended cleanly). Raises PerclError (one line) when it cannot start."""
    check_workers(settings, options)
    held = _hold_port(settings.host, settings.port)
    try:
        settings = dataclasses.replace(settings, port=int(held.getsockname()[1]))
        asyncio.run(_prepare(settings))
        fork = multiprocessing.get_context("fork")

        def make(index: int) -> multiprocessing.process.BaseProcess:
            return fork.Process(target=_worker, args=(settings, options, index),
                                name=f"percl-worker-{index}")

        workers = [make(index) for index in range(settings.workers)]
        for worker in workers:
            worker.start()
        stopping: list[bool] = []
        previous = _forward_signals(workers, stopping)
        try:
            _supervise(workers, stopping, console, make)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        failed = [w for w in workers if w.exitcode not in (0, -signal.SIGINT)]
        for worker in failed:
            console.print(f"percl: {worker.name} (pid {worker.pid}) exited with {worker.exitcode}")
        return 1 if failed else 0
    finally:
        held.close()


def _hold_port(host: str, port: int) -> socket.socket:
    """host:port bound with SO_REUSEPORT and not listening: the workers' port, reserved."""
    sock = startup.bind(host, port, reuse_port=True, listen=False)
    return sock


async def _prepare(settings: Settings) -> None:
    """Create or migrate the schema and make the seed account, once, before the workers."""
    store = store_for(settings.db)
    await store.open()
    try:
        await ensure_account(store, SystemClock(), RandomIds(), settings.seed)
    finally:
        await store.close()


def _supervise(workers: list[multiprocessing.process.BaseProcess], stopping: list[bool],
               console: Console,
               make: Callable[[int], multiprocessing.process.BaseProcess]) -> None:
    """Wait for every worker to exit. One that exits with EXIT_FENCED (another worker declared
    it dead after a stall and took its calls over) is started again in its place, unless
    percl is stopping."""
    while alive := [w for w in workers if w.exitcode is None]:
        # One list for the test and the wait: a worker that ends in between still has its
        # sentinel in it (readable from then on), and an empty wait would block for good.
        multiprocessing.connection.wait([w.sentinel for w in alive])
        for index, worker in enumerate(workers):
            worker.join(0)
            if worker.exitcode == EXIT_FENCED and not stopping:
                console.print(f"percl: {worker.name} (pid {worker.pid}) was declared dead by "
                              "another worker and stopped; starting it again", highlight=False)
                workers[index] = make(index)
                workers[index].start()


def _forward_signals(workers: Sequence[multiprocessing.process.BaseProcess],
                     stopping: list[bool]) -> dict[int, Any]:
    """SIGINT and SIGTERM to the supervisor: one SIGINT to each live worker (graceful)."""

    def forward(_sig: int, _frame: FrameType | None) -> None:
        stopping.append(True)
        for worker in workers:
            if worker.pid is not None and worker.exitcode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGINT)

    return {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}


def _worker(settings: Settings, options: ServeOptions, index: int) -> None:
    """One worker process (the target of a forked Process)."""
    os.setpgid(0, 0)  # a Ctrl-C reaches the supervisor only: it tells each worker once
    # A worker started again (_supervise) is forked after the supervisor set its own handlers.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    console = Console()
    try:
        run_server(settings, options, console, worker_index=index)
    except startup.StartRefused as exc:
        console.print(f"percl worker {index}: {exc}", highlight=False, markup=False)
        raise SystemExit(1) from None
