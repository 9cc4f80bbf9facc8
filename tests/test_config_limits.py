"""The limit settings of config.from_sources: defaults, PERCL_* variables, and the errors for bad ones."""

from __future__ import annotations

import pytest

from percl.config import Settings, from_sources
from percl.engine.context import EngineSettings
from percl.errors import ConfigError


def test_defaults_are_documented_values() -> None:
    s = from_sources({})
    assert (s.api_rate_per_s, s.api_burst) == (100.0, 200)
    assert s.engine.max_live_calls_per_account == 10_000
    assert s.engine.calls_per_second == 0.0
    assert s == Settings()


def test_variables_set_every_limit() -> None:
    s = from_sources({"PERCL_API_RATE": "5", "PERCL_API_BURST": "10", "PERCL_MAX_LIVE_CALLS": "3",
                      "PERCL_CALLS_PER_SECOND": "0.5"})
    assert (s.api_rate_per_s, s.api_burst) == (5.0, 10)
    assert (s.engine.max_live_calls_per_account, s.engine.calls_per_second) == (3, 0.5)
    # the other engine settings keep their defaults
    assert s.engine.default_ring_timeout_s == EngineSettings().default_ring_timeout_s


def test_zero_turns_limits_off() -> None:
    s = from_sources({"PERCL_API_RATE": "0", "PERCL_MAX_LIVE_CALLS": "0", "PERCL_CALLS_PER_SECOND": "0"})
    assert (s.api_rate_per_s, s.engine.max_live_calls_per_account, s.engine.calls_per_second) == (0, 0, 0)


def test_overrides_win() -> None:
    s = from_sources({"PERCL_MAX_LIVE_CALLS": "3"}, {"PERCL_MAX_LIVE_CALLS": 7})
    assert s.engine.max_live_calls_per_account == 7


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("PERCL_API_RATE", "fast", "expected a number"),
        ("PERCL_API_RATE", "-1", ">= 0"),
        ("PERCL_API_RATE", "inf", "at most"),
        ("PERCL_API_RATE", "nan", ">= 0"),
        ("PERCL_API_BURST", "0", "between 1 and"),
        ("PERCL_API_BURST", "2.5", "whole number"),
        ("PERCL_MAX_LIVE_CALLS", "-1", "between 0 and"),
        ("PERCL_CALLS_PER_SECOND", "2000000", "at most"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, words: str) -> None:
    with pytest.raises(ConfigError, match=name) as info:
        from_sources({name: value})
    assert words in str(info.value)


def test_log_retention_and_cursor_secret_settings() -> None:
    s = from_sources({})
    assert (s.log_max_age_days, s.log_max_lines, s.cursor_secret) == (30.0, 1_000_000, None)
    s = from_sources({"PERCL_LOG_MAX_AGE_DAYS": "0.5", "PERCL_LOG_MAX_LINES": "0",
                      "PERCL_CURSOR_SECRET": "s" * 16})
    assert (s.log_max_age_days, s.log_max_lines, s.cursor_secret) == (0.5, 0, "s" * 16)
    for name, bad in (("PERCL_LOG_MAX_AGE_DAYS", "-1"), ("PERCL_LOG_MAX_LINES", "x"),
                      ("PERCL_CURSOR_SECRET", "short")):
        with pytest.raises(ConfigError, match=name):
            from_sources({name: bad})
