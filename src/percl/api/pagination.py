"""FreeClimb's list envelope and its cursor.

Every list answers `{total, start, end, page, numPages, pageSize, nextPageUri, <items>}` with a
zero-based `page`. `nextPageUri` is relative to /apiserver and repeats the request's own filters
plus a `cursor`, so the SDK's `get_next_page` (a plain GET of that path) sees the same list.

The cursor is opaque to clients; inside it is base64url of `page=<n>`. It carries no filters:
those stay in the query string, so a client that changes a filter starts a different list.
A cursor past the last page yields an empty page rather than an error, because items may
disappear between two page fetches.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request

from percl.errors import BadRequest

T = TypeVar("T")

CURSOR_PARAM = "cursor"
_CURSOR_RE = re.compile(r"^page=(0|[1-9][0-9]{0,8})$")


def encode_cursor(page: int) -> str:
    """The opaque cursor naming zero-based page `page`."""
    return base64.urlsafe_b64encode(f"page={page}".encode()).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The page index inside `cursor` (0 when absent).

    Raises BadRequest (400, code 3, field `cursor`) when the cursor was not made by encode_cursor.
    """
    if cursor is None or cursor == "":
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        text = ""
    match = _CURSOR_RE.match(text)
    if match is None:
        raise BadRequest(
            "cursor is not valid: use the nextPageUri of the previous page as given",
            details={"field": CURSOR_PARAM},
        )
    return int(match.group(1))


def relative_path(request: Request) -> str:
    """The request path relative to where the API is mounted (e.g. without `/apiserver`)."""
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path or "/"


def next_page_uri(request: Request, page: int) -> str:
    """`request`'s path and filters with the cursor of `page` (relative to the mount point)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != CURSOR_PARAM]
    params.append((CURSOR_PARAM, encode_cursor(page)))
    return f"{relative_path(request)}?{urlencode(params)}"


def paginate(
    request: Request,
    items: Sequence[T],
    key: str,
    render: Callable[[T], dict[str, Any]],
    *,
    page_size: int,
    max_list: int,
) -> dict[str, Any]:
    """The page of `items` that the request's `cursor` names, as FreeClimb's list envelope.

    `key` is the array property (`calls`, `applications`...). Only the page's items are rendered.
    Raises BadRequest when the cursor does not decode.
    """
    window = page_window(request, page_size=page_size, max_list=max_list)
    chunk = items[window.offset : window.offset + window.limit]
    return list_envelope(request, window, len(items), chunk, key, render)


@dataclass(frozen=True, slots=True)
class PageWindow:
    """Which rows the request's cursor names: `limit` rows from `offset` (0 past the cap)."""

    page: int
    offset: int
    limit: int
    page_size: int
    max_list: int


def page_window(request: Request, *, page_size: int, max_list: int) -> PageWindow:
    """The rows to fetch for the request's page, for lists paged in the store (GET /Calls):
    fetch `limit` rows from `offset`, count all matches, then call `list_envelope`.

    Raises BadRequest when the cursor does not decode.
    """
    page = decode_cursor(request.query_params.get(CURSOR_PARAM))
    offset = page * page_size
    limit = max(0, min(page_size, max_list - offset))
    return PageWindow(page, offset, limit, page_size, max_list)


def list_envelope(
    request: Request,
    window: PageWindow,
    matched: int,
    chunk: Sequence[T],
    key: str,
    render: Callable[[T], dict[str, Any]],
) -> dict[str, Any]:
    """FreeClimb's list envelope for `chunk`, the rows of `window` out of `matched` matches
    (the list's total is capped at max_list). Renders only the chunk's items."""
    total = min(matched, window.max_list)
    num_pages = math.ceil(total / window.page_size) if total else 0
    start = window.offset
    if start >= total:
        chunk = []  # a cursor past the last page (items went away between two fetches)
    has_next = window.page + 1 < num_pages
    return {
        "total": total,
        "start": start,
        "end": start + len(chunk) - 1 if chunk else start,
        "page": window.page,
        "numPages": num_pages,
        "pageSize": window.page_size,
        "nextPageUri": next_page_uri(request, window.page + 1) if has_next else None,
        key: [render(item) for item in chunk],
    }
