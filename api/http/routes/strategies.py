"""Strategies: each one's id, class, lifecycle state and typed parameters."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.http.context import context
from api.http.responses import json_response

__all__ = ("ROUTES", "list_strategies")


async def list_strategies(request: Request) -> Response:
    api = context(request)
    api.guard.check_read(request.headers)
    graph = api.graph()
    return json_response({"items": [
        {
            "id": strategy.id,
            "class": f"{type(strategy).__module__}:{type(strategy).__qualname__}",
            "state": str(strategy.state),
            "parameters": msgspec.to_builtins(strategy.config),
            "open_orders": len(graph.orders.open_orders(strategy_id=strategy.id)),
        }
        for strategy in graph.strategies
    ]})


ROUTES = (Route("/api/v1/strategies", list_strategies, methods=["GET"]),)
