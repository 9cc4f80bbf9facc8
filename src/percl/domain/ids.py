"""Resource ids: a two-letter prefix and 40 lowercase hex digits, from an injected generator."""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets
from typing import Protocol

ACCOUNT = "AC"
APPLICATION = "AP"
CALL = "CA"
CONFERENCE = "CF"
QUEUE = "QU"
RECORDING = "RE"
PHONE_NUMBER = "PN"
MESSAGE = "SM"
REQUEST = "RQ"
BLOB = "BL"
EXPORT = "EX"

ID_RE = re.compile(r"^(?P<prefix>[A-Z]{2})[0-9a-fA-F]{40}$")


class IdGenerator(Protocol):
    def new(self, prefix: str) -> str:
        """Return a fresh id: `prefix` + 40 lowercase hex digits."""
        ...


class RandomIds:
    """Production ids: 160 random bits."""

    def new(self, prefix: str) -> str:
        return prefix + secrets.token_hex(20)


class SequentialIds:
    """Deterministic ids for tests: sha1 of a seed and a counter, so they look real but repeat."""

    def __init__(self, seed: str = "percl") -> None:
        self._seed = seed
        self._counter = itertools.count(1)

    def new(self, prefix: str) -> str:
        n = next(self._counter)
        return prefix + hashlib.sha1(f"{self._seed}:{n}".encode()).hexdigest()


def new_api_key() -> str:
    return secrets.token_hex(20)


def new_signing_secret() -> str:
    return "sigsec_" + secrets.token_hex(20)
