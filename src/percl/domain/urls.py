"""Credentials in URLs: `https://user:secret@host/voice` must never reach a log.

An app may put basic-auth credentials in its voiceUrl (FreeClimb accepts any URL), and percl then
logs that URL in many places: webhook attempts, PerCL it received, grammar and media fetches,
warnings. `mask_credentials` replaces the user-info part of every URL in a text with `***`, so it
works on a bare URL, a log message, or a PerCL document as text; `mask_in` does the same through
a log entry's metadata.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASKED_USERINFO = "***"
# "://" after a scheme character, then user-info up to "@": no "/", "?", "#", "@", quote or space
# inside (RFC 3986 user-info has none of them). Why the scheme is not matched whole: a pattern that
# starts with `[A-Za-z][A-Za-z0-9+.-]*` retries that run from every letter of a long word, which is
# quadratic (a 40,000-letter Say text in a logged script took 1.1 s on the loop). Every match starts
# at a literal "://" now, and each user-info run ends at the next "/", so the pass is linear.
_USERINFO = re.compile(r"(?<=[A-Za-z0-9+.\-])://[^/?#@\s\"'<>\\]+@")


def mask_credentials(text: str) -> str:
    """`text` with `user:password@` in each URL replaced by `***@`."""
    if "@" not in text or "://" not in text:
        return text  # the usual case, without running the regex
    return _USERINFO.sub(f"://{MASKED_USERINFO}@", text)


#: Metadata values that hold no text: returned as they are without a call.
_PLAIN = frozenset({int, float, bool, type(None)})


def mask_in(value: Any) -> Any:
    """`value` (a log entry's metadata: dicts, lists, strings, numbers) with credentials masked in
    every string inside it. Values without any come back as they are."""
    # Why exact types first: every log line passes here (several per call), and isinstance
    # against the Mapping ABC plus a call per number cost more than the masking itself.
    kind = type(value)
    if kind is dict and _without_at(value):
        return dict(value)  # no "@" anywhere, so no credential: only the top is copied
    if kind is str:
        return value if "@" not in value else mask_credentials(value)
    # Items that are numbers or strings without "@" are kept without a call (most of them).
    if kind is dict:
        return {key: item if (t := type(item)) in _PLAIN or (t is str and "@" not in item)
                else mask_in(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [item if (t := type(item)) in _PLAIN or (t is str and "@" not in item)
                else mask_in(item) for item in value]
    if kind in _PLAIN:
        return value
    if isinstance(value, str):
        return mask_credentials(value)
    if isinstance(value, Mapping):
        return {key: mask_in(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_in(item) for item in value]
    return value


def _without_at(value: dict[Any, Any] | list[Any]) -> bool:
    """Whether no string in `value` (dicts and lists of strings and numbers) has an "@": a URL
    with credentials cannot be there. Most log metadata has none (webhook lines, state changes),
    and scanning it costs less than copying it through mask_in (a webhook line's metadata plus
    a small one: 47.5k -> 28.0k instructions, callgrind). Any other type inside
    (a tuple, a Mapping that is not a dict) says False: mask_in's full walk decides."""
    for item in value.values() if type(value) is dict else value:
        kind = type(item)
        if kind is str:
            if "@" in item:
                return False
        elif kind is dict or kind is list:
            if not _without_at(item):
                return False
        elif kind not in _PLAIN:
            return False
    return True
