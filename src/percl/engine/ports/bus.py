"""The bus port: small JSON messages between the workers sharing one database.

Channels are names (ASCII letters, digits and underscores, at most `MAX_CHANNEL` long: PostgreSQL's
LISTEN takes identifiers). A message is at most `MAX_PAYLOAD` bytes of UTF-8 JSON: what percl
sends is control (ids, a status, an error), never media or documents, and PostgreSQL's NOTIFY
carries under 8000 bytes. Larger ones are refused at the sender (`MessageTooLarge`), never cut.
Messages from one sender on one channel arrive in the order sent; a subscriber sees only what was
published after it subscribed (no history).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Protocol

from percl.domain.json import JsonValue

#: Largest encoded message (bytes); PostgreSQL's NOTIFY limit is 8000.
MAX_PAYLOAD = 7900
MAX_CHANNEL = 63
CHANNEL_RE = re.compile(r"[a-z_][a-z0-9_]*")

#: Called once per message, on the event loop, in arrival order. It must not block: a handler
#: that has work to do hands it to a task of its owner.
BusHandler = Callable[[JsonValue], None]


class MessageTooLarge(ValueError):
    """A message over MAX_PAYLOAD bytes was published; it was not sent."""


class BusUnavailable(ConnectionError):
    """The bus cannot send now (its database or server is unreachable); nothing was sent."""


def check_channel(channel: str) -> str:
    """`channel` when it is a valid channel name; ValueError naming it otherwise."""
    if len(channel) > MAX_CHANNEL or not CHANNEL_RE.fullmatch(channel):
        raise ValueError(f"bus channel {channel!r}: lowercase letters, digits and _ only, "
                         f"at most {MAX_CHANNEL} characters")
    return channel


def encode(payload: JsonValue) -> str:
    """`payload` as a message's text (compact JSON). Raises MessageTooLarge past MAX_PAYLOAD
    bytes: every Bus checks the same way before sending."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    size = len(text.encode())
    if size > MAX_PAYLOAD:
        raise MessageTooLarge(f"bus message of {size} bytes: at most {MAX_PAYLOAD} (not sent)")
    return text


class Bus(Protocol):
    """Publish/subscribe between workers. `open()` once before use, `close()` at exit (drops
    every subscription)."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, payload: JsonValue) -> None:
        """Send `payload` to every subscriber of `channel` (this worker's too). Raises
        MessageTooLarge (nothing sent), ValueError for a bad channel name, BusUnavailable when it
        cannot reach its server."""
        ...

    async def subscribe(self, channel: str, handler: BusHandler) -> None:
        """Call `handler` with each message published on `channel` from now on (one handler per
        channel: a second replaces the first). Returns once the subscription is in force."""
        ...

    async def unsubscribe(self, channel: str) -> None:
        """Stop delivering `channel`'s messages here (nothing happens when not subscribed)."""
        ...
