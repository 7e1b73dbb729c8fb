"""The REST routes, one module per subject; `ROUTES` is what `create_app` mounts."""

from __future__ import annotations

from api.http.routes.backtests import ROUTES as BACKTEST_ROUTES
from api.http.routes.market import ROUTES as MARKET_ROUTES
from api.http.routes.strategies import ROUTES as STRATEGY_ROUTES
from api.http.routes.system import ROUTES as SYSTEM_ROUTES
from api.http.routes.trading import ROUTES as TRADING_ROUTES

__all__ = ("ROUTES",)

ROUTES = (*SYSTEM_ROUTES, *TRADING_ROUTES, *STRATEGY_ROUTES, *MARKET_ROUTES,
          *BACKTEST_ROUTES)
