"""Transcript rendering and the matchers behind expect_say / expect_play."""

from __future__ import annotations

import pytest

from percl.telephony.sim.model import HangupBy, Transcript, TranscriptEntry, TranscriptEvent
from percl.testing.transcripts import TranscriptView, describe_entry, field_matcher, text_matcher

E = TranscriptEvent
ENTRIES = (
    TranscriptEntry(0, E.RINGING),
    TranscriptEntry(20, E.ANSWERED),
    TranscriptEntry(20, E.SAY, text="Welcome  to Acme."),
    TranscriptEntry(1900, E.SAY, text="Press 1 for sales", interrupted=True, heard_ms=700),
    TranscriptEntry(2600, E.DIGITS_PRESSED, digits="1"),
    TranscriptEntry(2600, E.PLAY, url="http://app.test/hold.wav"),
    TranscriptEntry(5000, E.SAID, text="yes please"),
    TranscriptEntry(6000, E.HANGUP, by=HangupBy.FAR_END),
)
VIEW = TranscriptView(Transcript("CA1", "+15550100001", "+13125550100", ENTRIES, live=False))


def test_lines_read_like_the_cli() -> None:
    assert VIEW.lines()[:4] == [
        "    0.00s  ringing",
        "    0.02s  answered",
        '    0.02s  heard "Welcome  to Acme."',
        '    1.90s  heard "Press 1 for sales" (cut after 700 ms)',
    ]
    assert describe_entry(ENTRIES[-1]).endswith("hangup by farEnd")
    assert str(VIEW).count("\n") == len(ENTRIES) - 1


def test_mark_shows_where_expectations_stopped() -> None:
    lines = VIEW.lines(mark=3)
    assert "expectations matched up to here" in lines[3]
    assert VIEW.lines(mark=0) == VIEW.lines()
    empty = TranscriptView(Transcript("CA2", "+1", "+2", (), live=True))
    assert empty.lines() == ["  (nothing yet)"]


def test_readers() -> None:
    assert VIEW.said == ["Welcome  to Acme.", "Press 1 for sales"]
    assert VIEW.spoken == ["yes please"]
    assert VIEW.pressed == "1"
    assert VIEW.kinds[0] == "ringing" and not VIEW.live


@pytest.mark.parametrize(("kwargs", "index"), [
    ({"text": "Welcome to Acme."}, 2),             # whitespace collapsed, case kept
    ({"text": "press 1 for sales"}, None),         # exact text is case-sensitive
    ({"contains": "PRESS 1"}, 3),                  # contains is case-insensitive
    ({"regex": r"^Press \d"}, 3),
    ({}, 2),                                       # any Say
])
def test_text_matcher(kwargs: dict[str, str], index: int | None) -> None:
    matcher = text_matcher(E.SAY, "hear", kwargs.get("text"), kwargs.get("contains"),
                           kwargs.get("regex"))
    assert matcher.find(ENTRIES, 0) == index


def test_text_matcher_starts_at_the_cursor_and_names_itself() -> None:
    matcher = text_matcher(E.SAY, "hear", None, "acme", None)
    assert matcher.find(ENTRIES, 3) is None
    assert matcher.description == 'hear something containing "acme"'
    with pytest.raises(ValueError, match="one of"):
        text_matcher(E.SAY, "hear", "a", "b", None)


def test_field_matcher_ignores_unset_fields() -> None:
    assert field_matcher(E.PLAY, "hear audio", url=None).find(ENTRIES, 0) == 5
    assert field_matcher(E.PLAY, "hear audio", url="http://x").find(ENTRIES, 0) is None
