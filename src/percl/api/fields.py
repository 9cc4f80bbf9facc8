"""Validated field types shared by the request models (FreeClimb names at the edge).

Request models are pydantic models with StrictStr/StrictInt/StrictBool fields: FreeClimb's SDKs
send JSON types, and a `"timeout": "30"` is a client bug worth a clear 400 rather than a guess.
Unknown keys are ignored, as FreeClimb ignores them.

Every field of every request body is checked for lone surrogates first: JSON may spell one
(`"\\ud800"`), Python decodes it into a str that no UTF-8 writer (the store, a webhook body)
can encode, and the request used to fail with a 500 at the write. It is a 400 naming the field.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, field_validator
from pydantic_core import PydanticCustomError

from percl.domain.phone import is_e164, is_sip_uri

APPLICATION_ID_RE = re.compile(r"^AP[0-9a-fA-F]{40}$")
CALL_ID_RE = re.compile(r"^CA[0-9a-fA-F]{40}$")


class WireModel(BaseModel):
    """Base of every request body: camelCase aliases, snake_case attributes, extras ignored,
    text that is valid Unicode (no lone surrogates) in every field."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _valid_unicode(cls, value: Any) -> Any:
        if not is_valid_unicode(value):
            raise ValueError("must be valid Unicode text (it contains a lone surrogate such as "
                             "\\ud800)")
        return value


def is_valid_unicode(value: Any) -> bool:
    """False when a string in `value` (itself, or inside its lists and dicts, at any depth) holds a
    lone surrogate. Iterative, so a deeply nested value cannot overflow the stack."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return True


def _absolute_http_url(value: str) -> str:
    # urlsplit silently drops tabs and newlines, so "https://app/voice\n" would pass and be stored.
    # One C-level pass: every whitespace character but " " is also unprintable (checked over all
    # code points), so this is "any c.isspace() or not c.isprintable()" without a loop per char.
    if " " in value or not value.isprintable():
        raise ValueError("must not contain spaces, newlines or other control characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http:// or https:// URL")
    return value


#: The validation error type of a non-E.164 number: FreeClimb answers it with code 9 (errors.py).
E164_ERROR = "e164"


def _e164(value: str) -> str:
    if not is_e164(value):
        raise PydanticCustomError(E164_ERROR, "is not an E.164 phone number (e.g. +13125550100)")
    return value


def _destination(value: str) -> str:
    if not (is_e164(value) or is_sip_uri(value)):
        raise PydanticCustomError(E164_ERROR, "is not an E.164 phone number (e.g. +13125550100) "
                                  "or a sip: URI (e.g. sip:alice@pbx.example.com)")
    return value


def _application_id(value: str) -> str:
    if not APPLICATION_ID_RE.fullmatch(value):
        raise ValueError("must be AP followed by 40 hexadecimal digits")
    return value


def _call_id(value: str) -> str:
    if not CALL_ID_RE.fullmatch(value):
        raise ValueError("must be CA followed by 40 hexadecimal digits")
    return value


HttpUrl = Annotated[StrictStr, AfterValidator(_absolute_http_url)]
E164 = Annotated[StrictStr, AfterValidator(_e164)]
Destination = Annotated[StrictStr, AfterValidator(_destination)]
"""Where a call goes: an E.164 number or a sip: URI (a SIP leg's `to`, docs/SIP.md)."""
ApplicationId = Annotated[StrictStr, AfterValidator(_application_id)]
CallId = Annotated[StrictStr, AfterValidator(_call_id)]
Alias = Annotated[StrictStr, Field(max_length=64)]
"""FreeClimb's alias: at most 64 characters (applications, numbers, conferences, queues ...)."""
Label = Annotated[StrictStr, Field(max_length=64)]
"""An account's label: FreeClimb documents no limit, percl takes the alias's 64 characters."""
