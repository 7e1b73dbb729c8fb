"""Strategies: each one's id, class, lifecycle state and typed parameters; start and stop.

Starting and stopping are `StartStrategy` / `StopStrategy` commands injected at
`strategies.control` as journaled inputs, so a replay of the journal repeats them.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.http.context import context
from api.http.errors import ApiError
from api.http.inputs import read_body
from api.http.responses import json_response
from api.http.schemas import StopStrategyRequest
from engine.actor import ActorState
from engine.events.system import StartStrategy, StopStrategy
from engine.graph import TradingGraph
from engine.strategy import Strategy
from engine.topics import STRATEGIES_CONTROL

__all__ = ("ROUTES", "list_strategies", "start_strategy", "stop_strategy")


def _describe(graph: TradingGraph, strategy: Strategy) -> dict[str, Any]:
    return {
        "id": strategy.id,
        "class": f"{type(strategy).__module__}:{type(strategy).__qualname__}",
        "state": str(strategy.state),
        "parameters": msgspec.to_builtins(strategy.config),
        "open_orders": len(graph.orders.open_orders(strategy_id=strategy.id)),
    }


def _strategy(graph: TradingGraph, strategy_id: str) -> Strategy:
    for strategy in graph.strategies:
        if strategy.id == strategy_id:
            return strategy
    raise ApiError(404, f"strategy {strategy_id[:60]!r}: unknown")


async def list_strategies(request: Request) -> Response:
    api = context(request)
    api.guard.check_read(request.headers)
    graph = api.graph()
    return json_response({"items": [_describe(graph, s) for s in graph.strategies]})


async def start_strategy(request: Request) -> Response:
    """Start a stopped strategy (`on_start`, then its state saved at the stop)."""
    api = context(request)
    api.guard.check_write(request.headers)
    graph = api.graph()
    strategy = _strategy(graph, request.path_params["strategy_id"])
    if strategy.state is not ActorState.STOPPED:
        raise ApiError(409, f"strategy {strategy.id}: is {strategy.state}; only a stopped "
                       "strategy starts")
    now = api.now_ns()
    api.inject_at(STRATEGIES_CONTROL,
                  StartStrategy(strategy_id=strategy.id, ts_event=now, ts_init=now))
    return json_response(_describe(graph, strategy))


async def stop_strategy(request: Request) -> Response:
    """Stop a running strategy; body (optional) `{"cancel_open_orders": true}`."""
    api = context(request)
    api.guard.check_write(request.headers)
    body = (await read_body(request, StopStrategyRequest, limit=api.config.max_body_bytes)
            if request.headers.get("content-length", "0") != "0" else StopStrategyRequest())
    graph = api.graph()
    strategy = _strategy(graph, request.path_params["strategy_id"])
    if strategy.state is not ActorState.RUNNING:
        raise ApiError(409, f"strategy {strategy.id}: is {strategy.state}; only a running "
                       "strategy stops")
    now = api.now_ns()
    api.inject_at(STRATEGIES_CONTROL, StopStrategy(
        strategy_id=strategy.id, cancel_open_orders=body.cancel_open_orders,
        ts_event=now, ts_init=now))
    return json_response(_describe(graph, strategy))


ROUTES = (
    Route("/api/v1/strategies", list_strategies, methods=["GET"]),
    Route("/api/v1/strategies/{strategy_id}/start", start_strategy, methods=["POST"]),
    Route("/api/v1/strategies/{strategy_id}/stop", stop_strategy, methods=["POST"]),
)
