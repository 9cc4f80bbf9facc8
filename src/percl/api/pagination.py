"""FreeClimb's list envelope and its cursor.

Every list answers `{total, start, end, page, numPages, pageSize, nextPageUri, <items>}` with a
zero-based `page`. `nextPageUri` is relative to /apiserver: the list's path, the request's own
filters, and `cursor` last; null on the last page.

Why the cursor carries the whole query: FreeClimb's CLI keeps only the cursor of a nextPageUri
(its pattern stops at the first character outside [0-9A-Za-z]) and asks for the next page with
`GET <list>?cursor=X` and nothing else, so the cursor must name the filters (the PQL of POST
/Logs included), the page size and where the previous page ended. `CursorMiddleware` puts a
cursor's filters back into the query string before routing, so every route parses and validates
them exactly as on the first page; `open_page` then checks the cursor against the request.

What a cursor holds (`Cursor`): the account id, the list's path, its filters in the order given,
the page size, the page index and rows before it, the list's total as counted on the first page
(lists paged in the store count once per walk), the sort key of the last row delivered (a keyset
position: rows added meanwhile neither repeat nor vanish) and when it was issued. It is zlib'd
JSON behind a version byte and a 128-bit HMAC-SHA256 tag keyed by the server's cursor secret,
written in base62 so the CLI's pattern takes it whole. A cursor that does not verify, comes from
another account or list, was issued for other filters, or is older than CURSOR_TTL_S is a 400
(code 3, field `cursor`); never a silent first page.

`paginate` pages a list held in memory; lists paged in the store (GET /Calls, /Logs) call
`open_page`, fetch `limit + 1` rows after `after`, and render with `page_envelope`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from percl.api.auth import ACCOUNT_STATE_KEY
from percl.api.deps import deps_of
from percl.domain.records import Account
from percl.errors import ApiError, BadRequest

T = TypeVar("T")

#: One sort-key component: lists sort by times, ids and (logs) integer row ids.
KeyPart = str | int | float
SortKey = tuple[KeyPart, ...]

CURSOR_PARAM = "cursor"
CURSOR_TTL_S = 24 * 3600.0  # a walk that pauses longer starts over
MAX_CURSOR_LENGTH = 16_000  # characters: room for a 2,000-character PQL of 4-byte characters
_VERSION = 1
_TAG_BYTES = 16
_SCOPE_KEY = "percl.cursor"

# --------------------------------------------------------------------------- base62

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DIGIT = {c: i for i, c in enumerate(_ALPHABET)}
# Bytes are written 8 at a time as 11 digits; a last block of k bytes takes _WIDTH[k] digits,
# and no two k share a width, so the decoder knows k from the length that is left.
_WIDTH = {k: math.ceil(8 * k / math.log2(62)) for k in range(1, 9)}
_BYTES_OF_WIDTH = {w: k for k, w in _WIDTH.items()}


def b62encode(data: bytes) -> str:
    """`data` in the alphabet [0-9A-Za-z] (about 1.375 characters per byte)."""
    out: list[str] = []
    for i in range(0, len(data), 8):
        block = data[i : i + 8]
        value = int.from_bytes(block, "big")
        digits = []
        for _ in range(_WIDTH[len(block)]):
            value, digit = divmod(value, 62)
            digits.append(_ALPHABET[digit])
        out.append("".join(reversed(digits)))
    return "".join(out)


def b62decode(text: str) -> bytes:
    """The bytes `b62encode` wrote. Raises ValueError on any other text."""
    full, rest = divmod(len(text), _WIDTH[8])
    if rest and rest not in _BYTES_OF_WIDTH:
        raise ValueError("bad length")
    out = bytearray()
    for i in range(full + (1 if rest else 0)):
        chunk = text[i * _WIDTH[8] : (i + 1) * _WIDTH[8]]
        size = _BYTES_OF_WIDTH[len(chunk)]
        value = 0
        for char in chunk:
            value = value * 62 + _DIGIT[char]  # KeyError for a character outside the alphabet
        out += value.to_bytes(size, "big")  # OverflowError when the digits overflow the block
    return bytes(out)


# --------------------------------------------------------------------------- the cursor


@dataclass(frozen=True, slots=True)
class Cursor:
    """Everything the next page of a list needs (see the module docstring)."""

    account_id: str
    path: str
    filters: tuple[tuple[str, str], ...]
    page_size: int
    page: int
    start: int
    total: int
    after: SortKey | None
    issued: float


class CursorCodec:
    """Seals cursors into base62 text and opens them again, with one server secret."""

    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"percl cursor key\0" + secret).digest()

    def _tag(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:_TAG_BYTES]

    def seal(self, cursor: Cursor) -> str:
        payload = {
            "a": cursor.account_id, "p": cursor.path, "f": [list(f) for f in cursor.filters],
            "z": cursor.page_size, "g": cursor.page, "s": cursor.start, "n": cursor.total,
            "k": None if cursor.after is None else list(cursor.after), "t": cursor.issued,
        }
        body = bytes([_VERSION]) + zlib.compress(
            json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode(), 9)
        return b62encode(self._tag(body) + body)

    def open(self, text: str) -> Cursor:
        """The cursor inside `text`. Raises BadRequest when it was not sealed with this secret
        (tampered with, made up, or issued by another server or before a restart)."""
        try:
            if len(text) > MAX_CURSOR_LENGTH:
                raise ValueError("too long")
            raw = b62decode(text)
            tag, body = raw[:_TAG_BYTES], raw[_TAG_BYTES:]
            if not body or not hmac.compare_digest(tag, self._tag(body)) or body[0] != _VERSION:
                raise ValueError("not ours")
            return _cursor_of(json.loads(zlib.decompress(body[1:])))
        except (ValueError, KeyError, TypeError, OverflowError, zlib.error):
            raise _bad_cursor(
                "cursor is not valid (altered, or issued by another server or before a restart): "
                "start the list again without a cursor"
            ) from None


def _cursor_of(payload: dict[str, Any]) -> Cursor:
    """The Cursor of a verified payload. Raises TypeError/KeyError/ValueError when malformed."""
    after = payload["k"]
    filters = tuple((str(k), str(v)) for k, v in payload["f"])
    return Cursor(
        account_id=str(payload["a"]), path=str(payload["p"]), filters=filters,
        page_size=int(payload["z"]), page=int(payload["g"]), start=int(payload["s"]),
        total=int(payload["n"]), after=None if after is None else tuple(after),
        issued=float(payload["t"]),
    )


def _bad_cursor(message: str) -> BadRequest:
    return BadRequest(message, details={"field": CURSOR_PARAM})


# --------------------------------------------------------------------------- requests


def relative_path(scope: Scope) -> str:
    """The request path relative to where the API is mounted (e.g. without `/apiserver`), without
    a trailing slash: `/Calls/` and `/Calls` are one list."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path.rstrip("/") or "/"


