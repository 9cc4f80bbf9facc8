"""Long-lived worker threads that run blocking calls (a WSGI app) for the kit's event loop.

Why not `asyncio.to_thread`: the kit used to run each webhook to a WSGI app as
`to_thread(asyncio.run, ...)`: a fresh event loop per webhook plus the default executor's
futures, about 0.2 ms a hop against 0.03 ms here. Here a call is one queue put, the blocking
function run bare in a thread (no event loop in it, as under a real WSGI server), and one
`call_soon_threadsafe` back.

Why the pool grows: an app may block inside a webhook on a REST call that needs another webhook
answered by the same app before it returns. With one worker that second webhook would wait behind
the first forever; here a call that finds no idle worker starts a new one (up to `max_workers`,
beyond which calls queue, as with any thread pool). Idle workers are kept for the next calls
until `close()`. With PERCL_KIT_SHARE_CPU=1 (opt-in), while calls are in flight the workers share
the loop thread's CPU (affinity.py): split over two CPUs, the same Flask flow took about 1.5
times the CPU time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import queue
import threading
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from percl.testing.affinity import SharedCpu

T = TypeVar("T")

# A job: the function and its arguments, and where to report the outcome. A (loop, future) pair
# is the stop sentinel: the worker resolves that future (on its loop) and exits.
_Job = tuple[Callable[..., Any], tuple[Any, ...], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]
_Stop = tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]

_names = itertools.count(1)


class WorkerPool:
    """Threads that run blocking functions for coroutines on an event loop; see the module doc.

    Use `await pool.run(fn, *args)` from the loop, and `await pool.close()` when done (the kit does
    both). Threads are started on demand, so a pool nobody calls costs nothing.
    """

    def __init__(self, name: str = "percl-app", max_workers: int = 64,
                 shared_cpu: SharedCpu | None = None) -> None:
        """`shared_cpu`: how workers share the loop thread's CPU (default: as affinity.py says)."""
        self._name = name
        self._cpu = shared_cpu if shared_cpu is not None else SharedCpu()
        self._max_workers = max_workers
        self._jobs: queue.SimpleQueue[_Job | _Stop] = queue.SimpleQueue()
        self._lock = threading.Lock()  # guards _idle, _threads and _closed
        self._idle = 0  # started workers not running a job (counted before they take the next)
        self._threads: list[threading.Thread] = []
        self._closed = False

    @property
    def threads(self) -> list[threading.Thread]:
        """The worker threads started so far (and not yet stopped by `close()`)."""
        with self._lock:
            return list(self._threads)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` in a worker thread and return its result; its exception propagates.

        Cancelling the caller does not stop the thread (nothing can); its result is then dropped.
        Raises RuntimeError once the pool is closed.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            if self._closed:
                raise RuntimeError("this worker pool is closed")
            if self._idle > 0:
                self._idle -= 1  # that worker is ours: the job below is what it will take
            elif len(self._threads) < self._max_workers:
                self._start_worker()
            # else: every worker is busy and the pool is full; the job waits for the first free one
        self._cpu.enter(self._threads)
        try:
            self._jobs.put((fn, args, loop, future))
            return await future
        finally:
            self._cpu.leave()

    async def close(self, timeout_s: float = 5.0) -> None:
        """Stop every worker once it finishes its current call; idempotent.

        Waits on the loop (it may still have to serve a worker's REST call), at most `timeout_s`
        real seconds; a worker still stuck in the app after that is left behind as a daemon thread
        (it cannot hold up the interpreter's exit).
        """
        with self._lock:
            self._closed = True
            threads, self._threads = self._threads, []
        self._cpu.release()
        if not threads:
            return
        loop = asyncio.get_running_loop()
        stopped: list[asyncio.Future[None]] = []
        for _ in threads:
            future: asyncio.Future[None] = loop.create_future()
            stopped.append(future)
            self._jobs.put((loop, future))
        try:
            await asyncio.wait_for(asyncio.gather(*stopped), timeout_s)
        except TimeoutError:
            # A worker is stuck in the app: leave it (a daemon) rather than block the loop, but say so.
            stuck = [t.name for t in threads if t.is_alive()]
            warnings.warn(f"percl.testing: app worker threads still busy after {timeout_s:g} s, left "
                          f"running: {', '.join(stuck)}", RuntimeWarning, stacklevel=2)
            return
        for thread in threads:
            thread.join(timeout=1.0)  # each has resolved its future: it is returning right now

    def _start_worker(self) -> None:
        """Start one more worker (the caller holds the lock and hands it a job at once)."""
        thread = threading.Thread(target=self._work, name=f"{self._name}-{next(_names)}", daemon=True)
        thread.start()  # a thread that cannot start (a thread limit) must not count as a worker
        self._threads.append(thread)

    def _work(self) -> None:
        """A worker's life: take a job, run it, report back on the job's loop; stop on a sentinel."""
        self._cpu.adopt()
        while True:
            job = self._jobs.get()
            if len(job) == 2:
                stop_loop, stop_future = job
                _report(stop_loop, stop_future, None, None)
                return
            fn, args, loop, future = job
            result: Any = None
            error: BaseException | None = None
            try:
                result = fn(*args)
            except BaseException as exc:  # everything goes back to the caller, as to_thread does
                # A future cannot hold StopIteration (it would end the awaiting coroutine).
                error = RuntimeError(f"{fn!r} raised StopIteration") if isinstance(
                    exc, StopIteration) else exc
            with self._lock:
                # Idle before reporting: the caller often submits the next call as soon as it
                # hears back, and should find this worker free rather than start another one.
                self._idle += 1
            _report(loop, future, result, error)
            del job, fn, args, result, error  # don't keep the last call's objects alive while idle


def _report(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], result: Any,
            error: BaseException | None) -> None:
    """Resolve `future` on its loop from a worker thread; a closed loop has nobody to tell."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(_resolve, future, result, error)


def _resolve(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller was cancelled meanwhile
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
