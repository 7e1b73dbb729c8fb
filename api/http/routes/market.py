"""Market data: the node's instruments, and the last item the graph saw per instrument.

Read from the graph's market cache on the loop (the item every actor priced from at
the last step), never from an adapter: the cache keeps one item per instrument, the
last bar, trade or quote, so `bar` is the last bar only when a bar came last.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.http.context import context
from api.http.errors import ApiError
from api.http.inputs import query_str
from api.http.responses import json_response
from engine.events.codec import TAGS
from engine.graph import TradingGraph

__all__ = ("ROUTES", "instruments", "latest")


async def instruments(request: Request) -> Response:
    api = context(request)
    api.guard.check_read(request.headers)
    return json_response({"items": list(api.graph().instruments)})


async def latest(request: Request) -> Response:
    """Per instrument (or `instrument_id=` one): the last price and the item it came from."""
    api = context(request)
    api.guard.check_read(request.headers)
    graph = api.graph()
    wanted = query_str(request, "instrument_id")
    if wanted is not None and graph.instruments.get(wanted) is None:
        raise ApiError(404, f"instrument {wanted[:60]!r}: not an instrument of this node",
                       field="instrument_id")
    ids = [wanted] if wanted is not None else [i.instrument_id for i in graph.instruments]
    return json_response({"items": [_latest(graph, instrument_id) for instrument_id in ids]})


def _latest(graph: TradingGraph, instrument_id: str) -> dict[str, Any]:
    item = graph.cache.last.get(instrument_id)
    kind = TAGS[type(item)] if item is not None else None
    return {
        "instrument_id": instrument_id,
        "last_price": graph.cache.last_price(instrument_id),
        "kind": kind,
        "bar": item if kind == "bar" else None,
        "quote": item if kind == "quote_tick" else None,
        "trade": item if kind == "trade_tick" else None,
    }


ROUTES = (
    Route("/api/v1/instruments", instruments, methods=["GET"]),
    Route("/api/v1/market/latest", latest, methods=["GET"]),
)
