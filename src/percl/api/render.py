"""Wire rendering shared by every resource: timestamps and the common resource envelope.

Records keep float epoch seconds (the Clock's unit). FreeClimb shows them two ways: RFC 1123 in
GMT (`Mon, 15 Jun 2009 20:45:30 GMT`) for `dateCreated` and friends, and ISO 8601 with
milliseconds (`2024-10-09T15:05:03.358Z`) for the `...ISO` twins on calls.
"""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

from percl.errors import BadRequest

FILTER_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def rfc1123(ts: float | None) -> str | None:
    """`Mon, 15 Jun 2009 20:45:30 GMT` for epoch seconds `ts` (fraction dropped), None for None."""
    if ts is None:
        return None
    return formatdate(int(ts), usegmt=True)


def iso(ts: float | None) -> str | None:
    """`2024-10-09T15:05:03.358Z` for epoch seconds `ts` (ms truncated), None for None."""
    if ts is None:
        return None
    # Work in integer milliseconds so 0.9995 never renders as ".1000".
    millis = int(ts * 1000) if ts >= 0 else -int(-ts * 1000)
    seconds, ms = divmod(millis, 1000)
    dt = datetime.fromtimestamp(seconds, UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ms:03d}Z"


def envelope(uri: str, date_created: float, date_updated: float, revision: int) -> dict[str, Any]:
    """FreeClimb's MutableResourceModel: `uri` (relative to /apiserver), dates and revision."""
    return {
        "uri": uri,
        "dateCreated": rfc1123(date_created),
        "dateUpdated": rfc1123(date_updated),
        "revision": revision,
    }


def parse_filter_time(value: str, field: str) -> float:
    """Epoch seconds of a list filter written `YYYY-MM-DD hh:mm:ss` (UTC).

    Raises BadRequest (400, code 3) naming `field` when the value is not in that format.
    """
    try:
        parsed = time.strptime(value.strip(), FILTER_TIME_FORMAT)
    except ValueError:
        raise BadRequest(
            f"{field} must be a UTC time written YYYY-MM-DD hh:mm:ss, got {value!r}",
            details={"field": field},
        ) from None
    return float(calendar.timegm(parsed))
