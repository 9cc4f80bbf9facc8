"""The fetcher port: GETs of files an app serves (GetSpeech grammars, Play media)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Fetched:
    """The answer to one GET of a file the app serves (a GetSpeech grammar, a media file)."""

    url: str
    status: int | None  # None: no HTTP answer (see `error`)
    body: bytes = b""
    content_type: str | None = None
    error: str | None = None  # what went wrong, for the log (also set for HTTP errors)
    elapsed_ms: float = 0.0
    size: int | None = None  # the file's length as the server declared it (Content-Length)
    truncated: bool = False  # the file is longer than the cap: `body` is its beginning only
    cache_control: str | None = None  # the Cache-Control header (media caches honour it)

    @property
    def ok(self) -> bool:
        """A 2xx answer read whole (a truncated one is not: see `reached`)."""
        return self.reached and not self.truncated

    @property
    def reached(self) -> bool:
        """The server answered 2xx (the body may still be cut at the cap)."""
        return self.status is not None and 200 <= self.status < 300


class Fetcher(Protocol):
    async def fetch(self, url: str, *, max_bytes: int | None = None) -> Fetched:
        """GET `url` with the platform's timeout, reading at most `max_bytes` of the file (None:
        the fetcher's own cap); a longer file comes back `truncated`, with its first bytes and an
        `error` saying so. Never raises for what the remote side does."""
        ...
