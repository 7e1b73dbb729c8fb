"""`create_app(node, config, token)`: the daemon's Starlette app (a factory, no module app).

Routes: health and status, trading, strategies (`api.http.routes`), the event stream
(`api.http.ws`), the OpenAPI schema and docs page (`api.http.openapi`), the dashboard
at `/` (`api.http.dashboard`), and `/metrics`
when `api.http.metrics` is installed (the Prometheus exposition, built by its own module).
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from api.http.auth import Guard
from api.http.config import ApiConfig
from api.http.context import DEFAULT_RECORDING, ApiContext
from api.http.dashboard import ROUTES as DASHBOARD_ROUTES
from api.http.errors import error_handlers
from api.http.jobs import BacktestJobs
from api.http.openapi import ROUTES as OPENAPI_ROUTES, openapi_schema
from api.http.routes import ROUTES as REST_ROUTES
from api.http.ws import ROUTES as WS_ROUTES
from engine.config import Secret
from engine.runtime.node import TradingNode

__all__ = ("create_app",)

_METRICS_MODULE = "api.http.metrics"


def create_app(node: TradingNode, config: ApiConfig, token: Secret | None, *,
               data_dir: Path | None = None, recording: Path | None = None) -> Starlette:
    """Build the app on `node`.

    Args:
        node: the node it observes and injects commands into (running, or about to).
        config: the `[api]` settings.
        token: the bearer token (None: every mutating route and the WebSocket refuse).
        data_dir: the daemon's data folder: backtest jobs keep `backtests/` there (None:
            no backtest routes; they answer 503).
        recording: the daemon's market data recording, where candles come from (None:
            `recording.sqlite` in `data_dir`).
    """
    routes: list[BaseRoute] = [*REST_ROUTES, *WS_ROUTES, *OPENAPI_ROUTES, *DASHBOARD_ROUTES]
    metrics = _metrics_app(node)
    if metrics is not None:
        # `/metrics` itself (what Prometheus scrapes, no redirect) and anything under it.
        routes += [Route("/metrics", _AsgiApp(metrics)), Mount("/metrics", app=metrics)]
    middleware = []
    if config.cors_origins:
        middleware.append(Middleware(
            CORSMiddleware, allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        ))
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers=error_handlers())
    jobs = (BacktestJobs(data_dir / "backtests", workers=config.backtest_workers)
            if data_dir is not None else None)
    if recording is None and data_dir is not None:
        recording = data_dir / DEFAULT_RECORDING
    app.state.api = ApiContext(node, config,
                               Guard(token, read_requires_token=config.read_requires_token),
                               jobs, recording=recording)
    app.state.openapi = openapi_schema()
    return app


class _AsgiApp:
    """An ASGI app as a Route endpoint (a bare function would be taken for a handler)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def _metrics_app(node: TradingNode) -> Any:
    # Provided by the metrics work (`metrics_app(node) -> ASGI app`); absent, no /metrics.
    if importlib.util.find_spec(_METRICS_MODULE) is None:
        return None
    return importlib.import_module(_METRICS_MODULE).metrics_app(node)
