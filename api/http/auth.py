"""Bearer-token checks: every mutating route and the WebSocket need the token.

With no token configured, mutating routes are refused (403), never open. The token is
compared in constant time (`hmac.compare_digest`) and never logged or echoed.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from api.http.config import TOKEN_VARIABLE
from api.http.errors import ApiError
from engine.config import Secret

__all__ = ("BEARER_SUBPROTOCOL", "Guard")

BEARER_SUBPROTOCOL = "bearer"

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class Guard:
    """Decide whether a request's headers carry the API token.

    Args:
        token: the configured token, or None (mutating routes are then refused).
        read_requires_token: whether read-only routes need it too.
    """

    def __init__(self, token: Secret | None, *, read_requires_token: bool = False) -> None:
        self._token = token.reveal().encode() if token is not None else None
        self._read_requires_token = read_requires_token

    def check_write(self, headers: Mapping[str, str]) -> None:
        """Raise ApiError(403) with no token configured, ApiError(401) without the right one."""
        if self._token is None:
            raise ApiError(403, f"mutating routes are disabled: {TOKEN_VARIABLE} is not set "
                           "for the daemon")
        self._check(headers)

    def check_read(self, headers: Mapping[str, str]) -> None:
        """Read-only routes: open unless configured to need the token."""
        if not self._read_requires_token:
            return
        if self._token is None:
            raise ApiError(403, f"read routes need the token, and {TOKEN_VARIABLE} is not set")
        self._check(headers)

    def accepts(self, headers: Mapping[str, str]) -> bool:
        """True when a token is configured and `headers` carry it (the WebSocket's test).

        A browser cannot set headers on a WebSocket, so the token may also come as the
        subprotocols `bearer, <token>` (`new WebSocket(url, ["bearer", token])`).
        """
        protocols = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")]
        if len(protocols) == 2 and protocols[0] == BEARER_SUBPROTOCOL:
            headers = {"authorization": f"Bearer {protocols[1]}"}
        try:
            self.check_write(headers)
        except ApiError:
            return False
        return True

    def _check(self, headers: Mapping[str, str]) -> None:
        scheme, _, presented = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented:
            raise ApiError(401, "missing bearer token (Authorization: Bearer <token>)",
                           headers=_CHALLENGE)
        expected = self._token or b""
        if not hmac.compare_digest(presented.strip().encode(), expected):
            raise ApiError(401, "wrong bearer token", headers=_CHALLENGE)
