"""bench/profile_summary.py: collapsed stacks -> self/total time and areas."""

from __future__ import annotations

from bench.profile_summary import area_of, parse, report, short

RAW = [
    "thread (1): MainThread;run (uvloop/__init__.py:92);_write (percl/store/sqlite.py:234) 6\n",
    "thread (1): MainThread;run (uvloop/__init__.py:92);post (aiohttp/client.py:10) 3\n",
    "thread (2): Thread-1;_worker (aiosqlite/core.py:59) 1\n",
    "not a stack line\n",
]


def test_self_total_threads_and_areas() -> None:
    prof = parse(RAW)
    assert prof.total == 10
    assert prof.threads["thread (1): MainThread"] == 9
    assert prof.self_time["_write (store/sqlite.py:234)"] == 6
    assert prof.total_time["run (uvloop/__init__.py:92)"] == 9
    assert prof.total_time["_write (percl/store/sqlite.py:234)"] == 6
    assert prof.areas["percl.store (SQLite adapter)"] == 6
    assert prof.areas["aiohttp"] == 3 and prof.areas["aiosqlite"] == 1
    text = "\n".join(report(prof, 5))
    assert "60.0%  percl.store (SQLite adapter)" in text
    percl_part = text.split("percl functions by total time")[1]
    assert "_write (store/sqlite.py:234)" in percl_part and "aiohttp" not in percl_part


def test_frames_without_a_known_area() -> None:
    assert area_of("f (somewhere/else.py:3)") == "other: else.py"
    assert short("f (/usr/lib/python3.11/json/encoder.py:258)") == "f (json/encoder.py:258)"
