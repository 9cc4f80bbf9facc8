"""Attack: a `phoneNumber` filter built to make a backtracking regex engine run for ever.

percl used to compile the caller's pattern with `re` and search it on the event loop over every
number: `(\\d*){6}y` froze every tenant for seconds. The filters now run on RE2 (linear time),
bounded in length; what RE2 cannot run in linear time (backreferences, lookaround) is a 400.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from percl.api.number_filters import MAX_PATTERN_CHARS, compile_number_pattern
from percl.errors import BadRequest
from tests.api.conftest import INVENTORY, World
from tests.watchdog import watchdog as watchdog_for


@pytest.fixture
def watchdog() -> Iterator[None]:
    """Fails the test instead of hanging the suite if a backtracking engine is back (RE2 takes
    microseconds here; `re` takes longer than the age of the universe on the last pattern)."""
    with watchdog_for("the phoneNumber filter", seconds=20):
        yield


EVIL = [r"(\d*){6}y", r"(\d+)+y", r"(\+?\d*)*\d*\d*\d*\d*x", r"((\d|\d\d)+)+z"]


@pytest.mark.parametrize("pattern", EVIL)
@pytest.mark.parametrize("path", ["/AvailablePhoneNumbers", "IncomingPhoneNumbers"])
async def test_catastrophic_patterns_answer_at_once(
    client: httpx.AsyncClient, world: World, watchdog: None, pattern: str, path: str
) -> None:
    if path == "IncomingPhoneNumbers":
        path = f"/Accounts/{world.account.account_id}/IncomingPhoneNumbers"
        for number in ("+13125550101", "+13125550107"):
            assert (await client.post(path, json={"phoneNumber": number})).status_code == 200
    r = await client.get(path, params={"phoneNumber": pattern})
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 0


def test_pathological_search_is_linear(watchdog: None) -> None:
    pattern = compile_number_pattern(r"(\d*)*(\d*)*(\d*)*y")
    assert pattern is not None
    assert pattern.search("1" * 10_000) is None


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        (r"(1)\1", "backreferences"),
        (r"^(?=\+1)", "lookaround"),
        (r"(?<!\+)1", "lookaround"),
        ("1" * (MAX_PATTERN_CHARS + 1), f"at most {MAX_PATTERN_CHARS}"),
        ("1{5000}", "not a regular expression"),
    ],
)
async def test_unsupported_or_oversized_patterns_are_400(
    client: httpx.AsyncClient, pattern: str, says: str
) -> None:
    r = await client.get("/AvailablePhoneNumbers", params={"phoneNumber": pattern})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["details"]["field"] == "phoneNumber"
    assert says in body["message"]


_PIECES = st.sampled_from(
    ["^", "$", r"\+", "1", "3", "5", "0", r"\d", "[0-4]", "[^9]", ".", "(12|55)", "(0|1)?",
     r"\d{2}", "5+", "0*", "[13]{1,3}"]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=6))
def test_documented_syntax_matches_like_pcre(pieces: list[str]) -> None:
    """On the PCRE syntax FreeClimb's examples use, RE2 selects exactly what `re` selects."""
    text = "".join(pieces)
    ours = compile_number_pattern(text)
    assert ours is not None
    theirs = re.compile(text)
    for number in INVENTORY.numbers:
        found = ours.search(number.phone_number) is not None
        assert found == (theirs.search(number.phone_number) is not None), (text, number)


def test_empty_pattern_is_no_filter() -> None:
    assert compile_number_pattern("") is None and compile_number_pattern(None) is None
    with pytest.raises(BadRequest):
        compile_number_pattern("+1312")
