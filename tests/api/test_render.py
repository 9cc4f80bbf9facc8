"""Timestamp rendering and filter-time parsing."""

from __future__ import annotations

import pytest

from percl.api.render import envelope, iso, parse_filter_time, rfc1123
from percl.errors import BadRequest

# 2009-06-15 20:45:30 UTC, the example of FreeClimb's documentation
T = 1245098730.0


def test_rfc1123_matches_freeclimb_example() -> None:
    assert rfc1123(T) == "Mon, 15 Jun 2009 20:45:30 GMT"
    assert rfc1123(T + 0.999) == "Mon, 15 Jun 2009 20:45:30 GMT"
    assert rfc1123(None) is None


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (T, "2009-06-15T20:45:30.000Z"),
        (T + 0.358, "2009-06-15T20:45:30.358Z"),
        (T + 0.9999, "2009-06-15T20:45:30.999Z"),
        (0.0, "1970-01-01T00:00:00.000Z"),
    ],
)
def test_iso_has_milliseconds_and_z(ts: float, expected: str) -> None:
    assert iso(ts) == expected


def test_iso_none() -> None:
    assert iso(None) is None


def test_envelope() -> None:
    assert envelope("/Accounts/AC1", T, T + 60, 2) == {
        "uri": "/Accounts/AC1",
        "dateCreated": "Mon, 15 Jun 2009 20:45:30 GMT",
        "dateUpdated": "Mon, 15 Jun 2009 20:46:30 GMT",
        "revision": 2,
    }


def test_parse_filter_time_is_utc() -> None:
    assert parse_filter_time("2009-06-15 20:45:30", "startTime") == T


@pytest.mark.parametrize("bad", ["2009-06-15", "2009-06-15T20:45:30", "yesterday", ""])
def test_parse_filter_time_rejects_other_formats(bad: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_filter_time(bad, "endTime")
    assert info.value.details["field"] == "endTime"
    assert "endTime" in info.value.message
