"""E.164 phone numbers."""

from __future__ import annotations

import re

E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")


def is_e164(value: object) -> bool:
    return isinstance(value, str) and bool(E164_RE.fullmatch(value))


# The same shape PerCL's OutDial destination accepts (percl/commands/base.py): a sip: or sips:
# URI with no whitespace; its parts are the SIP line's to read (telephony/sip/message.py).
SIP_URI_RE = re.compile(r"sips?:[^@\s][^\s]*")
MAX_SIP_URI = 256


def is_sip_uri(value: object) -> bool:
    """True for a `sip:` / `sips:` URI (a `to` that is not a phone number, FREECLIMB.md)."""
    return (isinstance(value, str) and len(value) <= MAX_SIP_URI and value.isprintable()
            and bool(SIP_URI_RE.fullmatch(value)))
