"""Request input: bodies decoded into Structs under a size limit, query parameters checked.

Every failure is an ApiError naming what was wrong, so no input reaches a 500.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec
from starlette.requests import Request

from api.http.errors import ApiError, validation_error

__all__ = ("query_choice", "query_int", "query_str", "read_body")

T = TypeVar("T")


async def read_body(request: Request, body_type: type[T], *, limit: int) -> T:
    """Read at most `limit` bytes of JSON and decode them as `body_type`.

    Raises:
        ApiError: 413 over the limit, 400 not JSON, 422 a field that fails the Struct.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body of {declared} bytes: the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body: over the limit of {limit} bytes")
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise ApiError(422, "request body: a JSON object is required", field="$")
    try:
        return msgspec.json.decode(data, type=body_type)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise validation_error(error) from error


def query_str(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value if value else None


def query_int(request: Request, name: str, default: int, *, low: int, high: int) -> int:
    """An integer query parameter in [low, high], or `default` when absent."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"query parameter {name} {raw[:40]!r}: not an integer",
                       field=name) from None
    if not low <= value <= high:
        raise ApiError(400, f"query parameter {name} {value}: must be in [{low}, {high}]",
                       field=name)
    return value


def query_choice(request: Request, name: str, choices: frozenset[str]) -> str | None:
    """A query parameter that must be one of `choices`, or None when absent."""
    value = query_str(request, name)
    if value is not None and value not in choices:
        raise ApiError(400, f"query parameter {name} {value[:40]!r}: must be one of "
                       f"{', '.join(sorted(choices))}", field=name)
    return value
