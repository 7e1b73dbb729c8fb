"""The HTTP side of the daemon: REST + WebSocket API on a running `TradingNode`.

`ApiServer` runs uvicorn on the daemon's loop as a node service; `create_app` builds
the Starlette app (no module-level app). The API observes the bus through taps and the
actors' read methods and changes state only by injecting journaled commands. The
composition root (`api.compose.daemon`) builds it from the `[api]` section.
"""

from __future__ import annotations

from api.http.app import create_app
from api.http.config import TOKEN_VARIABLE, ApiConfig, api_token
from api.http.server import ApiServer

__all__ = ("TOKEN_VARIABLE", "ApiConfig", "ApiServer", "api_token", "create_app")
