"""`/openapi.json` and `/docs`: the schema from the request Structs, and a page to read it.

Request bodies are described by `msgspec.json.schema_components` over the very Structs
that decode them, so what the schema says is what the server accepts. The docs page is
self-contained (no CDN: the daemon may run without internet access).
"""

from __future__ import annotations

import html
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from api.http.paging import PAGE_PARAMETERS
from api.http.responses import json_response
from api.http.schemas import (
    BacktestRequest,
    OrderRequest,
    StopStrategyRequest,
    Subscribe,
    TradingStateRequest,
    Unsubscribe,
)
from engine.domain.enums import OrderStatus
from engine.domain.order import Order

__all__ = ("ROUTES", "openapi_schema")

_REF = "#/components/schemas/{name}"
_ERROR = {"description": "an error", "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/Error"}}}}
_AUTH = [{"bearer": []}]


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


_PAGE = PAGE_PARAMETERS
_FILTERS = [_query("strategy_id", {"type": "string"}, "one strategy's"),
            _query("instrument_id", {"type": "string"}, "one instrument's")]

_INSTANT = {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string",
                                                        "format": "date-time"}]}
_CANDLES = [
    {**_query("instrument_id", {"type": "string"}, "the instrument"), "required": True},
    _query("timeframe", {"type": "string", "pattern": "^[1-9][0-9]*[smhd]$"},
           "candle length (default: the feed's); a multiple of a recorded timeframe"),
    _query("start", _INSTANT, "first close time (ns since the epoch, or ISO 8601)"),
    _query("end", _INSTANT, "close times before this (excluded)"),
    *(p for p in _PAGE if p["name"] != "offset"),
]


def _operation(summary: str, *, write: bool = False, body: str | None = None,
               parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": {"description": "OK", "content": {"application/json": {}}},
                      "4XX": _ERROR},
    }
    if write:
        operation["security"] = _AUTH
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": _REF.format(name=body)}}}}
    if parameters:
        operation["parameters"] = parameters
    return operation


def openapi_schema() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the REST routes."""
    _, components = msgspec.json.schema_components(
        [OrderRequest, TradingStateRequest, StopStrategyRequest, BacktestRequest, Subscribe,
         Unsubscribe, Order], ref_template=_REF)
    components["Error"] = {"type": "object", "required": ["error", "detail"], "properties": {
        "error": {"type": "string"}, "detail": {"type": "string"},
        "field": {"type": "string"}}}
    order_id = {"name": "client_order_id", "in": "path", "required": True,
                "schema": {"type": "string"}}
    strategy_id = {"name": "strategy_id", "in": "path", "required": True,
                   "schema": {"type": "string"}}
    job_id = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
    run_id = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    status = _query("status", {"enum": [str(s) for s in OrderStatus]}, "one status")
    open_only = _query("open", {"enum": ["true", "false"]}, "open orders only")
    return {
        "openapi": "3.1.0",
        "info": {"title": "tradebus daemon API", "version": "1"},
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/health": {"get": _operation("liveness")},
            "/ready": {"get": _operation("readiness")},
            "/api/v1/status": {"get": _operation("mode, uptime, engine time, actors, queues")},
            "/api/v1/portfolio": {"get": _operation("balances, equity, pnl, equity curve")},
            "/api/v1/positions": {"get": _operation("open positions",
                                                    parameters=_FILTERS[:1])},
            "/api/v1/orders": {
                "get": _operation("orders, newest first",
                                  parameters=[*_FILTERS, status, open_only, *_PAGE]),
                "post": _operation("submit a manual order", write=True, body="OrderRequest"),
                "delete": _operation("cancel all open orders", write=True,
                                     parameters=_FILTERS),
            },
            "/api/v1/orders/{client_order_id}": {
                "get": _operation("one order", parameters=[order_id]),
                "delete": _operation("cancel one order", write=True, parameters=[order_id]),
            },
            "/api/v1/fills": {"get": _operation("fills, newest first",
                                                parameters=[*_FILTERS, *_PAGE])},
            "/api/v1/trading-state": {
                "get": _operation("the trading state"),
                "put": _operation("the kill switch", write=True, body="TradingStateRequest"),
            },
            "/api/v1/backtests": {
                "post": _operation("submit a backtest job (runs in a worker process)",
                                   write=True, body="BacktestRequest"),
                "get": _operation("this daemon's backtest jobs"),
            },
            "/api/v1/backtests/{job_id}": {"get": _operation(
                "a job's status and progress", parameters=[job_id])},
            "/api/v1/backtests/{job_id}/results": {"get": _operation(
                "a finished job's metrics, trades, fills, equity curve", parameters=[job_id])},
            "/api/v1/backtest-runs": {"get": _operation("stored runs, newest first",
                                                        parameters=_PAGE)},
            "/api/v1/backtest-runs/{run_id}": {"get": _operation(
                "a stored run's metrics, trades, fills, equity curve", parameters=[run_id])},
            "/api/v1/instruments": {"get": _operation("the node's instruments")},
            "/api/v1/market/latest": {"get": _operation(
                "the last price and market data item per instrument",
                parameters=_FILTERS[1:])},
            "/api/v1/market/candles": {"get": _operation(
                "OHLCV candles from the daemon's recording, cursor-paged",
                parameters=_CANDLES)},
            "/api/v1/strategies": {"get": _operation("strategies, parameters and state")},
            "/api/v1/strategies/{strategy_id}/start": {"post": _operation(
                "start a stopped strategy", write=True, parameters=[strategy_id])},
            "/api/v1/strategies/{strategy_id}/stop": {"post": _operation(
                "stop a running strategy (body optional)", write=True,
                body="StopStrategyRequest", parameters=[strategy_id])},
        },
    }


async def openapi(request: Request) -> Response:
    schema: dict[str, Any] = request.app.state.openapi
    return json_response(schema)


async def docs(request: Request) -> Response:
    """A plain page listing every route and schema (readable without JavaScript)."""
    schema: dict[str, Any] = request.app.state.openapi
    rows = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            lock = " (token)" if "security" in operation else ""
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>"
                        f"{html.escape(path)}</code></td><td>"
                        f"{html.escape(operation['summary'])}{lock}</td></tr>")
    components = html.escape(msgspec.json.format(
        msgspec.json.encode(schema["components"]["schemas"]).decode(), indent=2))
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>tradebus API</title>"
        "<style>body{font-family:sans-serif;margin:2em}td{padding:.2em 1em}"
        "pre{background:#f4f4f4;padding:1em}</style></head><body>"
        "<h1>tradebus daemon API</h1><p>Machine-readable: <a href='/openapi.json'>"
        "/openapi.json</a>. Mutating routes and <code>/ws/events</code> need "
        "<code>Authorization: Bearer $TRADEBUS_API_TOKEN</code>.</p>"
        f"<table>{''.join(rows)}</table><h2>Schemas</h2><pre>{components}</pre>"
        "</body></html>"
    )
    return HTMLResponse(page)


ROUTES = (
    Route("/openapi.json", openapi, methods=["GET"]),
    Route("/docs", docs, methods=["GET"]),
)
