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
    page = decode_cursor(request.query_params.get(CURSOR_PARAM))
    total = min(len(items), max_list)
    num_pages = math.ceil(total / page_size) if total else 0
    start = page * page_size
    chunk = items[start : min(start + page_size, total)] if start < total else []
    has_next = page + 1 < num_pages
    return {
        "total": total,
        "start": start,
        "end": start + len(chunk) - 1 if chunk else start,
        "page": page,
        "numPages": num_pages,
        "pageSize": page_size,
        "nextPageUri": next_page_uri(request, page + 1) if has_next else None,
        key: [render(item) for item in chunk],
    }
