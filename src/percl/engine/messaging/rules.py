"""What a message may be: FreeClimb's sending rules and how a carrier counts segments. Pure.

Why one module: the REST API (POST /Messages), the `Sms` PerCL command and the simulated network
accept messages from three doors; each door reports a refusal its own way (a 400 body, a log entry
naming the command's field, a 400 of the sim API), but the rules themselves must not drift apart.
A `Refusal` carries FreeClimb's error code and the wire name of the offending field.

Text: any Unicode, at most 160 characters (FreeClimb accepts any script in practice and sends
what GSM 7-bit cannot carry as UCS-2). Segments: a carrier sends text in GSM 03.38 7-bit encoding
when every character has a code there
(160 septets per single message, 153 per part of a concatenated one; `[ ] { } \\ ^ ~ | €` take two
septets each) and in UCS-2 otherwise (70 characters single, 67 per part). An MMS is one message
however long its text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from percl.domain.phone import is_e164
from percl.domain.records import IncomingNumber

SMS_TEXT_LIMIT = 160  # characters of `text` a sent message may carry (FreeClimb docs)
PHONE_TEXT_LIMIT = 1600  # characters a virtual phone may text (10 concatenated parts)
MAX_MEDIA_URLS = 10

# FreeClimb's error codes used by messaging (see FREECLIMB.md §2.5).
CODE_BAD_REQUEST = 3
CODE_INVALID_NUMBER = 9
CODE_NOT_SMS_ENABLED = 10
CODE_NOT_OWNED = 46

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a message cannot be sent: FreeClimb error `code`, the wire `field`, a sentence."""

    code: int
    field: str
    message: str


def segment_count(text: str, media_urls: Sequence[str] = ()) -> int:
    """How many carrier messages `text` takes (1 for an MMS, and for empty text)."""
    if media_urls:
        return 1
    septets = gsm_septets(text)
    if septets is not None:
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def gsm_septets(text: str) -> int | None:
    """The length of `text` in GSM 7-bit septets, or None when some character has no GSM code."""
    total = 0
    for char in text:
        if char in _GSM_BASIC:
            total += 1
        elif char in _GSM_EXTENSION:
            total += 2
        else:
            return None
    return total


def check_numbers(from_: str, to: str) -> Refusal | None:
    """Both numbers must be E.164 (code 9 naming the first bad one)."""
    for field, value in (("from", from_), ("to", to)):
        if not is_e164(value):
            return Refusal(
                CODE_INVALID_NUMBER, field,
                f"{field} {value!r} is not an E.164 phone number (e.g. +13125550100)",
            )
    return None


def check_text(text: str, media_urls: Sequence[str] = ()) -> Refusal | None:
    """A sent message's text: at most 160 characters, not empty unless it is an MMS. Any Unicode
    character a carrier can encode is accepted (FreeClimb sends UCS-2 in practice; the segments
    say what it costs); a lone surrogate, which no encoding can carry, is refused."""
    if not text and not media_urls:
        return Refusal(CODE_BAD_REQUEST, "text", "text must not be empty")
    if len(text) > SMS_TEXT_LIMIT:
        return Refusal(
            CODE_BAD_REQUEST, "text",
            f"text is {len(text)} characters long; a message may carry at most {SMS_TEXT_LIMIT}",
        )
    return check_encodable(text)


def check_encodable(text: str) -> Refusal | None:
    """`text` must be valid Unicode (no lone surrogate from a JSON `\\ud800` escape)."""
    bad = next((i for i, c in enumerate(text) if "\ud800" <= c <= "\udfff"), None)
    if bad is not None:
        return Refusal(
            CODE_BAD_REQUEST, "text",
            f"text has a lone UTF-16 surrogate ({text[bad]!r}) at {bad}: it is not a character",
        )
    return None


def check_media(media_urls: Sequence[str]) -> Refusal | None:
    """At most 10 absolute http(s) URLs."""
    if len(media_urls) > MAX_MEDIA_URLS:
        return Refusal(
            CODE_BAD_REQUEST, "mediaUrls",
            f"mediaUrls has {len(media_urls)} URLs; a message may carry at most {MAX_MEDIA_URLS}",
        )
    for index, url in enumerate(media_urls):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return Refusal(
                CODE_BAD_REQUEST, f"mediaUrls[{index}]",
                f"mediaUrls[{index}] {url!r} must be an absolute http:// or https:// URL",
            )
    return None


def check_phone_text(text: str, media_urls: Sequence[str] = ()) -> Refusal | None:
    """What a virtual phone may text: any characters, 1 to 1,600 of them (or none with media)."""
    if not text and not media_urls:
        return Refusal(CODE_BAD_REQUEST, "text", "text must not be empty")
    if len(text) > PHONE_TEXT_LIMIT:
        return Refusal(
            CODE_BAD_REQUEST, "text",
            f"text is {len(text)} characters long; a phone may send at most {PHONE_TEXT_LIMIT}",
        )
    return check_encodable(text)


def check_sender(number: IncomingNumber | None, account_id: str, from_: str) -> Refusal | None:
    """`from_` must be an SMS-enabled incoming number of `account_id` (codes 46, 10)."""
    if number is None or number.account_id != account_id:
        return Refusal(
            CODE_NOT_OWNED, "from",
            f"from {from_} is not an incoming number of this account: buy it first "
            "(POST /IncomingPhoneNumbers), then send from it",
        )
    if not number.sms_enabled:
        return Refusal(CODE_NOT_SMS_ENABLED, "from", f"from {from_} is not SMS-enabled")
    return None
