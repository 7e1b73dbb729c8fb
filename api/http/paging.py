"""Cursor paging for the list routes: `limit` (1..MAX_PAGE) and an opaque `cursor`.

A page answers `{"items", "total", "limit", "next_cursor"}`; `next_cursor` (null on the
last page) names the last item returned by a stable key (an order's client order id,
a fill's place in the book, a run's id), so a page is the same whatever was added
since: new items come before the first page (lists are newest first), never inside
one. The cursor is base64url JSON `[route, key]`, opaque to clients; one from another
route, or that does not decode, is a 400 naming `cursor`. `offset` still works for
clients that count.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

import msgspec
from starlette.requests import Request

from api.http.errors import ApiError
from api.http.inputs import query_int

__all__ = ("DEFAULT_PAGE", "MAX_PAGE", "PAGE_PARAMETERS", "decode_cursor", "encode_cursor",
           "page")

MAX_PAGE = 1000
DEFAULT_PAGE = 100

Key = str | int


def encode_cursor(route: str, key: Key) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode([route, key])).decode().rstrip("=")


def decode_cursor(route: str, cursor: str) -> Key:
    """The key a cursor of `route` names. Raises ApiError 400 for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded_route, key = msgspec.json.decode(raw, type=tuple[str, str | int])
    except (binascii.Error, ValueError, msgspec.DecodeError, msgspec.ValidationError):
        raise ApiError(400, f"query parameter cursor {cursor[:40]!r}: not a cursor this "
                       "server gave", field="cursor") from None
    if decoded_route != route:
        raise ApiError(400, f"query parameter cursor: a cursor of {decoded_route[:40]!r}, "
                       f"not of {route}", field="cursor")
    return key


def page(request: Request, route: str, keyed: Sequence[tuple[Key, Any]]) -> dict[str, Any]:
    """One page of `keyed` ((key, item), in the order listed) per the request's query."""
    limit = query_int(request, "limit", DEFAULT_PAGE, low=1, high=MAX_PAGE)
    offset = query_int(request, "offset", 0, low=0, high=10**9)
    cursor = request.query_params.get("cursor")
    start = offset
    if cursor:
        key = decode_cursor(route, cursor)
        position = next((i for i, (k, _) in enumerate(keyed) if k == key), None)
        if position is None:
            raise ApiError(400, "query parameter cursor: its item is not in this list "
                           "(other filters than the first page's?)", field="cursor")
        start = position + 1
    chunk = keyed[start:start + limit]
    more = start + limit < len(keyed)
    return {"items": [item for _, item in chunk], "total": len(keyed), "limit": limit,
            "offset": start,
            "next_cursor": encode_cursor(route, chunk[-1][0]) if more and chunk else None}


PAGE_PARAMETERS: list[dict[str, Any]] = [
    {"name": "limit", "in": "query", "required": False, "description": "page size",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                "default": DEFAULT_PAGE}},
    {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "the previous page's next_cursor (opaque): the page after it"},
    {"name": "offset", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 0, "default": 0},
     "description": "items to skip (instead of a cursor)"},
]
"""The paging query parameters, for the OpenAPI schema."""
