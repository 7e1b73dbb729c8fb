"""Every API error as JSON: `{"error": kind, "detail": ..., "field": ...}` with a 4xx status.

    ApiError(status, kind, detail, field)   raised by routes and helpers
    ├── 400 bad_request       malformed JSON, a bad query parameter
    ├── 401 unauthorized      no or wrong bearer token
    ├── 403 forbidden         mutating routes while no token is configured
    ├── 404 not_found         an unknown order, strategy, job, run, route
    ├── 409 conflict          an order not open, a strategy in the wrong state, no results yet
    ├── 413 payload_too_large a body over `max_body_bytes`
    ├── 422 invalid           a body that fails its Struct (the field is named)
    ├── 429 too_many_requests too many backtest jobs queued
    └── 503 not_ready         the node is not running yet (or any more)

Starlette's own HTTPException (an unknown route, a wrong method) becomes the same
shape, and anything unexpected a 500 with no detail: bad input must never reach it,
and the fuzz test checks that it does not.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from api.http.responses import json_response

__all__ = ("ApiError", "error_handlers", "validation_error")

logger = logging.getLogger(__name__)

_AT_PATH = re.compile(r"^(?P<reason>.*?)(?: - at `(?P<path>[^`]+)`)?$", re.DOTALL)
_KINDS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
          429: "too_many_requests",
          422: "invalid", 503: "not_ready"}


class ApiError(Exception):
    """An expected refusal: its status, kind, a sentence for people, the field at fault."""

    def __init__(
        self, status: int, detail: str, *, field: str | None = None, kind: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind if kind is not None else _KINDS.get(status, "error")
        self.detail = detail
        self.field = field
        self.headers = headers

    def response(self) -> Response:
        body: dict[str, Any] = {"error": self.kind, "detail": self.detail}
        if self.field is not None:
            body["field"] = self.field
        return json_response(body, status=self.status, headers=self.headers)


def validation_error(error: msgspec.ValidationError | msgspec.DecodeError) -> ApiError:
    """A 422 naming the field msgspec pointed at (`$.quantity`), or 400 for broken JSON."""
    if not isinstance(error, msgspec.ValidationError):
        return ApiError(400, f"request body: not valid JSON ({error})")
    match = _AT_PATH.match(str(error))
    reason = match.group("reason") if match else str(error)
    path = match.group("path") if match else None
    return ApiError(422, f"field {path or '$'}: {reason}", field=path or "$")


async def _api_error(request: Request, error: Exception) -> Response:
    if not isinstance(error, ApiError):  # Starlette registers handlers per class
        raise error
    return error.response()


async def _http_error(request: Request, error: Exception) -> Response:
    if not isinstance(error, HTTPException):
        raise error
    headers = dict(error.headers) if error.headers else None
    return ApiError(error.status_code, str(error.detail), headers=headers).response()


async def _unexpected(request: Request, error: Exception) -> Response:
    logger.exception("api %s %s: unexpected error", request.method, request.url.path)
    return json_response({"error": "internal", "detail": "internal error"}, status=500)


def error_handlers() -> dict[Any, Any]:
    """The exception handlers `create_app` installs."""
    return {ApiError: _api_error, HTTPException: _http_error, Exception: _unexpected}
