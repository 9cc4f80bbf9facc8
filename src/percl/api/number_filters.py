"""The query filters both phone-number lists share (GET /AvailablePhoneNumbers and
/IncomingPhoneNumbers), and the Capabilities flags they filter on.

`phoneNumber` is a regular expression searched in the E.164 number; `capabilities.voice` and
`capabilities.sms` supersede the deprecated `voiceEnabled` and `smsEnabled` when both are given.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Annotated

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


def compile_number_pattern(pattern: str | None) -> re.Pattern[str] | None:
    """The `phoneNumber` filter as a regex searched in the E.164 number.

    Raises BadRequest (400, code 3, field phoneNumber) when it does not compile.
    """
    if pattern is None or pattern == "":
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise BadRequest(
            f"phoneNumber is not a valid regular expression ({exc}); escape a leading plus as \\+",
            details={"field": "phoneNumber"},
        ) from None


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
