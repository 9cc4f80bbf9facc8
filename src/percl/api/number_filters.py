"""The query filters both phone-number lists share (GET /AvailablePhoneNumbers and
/IncomingPhoneNumbers), and the Capabilities flags they filter on.

`phoneNumber` is a regular expression searched in the E.164 number; `capabilities.voice` and
`capabilities.sms` supersede the deprecated `voiceEnabled` and `smsEnabled` when both are given.

Why RE2 and not `re`: the pattern comes from the request and runs on the event loop over every
number. A backtracking engine lets one request like `(\\d*){6}y` freeze every tenant for seconds;
RE2 matches in time linear in the number's length, whatever the pattern. It accepts the PCRE syntax
FreeClimb documents (classes, anchors, groups, alternation, counted repetition) except
backreferences and lookaround, which it rejects with a 400. The pattern's length and RE2's memory
for it are bounded too, so compiling cannot be made expensive either.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Annotated, Protocol

import re2  # type: ignore[import-untyped]
from fastapi import Depends, Query

from percl.domain.records import IncomingNumber
from percl.engine.ports import AvailableNumber
from percl.errors import BadRequest

Number = AvailableNumber | IncomingNumber


def capabilities(number: Number) -> dict[str, bool]:
    """All five Capabilities flags (the spec marks each required)."""
    return {
        "voice": number.voice_enabled,
        "sms": number.sms_enabled,
        "tollFree": number.toll_free,
        "tenDLC": False,
        "shortCode": False,
    }


MAX_PATTERN_CHARS = 256
"""Longest `phoneNumber` pattern accepted (an E.164 number has at most 16 characters)."""
_PATTERN_MEMORY = 1 << 20  # bytes RE2 may use for one compiled pattern


class NumberPattern(Protocol):
    """The part of a compiled RE2 pattern the filters use."""

    def search(self, text: str) -> object | None: ...


def _options() -> object:
    options = re2.Options()
    options.max_mem = _PATTERN_MEMORY
    options.log_errors = False  # the error goes to the client as a 400, not to stderr
    return options


def compile_number_pattern(pattern: str | None) -> NumberPattern | None:
    """The `phoneNumber` filter as an RE2 regex searched in the E.164 number.

    Raises BadRequest (400, code 3, field phoneNumber) when it is longer than MAX_PATTERN_CHARS,
    does not compile, or uses what a linear-time matcher cannot (backreferences, lookaround).
    """
    if pattern is None or pattern == "":
        return None
    if len(pattern) > MAX_PATTERN_CHARS:
        raise BadRequest(
            f"phoneNumber is {len(pattern)} characters long; at most {MAX_PATTERN_CHARS} are allowed",
            details={"field": "phoneNumber"},
        )
    try:
        compiled: NumberPattern = re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(
            exc.args[0], bytes) else str(exc)
        raise BadRequest(
            f"phoneNumber is not a regular expression percl can run ({reason}); escape a leading "
            "plus as \\+ (backreferences and lookaround are not supported)",
            details={"field": "phoneNumber"},
        ) from None
    return compiled


@dataclasses.dataclass(frozen=True)
class NumberFilter:
    """The filters both number lists share. None means "not filtered"."""

    phone_number: str | None = None
    region: str | None = None
    country: str | None = None
    voice_enabled: bool | None = True
    sms_enabled: bool | None = True
    cap_voice: bool | None = None
    cap_sms: bool | None = None
    cap_toll_free: bool | None = None
    cap_ten_dlc: bool | None = None
    cap_short_code: bool | None = None

    def predicate(self) -> Callable[[Number], bool]:
        """A test for one number. Raises BadRequest for an invalid phoneNumber regex."""
        pattern = compile_number_pattern(self.phone_number)
        wanted: list[tuple[str, object]] = [
            (key, value)
            for key, value in (
                ("region", self.region),
                ("country", self.country),
                ("voice", _first(self.voice_enabled, self.cap_voice)),
                ("sms", _first(self.sms_enabled, self.cap_sms)),
                ("tollFree", self.cap_toll_free),
                ("tenDLC", self.cap_ten_dlc),
                ("shortCode", self.cap_short_code),
            )
            if value is not None
        ]

        def test(number: Number) -> bool:
            if pattern is not None and not pattern.search(number.phone_number):
                return False
            facts: dict[str, object] = {
                **capabilities(number),
                "region": number.region,
                "country": number.country,
            }
            return all(facts[key] == value for key, value in wanted)

        return test


def _first(legacy: bool | None, capability: bool | None) -> bool | None:
    """`capabilities.voice` supersedes the deprecated `voiceEnabled` when both are given."""
    return capability if capability is not None else legacy


def number_filter(
    phone_number: Annotated[str | None, Query(alias="phoneNumber")] = None,
    region: str | None = None,
    country: str | None = None,
    voice_enabled: Annotated[bool, Query(alias="voiceEnabled")] = True,
    sms_enabled: Annotated[bool, Query(alias="smsEnabled")] = True,
    cap_voice: Annotated[bool | None, Query(alias="capabilities.voice")] = None,
    cap_sms: Annotated[bool | None, Query(alias="capabilities.sms")] = None,
    cap_toll_free: Annotated[bool | None, Query(alias="capabilities.tollFree")] = None,
    cap_ten_dlc: Annotated[bool | None, Query(alias="capabilities.tenDLC")] = None,
    cap_short_code: Annotated[bool | None, Query(alias="capabilities.shortCode")] = None,
) -> NumberFilter:
    """FastAPI dependency: the shared query filters of both number lists."""
    return NumberFilter(
        phone_number,
        region,
        country,
        voice_enabled,
        sms_enabled,
        cap_voice,
        cap_sms,
        cap_toll_free,
        cap_ten_dlc,
        cap_short_code,
    )


Filters = Annotated[NumberFilter, Depends(number_filter)]
