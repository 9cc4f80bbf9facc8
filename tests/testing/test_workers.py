"""WorkerPool: long-lived threads for blocking calls, grown when every worker is busy, stopped on close."""

from __future__ import annotations

import asyncio
import threading

import pytest

from percl.testing.workers import WorkerPool


def alive(pool_threads: list[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t in pool_threads]


async def test_calls_run_off_the_loop_thread_on_one_reused_worker() -> None:
    pool = WorkerPool()
    threads = [await pool.run(threading.get_ident) for _ in range(5)]
    assert threading.get_ident() not in threads
    assert len(set(threads)) == 1 and len(pool.threads) == 1  # sequential calls: one worker
    await pool.close()


async def test_no_event_loop_runs_in_the_worker() -> None:
    """As under a real WSGI server: an app may even call asyncio.run itself."""
    pool = WorkerPool()

    async def nothing() -> str:
        return "ran"

    assert await pool.run(asyncio.run, nothing()) == "ran"
    await pool.close()


async def test_an_exception_reaches_the_caller_as_is() -> None:
    pool = WorkerPool()
    error = ValueError("app broke")

    def fail() -> None:
        raise error

    with pytest.raises(ValueError) as raised:
        await pool.run(fail)
    assert raised.value is error
    assert await pool.run(len, "still works") == 11  # the worker survived
    await pool.close()


async def test_stop_iteration_is_turned_into_a_runtime_error() -> None:
    pool = WorkerPool()
    with pytest.raises(RuntimeError, match="StopIteration"):
        await pool.run(next, iter(()))
    await pool.close()


async def test_two_calls_in_flight_get_two_workers() -> None:
    """Each call waits for the other: one worker would leave the barrier broken."""
    pool = WorkerPool()
    barrier = threading.Barrier(2, timeout=5)
    results = await asyncio.gather(pool.run(barrier.wait), pool.run(barrier.wait))
    assert sorted(results) == [0, 1] and len(pool.threads) == 2
    await pool.close()


async def test_a_call_that_waits_for_a_nested_call_does_not_deadlock() -> None:
    """The app blocks on a REST call (on the loop) that needs the same app to answer a webhook."""
    pool = WorkerPool()
    loop = asyncio.get_running_loop()

    def inner() -> str:
        return "inner answered"

    def outer() -> str:
        nested = asyncio.run_coroutine_threadsafe(pool.run(inner), loop)
        return "outer got " + nested.result(timeout=5)

    assert await pool.run(outer) == "outer got inner answered"
    await pool.close()


async def test_a_full_pool_queues_calls() -> None:
    pool = WorkerPool(max_workers=1)
    results = await asyncio.gather(*(pool.run(threading.get_ident) for _ in range(4)))
    assert len(set(results)) == 1 and len(pool.threads) == 1
    await pool.close()


async def test_a_cancelled_caller_leaves_the_worker_reusable() -> None:
    """The result of a call nobody awaits any more is dropped, not set on a cancelled future."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    pool = WorkerPool(max_workers=1)  # the next call runs after the cancelled one, on its worker
    release = threading.Event()
    task = asyncio.create_task(pool.run(release.wait, 5))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
    assert await pool.run(len, "ab") == 2
    assert errors == []
    loop.set_exception_handler(None)
    await pool.close()


async def test_close_stops_every_worker_and_refuses_new_calls() -> None:
    pool = WorkerPool()
    barrier = threading.Barrier(3, timeout=5)
    await asyncio.gather(*(pool.run(barrier.wait) for _ in range(3)))
    started = pool.threads
    assert len(alive(started)) == 3
    await pool.close()
    assert alive(started) == [] and pool.threads == []
    await pool.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        await pool.run(len, "")


async def test_close_waits_for_a_call_that_needs_the_loop() -> None:
    """close() keeps the loop running, so a worker's pending REST-like call can finish."""
    pool = WorkerPool()
    loop = asyncio.get_running_loop()
    entered = asyncio.Event()
    finished: list[str] = []

    async def on_loop() -> str:
        await asyncio.sleep(0)
        return "served"

    def call() -> None:
        loop.call_soon_threadsafe(entered.set)
        finished.append(asyncio.run_coroutine_threadsafe(on_loop(), loop).result(timeout=5))

    task = asyncio.create_task(pool.run(call))
    await entered.wait()
    started = pool.threads
    await pool.close()
    assert finished == ["served"] and alive(started) == []
    await task


async def test_an_idle_pool_starts_no_thread() -> None:
    pool = WorkerPool()
    assert pool.threads == []
    await pool.close()


async def test_a_worker_that_cannot_start_does_not_count(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = WorkerPool(max_workers=1)
    real_start = threading.Thread.start

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    with pytest.raises(RuntimeError, match="can't start"):
        await pool.run(threading.get_ident)
    assert pool.threads == []
    monkeypatch.setattr(threading.Thread, "start", real_start)
    assert await pool.run(threading.get_ident) != threading.get_ident()  # the pool still works
    await pool.close()
