"""PERCL_MAX_CALL_DURATION_S: the longest a leg may live before it ends with maxDuration."""

from __future__ import annotations

import pytest

from percl.config import from_sources
from percl.errors import ConfigError


def test_default_is_four_hours_and_the_variable_sets_it() -> None:
    assert from_sources({}).engine.max_call_duration_s == 4 * 3600
    assert from_sources({"PERCL_MAX_CALL_DURATION_S": "90"}).engine.max_call_duration_s == 90.0
    assert from_sources({"PERCL_MAX_CALL_DURATION_S": "0"}).engine.max_call_duration_s == 0.0  # off


@pytest.mark.parametrize("raw", ["-1", "soon", "nan"])
def test_bad_values_name_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match="PERCL_MAX_CALL_DURATION_S"):
        from_sources({"PERCL_MAX_CALL_DURATION_S": raw})