def _filters(query_string: bytes) -> list[tuple[str, str]]:
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return [(k, v) for k, v in pairs if k != CURSOR_PARAM]


def _cursor_text(query_string: bytes) -> str | None:
    values = [v for k, v in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
              if k == CURSOR_PARAM]
    return values[-1] if values and values[-1] else None


class CursorMiddleware:
    """Before routing a GET with a `cursor`: when the cursor verifies and the request's own
    filters are all among the cursor's, put the cursor's filters in the query string, so the
    route sees the same query as on the first page. Anything else passes untouched, and
    `open_page` answers the 400 after authentication (a bad cursor must not beat a 401)."""

    def __init__(self, app: ASGIApp, secret: bytes) -> None:
        self.app = app
        self.codec = CursorCodec(secret)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            scope = self._with_cursor_filters(scope)
        await self.app(scope, receive, send)

    def _with_cursor_filters(self, scope: Scope) -> Scope:
        query: bytes = scope.get("query_string", b"")
        if b"cursor=" not in query:
            return scope
        text = _cursor_text(query)
        if text is None:
            return scope
        try:
            cursor = self.codec.open(text)
        except ApiError:
            return scope
        if cursor.path != relative_path(scope) or Counter(_filters(query)) - Counter(cursor.filters):
            return scope
        params = [*cursor.filters, (CURSOR_PARAM, text)]
        # open_page reuses the verified cursor instead of opening it again.
        return {**scope, "query_string": urlencode(params).encode("latin-1"),
                _SCOPE_KEY: (text, cursor)}


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which rows a request's page holds: `limit` rows (0 past the list cap) after the keyset
    position `after` (None: from the top), `start` rows before them. `total` is the count the
    cursor carried (None on a first page: count the matches)."""

    account_id: str
    path: str
    filters: tuple[tuple[str, str], ...]
    page: int
    start: int
    after: SortKey | None
    total: int | None
    page_size: int
    limit: int
    max_list: int
    issued: float


def codec_of(request: Request) -> CursorCodec:
    """The app's cursor codec (one per app: see `create_api`)."""
    codec: CursorCodec = request.app.state.cursor_codec
    return codec


def authenticated_account(request: Request) -> str:
    """The id of the account authentication left on the request (every list authenticates)."""
    account = request.scope.get("state", {}).get(ACCOUNT_STATE_KEY)
    if not isinstance(account, Account):  # a wiring bug: a list route without PathAccount
        raise ApiError("Internal Failure", code=0, status=500)
    return account.account_id


