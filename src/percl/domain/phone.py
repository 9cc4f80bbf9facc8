"""E.164 phone numbers."""

from __future__ import annotations

import re

E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")


def is_e164(value: object) -> bool:
    return isinstance(value, str) and bool(E164_RE.fullmatch(value))
