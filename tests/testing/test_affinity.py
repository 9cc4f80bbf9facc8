"""SharedCpu: the loop's thread and the WSGI workers on one CPU while calls are in flight."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from percl.testing import affinity
from percl.testing.affinity import ENV_SWITCH, SharedCpu
from percl.testing.workers import WorkerPool

linux_only = pytest.mark.skipif(not SharedCpu(enabled=True).active,
                                reason="no CPU affinity on this platform")


def test_switched_off_it_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_SWITCH, "0")
    shared = SharedCpu()
    assert not shared.active
    shared.enter([])
    shared.adopt()
    shared.leave()
    assert shared.cpu is None


def test_it_is_off_unless_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 11.6: the kit does not pin CPUs by default; PERCL_KIT_SHARE_CPU=1 asks for it."""
    monkeypatch.delenv(ENV_SWITCH, raising=False)
    assert not SharedCpu().active
    assert not WorkerPool()._cpu.active
    monkeypatch.setenv(ENV_SWITCH, "1")
    assert SharedCpu().active == SharedCpu(enabled=True).active


@linux_only
async def test_worker_and_loop_thread_share_a_cpu_during_a_call() -> None:
    own = os.sched_getaffinity(0)
    loop_thread = threading.get_native_id()
    pool = WorkerPool(shared_cpu=SharedCpu(enabled=True))

    def masks() -> tuple[set[int], set[int]]:
        return os.sched_getaffinity(0), os.sched_getaffinity(loop_thread)

    worker_mask, loop_mask = await pool.run(masks)
    assert len(worker_mask) == 1 and worker_mask == loop_mask  # one CPU, the same for both
    assert os.sched_getaffinity(0) == own  # given back once the call returned
    await pool.close()


@linux_only
async def test_a_refusal_switches_it_off_and_restores_the_loop_thread(
        monkeypatch: pytest.MonkeyPatch) -> None:
    own = os.sched_getaffinity(0)
    if len(own) < 2:
        pytest.skip("one CPU: pinning to it changes nothing to refuse")
    shared = SharedCpu(enabled=True)
    pool = WorkerPool(shared_cpu=shared)
    assert await pool.run(len, "ab") == 2
    real = os.sched_setaffinity
    calls: list[int] = []

    def refuse_pinning(pid: int, mask: set[int]) -> None:
        calls.append(pid)
        if len(mask) == 1 and mask != own:  # restoring is allowed; pinning is refused
            raise PermissionError("not in this container")
        real(pid, mask)

    monkeypatch.setattr(os, "sched_setaffinity", refuse_pinning)
    assert await pool.run(len, "abc") == 3  # the call itself is unaffected
    assert not shared.active and calls
    assert os.sched_getaffinity(0) == own
    await pool.close()


@linux_only
async def test_closing_the_pool_unpins_the_loop_thread_even_with_a_call_stuck() -> None:
    own = os.sched_getaffinity(0)
    pool = WorkerPool(shared_cpu=SharedCpu(enabled=True))
    release = threading.Event()
    started = threading.Event()

    def stuck() -> None:
        started.set()
        release.wait(5)

    task = asyncio.create_task(pool.run(stuck))
    await asyncio.to_thread(started.wait, 5)
    assert len(os.sched_getaffinity(0)) == 1  # pinned while the call is in flight
    with pytest.warns(RuntimeWarning, match="still busy"):
        await pool.close(timeout_s=0.01)
    assert os.sched_getaffinity(0) == own
    release.set()
    await task
    assert os.sched_getaffinity(0) == own  # the late leave() changes nothing


@linux_only
def test_a_cpu_the_kernel_would_not_name_switches_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(affinity, "_current_cpu_reader", lambda: lambda: -1)
    own = os.sched_getaffinity(0)
    shared = SharedCpu(enabled=True)
    assert shared.active
    shared.enter([])
    shared.leave()
    assert not shared.active and os.sched_getaffinity(0) == own