def open_page(
    request: Request,
    *,
    page_size: int,
    max_list: int,
    filters: Sequence[tuple[str, str]] | None = None,
) -> PageRequest:
    """The page a list request names. `filters` are the query's own unless given (POST /Logs
    names its PQL). Raises BadRequest (400, code 3, field cursor) when the cursor does not
    verify, belongs to another account or list, was issued for other filters, or has expired."""
    now = deps_of(request).clock.now()
    account_id = authenticated_account(request)
    path = relative_path(request.scope)
    query = request.scope.get("query_string", b"")
    own = tuple(_filters(query)) if filters is None else tuple(filters)
    text = _cursor_text(query)
    if text is None:
        return PageRequest(account_id, path, own, 0, 0, None, None, page_size,
                           min(page_size, max_list), max_list, now)
    opened = request.scope.get(_SCOPE_KEY)
    cursor = opened[1] if opened is not None and opened[0] == text else codec_of(request).open(text)
    if cursor.account_id != account_id or cursor.path != path:
        raise _bad_cursor("cursor belongs to another list: use it only with the list it came from")
    if Counter(own) != Counter(cursor.filters):
        raise _bad_cursor(
            "cursor was issued for other filters: send the cursor alone (it carries the filters "
            "of its list), or start a new list without it"
        )
    if now - cursor.issued > CURSOR_TTL_S or now < cursor.issued - 60.0:
        raise _bad_cursor("cursor has expired: start the list again without a cursor")
    limit = max(0, min(cursor.page_size, max_list - cursor.start))
    # The next cursor is issued now: CURSOR_TTL_S bounds a pause between pages, not the walk.
    return PageRequest(account_id, path, cursor.filters, cursor.page, cursor.start, cursor.after,
                       cursor.total, cursor.page_size, limit, max_list, now)


async def matched_count(page: PageRequest, fetched: int, more: bool,
                        count: Callable[[], Awaitable[int]]) -> int:
    """How many rows a list paged in the store matches: the count its cursor carries after the
    first page; on a first page the rows fetched when no more follow, else `count()` (so a
    walk counts once, and a list that fits one page never)."""
    if page.total is not None:
        return page.total
    if not more:
        return fetched
    return await count()


def page_envelope(
    request: Request,
    page: PageRequest,
    matched: int,
    chunk: Sequence[T],
    more: bool,
    key: str,
    render: Callable[[T], dict[str, Any]],
    sort_key: Callable[[T], SortKey] | None = None,
    *,
    query_filters: bool = True,
) -> dict[str, Any]:
    """FreeClimb's list envelope for `chunk`, the page's rows; `matched` counts the list's
    matches (capped at max_list here), `more` says whether rows follow the chunk. Without
    `sort_key` the next page starts at a row offset. `query_filters=False` leaves the filters
    out of nextPageUri (POST /Logs: its cursor carries the PQL). An empty page says start 0 and
    end 0, as an empty list does."""
    total = min(matched, page.max_list)
    chunk = chunk[: page.limit]
    end = page.start + len(chunk)
    has_next = bool(chunk) and more and end < page.max_list
    next_uri = None
    if has_next:
        after = sort_key(chunk[-1]) if sort_key is not None else None
        cursor = Cursor(page.account_id, page.path, page.filters, page.page_size, page.page + 1,
                        end, total, after, page.issued)
        params = [*(page.filters if query_filters else ()), (CURSOR_PARAM, codec_of(request).seal(cursor))]
        next_uri = f"{page.path}?{urlencode(params)}"
    return {
        "total": total,
        "start": page.start if chunk else 0,
        "end": end - 1 if chunk else 0,
        "page": page.page,
        "numPages": math.ceil(total / page.page_size) if total else 0,
        "pageSize": page.page_size,
        "nextPageUri": next_uri,
        key: [render(item) for item in chunk],
    }


def paginate(
    request: Request,
    items: Sequence[T],
    key: str,
    render: Callable[[T], dict[str, Any]],
    *,
    page_size: int,
    max_list: int,
    sort_key: Callable[[T], SortKey] | None = None,
    descending: bool = False,
) -> dict[str, Any]:
    """The page of `items` (the whole list, in list order) that the request names, as
    FreeClimb's list envelope. With `sort_key` (the list's order: ascending, or `descending`,
    each key unique) the next page continues after the last row shown, wherever it now is;
    without, at a row offset. Only the page's items are rendered. Raises BadRequest for a bad
    cursor (see `open_page`)."""
    page = open_page(request, page_size=page_size, max_list=max_list)
    rest: Sequence[T] = items
    if page.after is not None and sort_key is not None:
        after = page.after
        rest = [i for i in items if (sort_key(i) < after if descending else sort_key(i) > after)]
    elif page.start:
        rest = items[page.start :]
    return page_envelope(request, page, len(items), rest[: page.limit], len(rest) > page.limit,
                         key, render, sort_key)

