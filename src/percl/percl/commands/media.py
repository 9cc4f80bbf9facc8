"""Media commands: StartRecordCall and AudioStream."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field, PlainValidator

from percl.percl.commands.base import (
    AUDIO_CONTENT_TYPES,
    Bool,
    Command,
    StrList,
    Url,
    check_str,
    describe,
    fail,
    one_of,
)


class StartRecordCall(Command):
    """FreeClimb `StartRecordCall`: record the call until it ends; non-blocking."""

    NAME: ClassVar[str] = "StartRecordCall"


#: Hosts whose AudioStream location may use any port: a percl extension for an agent under
#: development on the same machine (FreeClimb itself only dials ports 80 and 443).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def check_location(value: Any) -> str:
    """A gRPC server URI on port 80 or 443 (any port on a loopback host), given as a string or
    as {"uri": "..."}."""
    if isinstance(value, dict):
        if "uri" not in value:
            raise fail("uri: required attribute missing")
        value = value["uri"]
    text = check_str(value)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise fail(f"expected an absolute URI, got {describe(text)}") from exc
    if not parts.scheme or not parts.hostname:
        raise fail(f"expected an absolute URI, got {describe(text)}")
    if port is not None and port not in (80, 443) and parts.hostname not in LOOPBACK_HOSTS:
        raise fail(f"port must be 80 or 443, got {port}")
    return text


class AudioStream(Command):
    """FreeClimb `AudioStream`: hand the call's audio to a gRPC server at `location`."""

    NAME: ClassVar[str] = "AudioStream"
    TERMINAL: ClassVar[bool] = True
    # The spec-repo page spells it lower-case; the OpenAPI schema and the SDK say metaData.
    WIRE_SYNONYMS: ClassVar[dict[str, str]] = {"metadata": "metaData"}

    location: Annotated[str, PlainValidator(check_location)]
    action_url: Url | None = Field(default=None, alias="actionUrl")
    content_type: Annotated[str, PlainValidator(one_of(AUDIO_CONTENT_TYPES))] | None = Field(
        default=None, alias="contentType"
    )
    meta_data: StrList | None = Field(default=None, alias="metaData")
    privacy_mode: Bool | None = Field(default=None, alias="privacyMode")
