"""Keep the kit's WSGI worker threads on the CPU of the event loop's thread while they work.

Why: the loop's thread hands a webhook to a worker thread and sleeps until it answers; with a
CPU free, Linux wakes the worker on the *other* CPU every time, and CPython threads that take
turns across CPUs pay for it, mostly in cache traffic (every reference count the worker touches
moves a cache line over and back). Measured on the 2-CPU dev machine, the Flask flow in
bench/kit_throughput.py ran at 305-317 flows/s split over two CPUs and 407-495 flows/s with both
threads on one, as fast as `taskset -c 1` on the whole process (the GIL lets only one of them run
Python at a time anyway).

So, while at least one worker call is in flight, the loop's thread is pinned to the CPU it is
running on, and the workers to the same CPU; when the last call returns the loop's thread gets its
own CPU set back. Workers stay pinned between calls (re-pinned when the loop's thread has moved).
Opt-in (issue 11: product code is not a benchmark rig): off unless PERCL_KIT_SHARE_CPU=1, since
it changes the CPU mask of the thread running your tests. Best effort: Linux only
(sched_setaffinity and libc's sched_getcpu), silently off elsewhere, and off for good after any
refusal from the OS. A thread or process
that the loop's thread starts while a call is in flight inherits the one-CPU mask and keeps it
(Linux copies a thread's mask to what it starts), e.g. a default-executor thread made by
`asyncio.to_thread` inside a webhook; after a refusal the workers stay where they were pinned.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from collections.abc import Callable, Iterable

ENV_SWITCH = "PERCL_KIT_SHARE_CPU"


def _current_cpu_reader() -> Callable[[], int] | None:
    """libc's sched_getcpu, or None where there is no such thing (not Linux, no glibc/musl)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    try:
        getcpu = ctypes.CDLL(None).sched_getcpu
    except (OSError, AttributeError):
        return None
    getcpu.restype = ctypes.c_int
    getcpu.argtypes = []

    def current() -> int:
        return int(getcpu())

    return current


class SharedCpu:
    """Pins the calling (loop) thread and a pool's workers to one CPU while calls are in flight.

    Call `enter(workers)` before handing a call to a worker and `leave()` once it has answered,
    both on the loop's thread; call `adopt()` first thing in a new worker thread. Never raises.
    """

    def __init__(self, enabled: bool | None = None) -> None:
        if enabled is None:
            enabled = os.environ.get(ENV_SWITCH, "0") == "1"
        self._current_cpu = _current_cpu_reader() if enabled else None
        self._in_flight = 0
        self._saved: set[int] | None = None  # the loop thread's own CPU set, while pinned
        self.cpu: int | None = None  # where the workers are pinned now

    @property
    def active(self) -> bool:
        """False unless switched on, on platforms without CPU affinity, or after a refusal."""
        return self._current_cpu is not None

    def enter(self, workers: Iterable[threading.Thread]) -> None:
        """A call is about to go to a worker: pin this thread (first call) and the workers."""
        self._in_flight += 1
        if self._current_cpu is None:
            return
        try:
            cpu = self._current_cpu()  # -1 if the kernel would not say: ValueError below
            if self._in_flight == 1:
                self._saved = os.sched_getaffinity(0)
                os.sched_setaffinity(0, {cpu})
            if cpu != self.cpu:
                self.cpu = cpu
                for thread in workers:
                    if thread.native_id is not None:
                        with contextlib.suppress(ProcessLookupError):  # it has just exited
                            os.sched_setaffinity(thread.native_id, {cpu})
        except (OSError, ValueError):
            self._give_up()

    def leave(self) -> None:
        """A call has been answered (or abandoned): the last one unpins this thread."""
        self._in_flight = max(0, self._in_flight - 1)  # after release(), a late leave() is moot
        saved = self._saved
        if self._in_flight == 0 and saved is not None:
            self._saved = None
            try:
                os.sched_setaffinity(0, saved)
            except OSError:
                self._give_up()

    def release(self) -> None:
        """On the loop's thread, when the pool closes: its own CPU set back, whatever is still in
        flight (a call abandoned to a stuck app must not leave the thread pinned)."""
        self._in_flight = 0
        saved, self._saved = self._saved, None
        if saved is not None:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, saved)

    def adopt(self) -> None:
        """In a new worker thread: join the workers' CPU, if they are pinned to one."""
        cpu = self.cpu
        if self._current_cpu is None or cpu is None:
            return
        try:
            os.sched_setaffinity(0, {cpu})
        except OSError:
            self._current_cpu = None  # in a worker: stop trying, leave the loop thread's state alone

    def _give_up(self) -> None:
        """The OS refused (a restricted container, a CPU gone offline): stop trying."""
        self._current_cpu = None
        if self._saved is not None and self._in_flight == 0:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, self._saved)
            self._saved = None
