"""FreeClimb-Signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`.

Why our own verifier: the SDK's RequestVerifier keeps its parsed signatures in a class-level list
shared across calls, compares with `==`, accepts future timestamps and measures its default
tolerance in the wrong unit (FREECLIMB.md §4.2). `verify` below is the correct reading: any `v1`
of any active secret, |now - t| within the tolerance, constant-time comparison, and anything
malformed is simply False. Pure: the caller passes `now`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_DIGITS = re.compile(r"^[0-9]+$")


def digest(secret: str, body: bytes, t: int) -> str:
    """Lowercase hex HMAC-SHA256 of `f"{t}."` + `body`, keyed by `secret` (UTF-8)."""
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, t: int) -> str:
    """The FreeClimb-Signature header value for `body` sent at unix second `t`.

    Exactly `t=<t>,v1=<hex>` with no spaces: the SDK verifiers split on "," then on "=" and
    reject anything else.
    """
    return f"t={t},v1={digest(secret, body, t)}"


def parse_header(header: str) -> tuple[int, list[str]] | None:
    """(t, [v1 signatures]) from a header value, or None when it is malformed.

    Items other than `t` and `v1` (future schemes) are ignored; a missing `t`, a repeated `t`,
    no `v1`, a non-numeric `t` or a `v1` that is not 64 hex digits makes the header malformed.
    """
    t: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        parts = item.strip().split("=")
        if len(parts) != 2:
            return None
        key, value = parts
        if key == "t":
            if t is not None or not _DIGITS.fullmatch(value):
                return None
            t = int(value)
        elif key == "v1":
            if not _HEX64.fullmatch(value):
                return None
            signatures.append(value.lower())
    if t is None or not signatures:
        return None
    return t, signatures


def verify(
    header: str, body: bytes, secrets: Sequence[str], now: float, tolerance_s: int = 300
) -> bool:
    """True when `header` signs `body` with one of `secrets` at a time within `tolerance_s` of
    `now` (either direction). Never raises: a malformed header is just False."""
    parsed = parse_header(header)
    if parsed is None:
        return False
    t, signatures = parsed
    if abs(now - t) > tolerance_s:
        return False
    matched = False
    for secret in secrets:
        expected = digest(secret, body, t).encode()
        for signature in signatures:
            # No early exit: the time taken does not depend on which pair matched.
            matched |= hmac.compare_digest(expected, signature.encode())
    return matched
