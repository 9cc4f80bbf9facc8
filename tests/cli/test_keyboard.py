"""Typed lines: what they mean, and reading them from a descriptor without blocking."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator

import pytest

from percl.cli.keyboard import (
    Answer,
    Decline,
    FdKeyboard,
    Hangup,
    Help,
    Press,
    Say,
    StreamKeyboard,
    Unknown,
    parse_line,
)


@pytest.mark.parametrize(("line", "command"), [
    ("12#", Press("12#")), (" * ", Press("*")), ('"I want sales', Say("I want sales")),
    ('"quoted"', Say("quoted")), ("say hello there", Say("hello there")),
    ("SAY Hi", Say("Hi")), ("h", Hangup()), ("hangup", Hangup()), ("a", Answer()),
    ("D", Decline()), ("?", Help()), ("12a", Unknown("12a")), ('"', Unknown('"')),
    ("", None), ("   ", None),
])
def test_parse_line(line: str, command: object) -> None:
    assert parse_line(line) == command


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read, write = os.pipe()
    yield read, write
    os.close(read)
    with contextlib.suppress(OSError):  # a test may have closed it to signal end of input
        os.close(write)


def test_fd_keyboard_returns_whole_lines_only(pipe: tuple[int, int]) -> None:
    read, write = pipe
    keys = FdKeyboard(read)
    assert keys.next_line(0) is None  # nothing typed: the wait times out
    os.write(write, b"12\r\nsay hel")
    assert keys.next_line(0) == "12"
    assert keys.next_line(0) is None  # half a line stays pending
    os.write(write, b"lo\nh\n")
    assert keys.next_line(0) == "say hello"
    assert keys.next_line(0) == "h"
    os.write(write, b"tail")
    os.close(write)
    assert keys.next_line(0) is None
    assert keys.next_line(0) == "tail"  # end of input completes the last line
    assert keys.next_line(0) is None


def test_stream_keyboard_reads_an_in_memory_stdin() -> None:
    keys = StreamKeyboard(io.StringIO("1\nh\n"))
    assert [keys.next_line(0), keys.next_line(0), keys.next_line(0)] == ["1", "h", None]
