"""A transcript page within a byte budget (wire.render_transcript, issue 19: a transcript read
through another worker crosses the bus), and `percl sim call` following pages that say `more`."""

from __future__ import annotations

import json
from typing import Any

from percl.cli.live import LegFollower
from percl.telephony.sim.control import render_transcript
from percl.telephony.sim.control.wire import CUT_MARK
from percl.telephony.sim.model import Transcript, TranscriptEntry, TranscriptEvent


def _transcript(*texts: str) -> Transcript:
    entries = tuple(TranscriptEntry(at_ms=i * 1000, type=TranscriptEvent.SAID, text=t)
                    for i, t in enumerate(texts))
    return Transcript(call_id="CA1", from_="+15550100001", to="+15550100002", entries=entries,
                      live=True)


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def test_without_a_budget_every_entry_and_no_more() -> None:
    page = render_transcript(_transcript(*["x" * 500] * 30), since=2)
    assert len(page["entries"]) == 28 and page["more"] is False and page["since"] == 2


def test_a_budget_keeps_the_first_entries_that_fit_and_says_more() -> None:
    transcript = _transcript(*[f"{i:02d}" + "é" * 400 for i in range(30)])
    page = render_transcript(transcript, since=0, budget=2000)
    assert page["more"] is True
    assert 0 < len(page["entries"]) < 30 and _size(page["entries"]) <= 2000
    # One more entry would not have fit.
    assert _size(render_transcript(transcript, budget=10**6)["entries"][:len(page["entries"]) + 1]
                 ) > 2000
    rest = render_transcript(transcript, since=len(page["entries"]), budget=10**6)
    assert rest["more"] is False
    assert [e["text"][:2] for e in page["entries"] + rest["entries"]] == [
        f"{i:02d}" for i in range(30)]


def test_the_last_page_says_no_more() -> None:
    page = render_transcript(_transcript("a", "b"), since=1, budget=2000)
    assert [e["text"] for e in page["entries"]] == ["b"] and page["more"] is False
    assert render_transcript(_transcript("a"), since=5, budget=10)["entries"] == []


def test_an_entry_alone_over_the_budget_is_cut_to_fit_and_marked() -> None:
    page = render_transcript(_transcript("日本語" * 1000, "next"), budget=1500)
    [entry] = page["entries"]
    assert page["more"] is True
    assert entry["text"].endswith(CUT_MARK) and entry["text"].startswith("日本語")
    assert _size(page["entries"]) <= 1500 and len(entry["text"]) > 400  # no more cut than needed


class _Pages:
    """A sim API answering transcript reads a few entries at a time, as through another
    worker (a page says `more` while entries are left)."""

    def __init__(self, total: int, per_page: int) -> None:
        self.entries = [{"atMs": i, "type": "said", "text": f"line {i}"} for i in range(total)]
        self.per_page = per_page
        self.asked: list[int] = []

    def sim(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        since = int(kwargs["params"]["since"])
        self.asked.append(since)
        page = self.entries[since:since + self.per_page]
        return {"createdMs": 0, "since": since, "live": True, "entries": page,
                "more": since + len(page) < len(self.entries)}


def test_the_follower_reads_every_page_at_once() -> None:
    api = _Pages(total=50, per_page=7)
    follower = LegFollower(api, "CA1")  # type: ignore[arg-type]
    lines = follower.poll()
    assert len(follower.entries) == 50 and len(lines) == 50
    assert api.asked == list(range(0, 50, 7))
    # Pages smaller than the window it re-reads still get it on: the next poll reads its last
    # 16 entries again (for amendments), page by page, and prints nothing new.
    api.asked.clear()
    assert follower.poll() == []
    assert api.asked == [34, 41, 48]
