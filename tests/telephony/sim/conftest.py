"""Fixtures of the simulated network tests."""

from __future__ import annotations

import pytest

from percl.testing.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
