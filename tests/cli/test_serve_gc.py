"""cli/serve.py's GC tuning (docs/BENCHMARKS.md fix 8): freeze what start-up built, fewer young passes."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from percl.cli.serve import GEN0_THRESHOLD, tune_gc


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_tune_gc_freezes_the_heap_and_raises_only_the_young_threshold(restored_gc: None) -> None:
    gc.unfreeze()
    _, gen1, gen2 = gc.get_threshold()
    survivor = [object()]  # built "at start-up": it must end up frozen, out of every pass
    tune_gc()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (GEN0_THRESHOLD, gen1, gen2) and GEN0_THRESHOLD > 700
    assert not any(obj is survivor for obj in gc.get_objects())  # frozen objects are not tracked
