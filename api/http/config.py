"""The `[api]` section of a daemon file: where the HTTP API listens and who may use it.

Safe by default: it listens on 127.0.0.1 only, read-only routes are open there,
mutating routes and the WebSocket always need the bearer token, and no other origin
may call it from a browser. Listening on any other address without a token set is
refused when the daemon is built (`api.compose.daemon.build_node`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import msgspec

from engine.config import Config, Secret

__all__ = ("LOOPBACK_HOSTS", "TOKEN_VARIABLE", "ApiConfig", "api_token")

TOKEN_VARIABLE = "TRADEBUS_API_TOKEN"
"""The environment variable holding the API's bearer token (never a config file)."""
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class ApiConfig(Config, kw_only=True, frozen=True):
    """Where the API listens and what it lets through.

    `read_requires_token` closes the read-only routes too (open by default, since the
    default host is loopback). `cors_origins` lists the browser origins allowed to call
    the API (none by default). `max_body_bytes` bounds a request body. `ws_buffer` is
    how many events a WebSocket client's tap holds before it drops the oldest.
    `backtest_workers` is how many backtest jobs run at once, each in its own process.
    """

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8000
    read_requires_token: bool = False
    cors_origins: list[str] = []
    max_body_bytes: Annotated[int, msgspec.Meta(gt=0)] = 64 * 1024
    ws_buffer: Annotated[int, msgspec.Meta(gt=0)] = 1024
    backtest_workers: Annotated[int, msgspec.Meta(ge=1, le=4)] = 1

    @property
    def is_loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS


def api_token(environ: Mapping[str, str] | None) -> Secret | None:
    """The bearer token from `environ` (`TRADEBUS_API_TOKEN`), or None when unset or empty."""
    value = (environ or {}).get(TOKEN_VARIABLE, "")
    return Secret(value) if value else None
