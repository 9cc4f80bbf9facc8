"""`watchdog`: fail a test instead of hanging the suite when code that must run in linear time
(regexes and tokenizers over input an attacker writes) is quadratic or worse again.

Not a speed target (those live in bench/): the limit is orders of magnitude above the linear
time, and far below what the quadratic code takes on the test's input. SIGALRM interrupts `re`.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


class NotLinear(BaseException):
    """Raised into the block that ran too long. A BaseException so that no `except Exception`
    (nor pydantic, which turns a validator's AssertionError into a validation error) hides it."""


@contextmanager
def watchdog(what: str, seconds: int = 10) -> Iterator[None]:
    """Raise NotLinear naming `what` when the block runs longer than `seconds`."""

    def expired(signum: int, frame: object) -> None:
        raise NotLinear(f"{what} still running after {seconds} s: not linear")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
