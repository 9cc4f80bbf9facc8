"""Validated field types shared by the request models (FreeClimb names at the edge).

Request models are pydantic models with StrictStr/StrictInt/StrictBool fields: FreeClimb's SDKs
send JSON types, and a `"timeout": "30"` is a client bug worth a clear 400 rather than a guess.
Unknown keys are ignored, as FreeClimb ignores them.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr
from pydantic_core import PydanticCustomError

from percl.domain.phone import is_e164

APPLICATION_ID_RE = re.compile(r"^AP[0-9a-fA-F]{40}$")
CALL_ID_RE = re.compile(r"^CA[0-9a-fA-F]{40}$")


class WireModel(BaseModel):
    """Base of every request body: camelCase aliases, snake_case attributes, extras ignored."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")


def _absolute_http_url(value: str) -> str:
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


def _application_id(value: str) -> str:
    if not APPLICATION_ID_RE.match(value):
        raise ValueError("must be AP followed by 40 hexadecimal digits")
    return value


def _call_id(value: str) -> str:
    if not CALL_ID_RE.match(value):
        raise ValueError("must be CA followed by 40 hexadecimal digits")
    return value


HttpUrl = Annotated[StrictStr, AfterValidator(_absolute_http_url)]
E164 = Annotated[StrictStr, AfterValidator(_e164)]
ApplicationId = Annotated[StrictStr, AfterValidator(_application_id)]
CallId = Annotated[StrictStr, AfterValidator(_call_id)]
Alias = Annotated[StrictStr, Field(max_length=64)]
