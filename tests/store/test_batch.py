"""BatchWriter (write-behind) and GroupCommit on their own, with a write that the test controls."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from percl.store.sql.batch import BatchWriter, GroupCommit, Row


class Gate:
    """A write that records each batch and, while closed, waits for the test to open it."""

    def __init__(self) -> None:
        self.batches: list[list[Row]] = []
        self.open = asyncio.Event()
        self.open.set()

    async def write(self, rows: Sequence[Row]) -> None:
        await self.open.wait()
        self.batches.append(list(rows))


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_batch_writer_flush_waits_for_a_batch_already_taken() -> None:
    gate = Gate()
    writer = BatchWriter(gate.write, max_batch=10)
    writer.start()
    gate.open.clear()
    writer.add((1,))
    await settle()  # the task has taken (1,) and waits in the write
    assert writer.pending == 0
    writer.add((2,))
    flushing = asyncio.ensure_future(writer.flush())
    await settle()
    assert not flushing.done()
    gate.open.set()
    await flushing
    assert gate.batches == [[(1,)], [(2,)]]
    await writer.stop()
    assert not writer.running


async def test_group_commit_a_cancelled_submitter_does_not_strand_the_others() -> None:
    gate = Gate()
    commit = GroupCommit(gate.write, max_batch=10)
    gate.open.clear()
    first = asyncio.ensure_future(commit.submit((1,)))
    await settle()
    queued = [asyncio.ensure_future(commit.submit((n,))) for n in (2, 3)]
    await settle()
    first.cancel()  # the writer of the in-flight row goes away; 2 and 3 must still be written
    await settle()
    gate.open.set()
    await asyncio.gather(*queued)
    assert gate.batches == [[(2,), (3,)]]
    await commit.idle()


async def test_batch_writer_lingers_for_more_rows_but_flush_does_not_wait() -> None:
    for linger_s, expected in ((0.0, [[(1,)], [(2,)]]), (3600.0, [[(1,), (2,)]])):
        gate = Gate()
        writer = BatchWriter(gate.write, max_batch=10, linger_s=linger_s)
        writer.start()
        writer.add((1,))
        await settle()  # without a linger the task writes (1,) now; with one it waits for more
        writer.add((2,))
        await asyncio.wait_for(writer.flush(), 5)  # never waits for the linger (an hour here)
        assert gate.batches == expected
        await writer.stop()


async def test_a_full_batch_does_not_linger() -> None:
    gate = Gate()
    writer = BatchWriter(gate.write, max_batch=2, linger_s=3600.0)
    writer.start()
    writer.add((1,))
    writer.add((2,))
    await settle()
    assert gate.batches == [[(1,), (2,)]]
    await writer.stop()
