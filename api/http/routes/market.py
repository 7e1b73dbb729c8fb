"""Market data: the node's instruments, the last item per instrument, candles.

`latest` reads the graph's market cache on the loop (the item every actor priced from
at the last step), never an adapter: the cache keeps one item per instrument, the last
bar, trade or quote, so `bar` is the last bar only when a bar came last. `candles`
reads the daemon's recording (`api.http.candles`) in a worker thread, cursor-paged.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.http.candles import CandleQuery, read_candles
from api.http.context import ApiContext, context
from api.http.errors import ApiError
from api.http.inputs import query_int, query_str
from api.http.paging import DEFAULT_PAGE, MAX_PAGE, decode_cursor, encode_cursor
from api.http.responses import json_response
from engine.errors import DataError
from engine.events.codec import TAGS
from engine.events.market import timeframe_ns
from engine.graph import TradingGraph

__all__ = ("ROUTES", "candles", "instruments", "latest")

_CANDLE_READERS = anyio.CapacityLimiter(2)  # each read scans the recording: bounded
_MAX_NS = 2**63 - 1


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


async def candles(request: Request) -> Response:
    """OHLCV candles of one instrument at `timeframe`, from the daemon's recording.

    `start`/`end` (nanoseconds since the epoch, or ISO 8601; `end` excluded) bound the
    candles' close times. With `start` or a `cursor`, a page goes forward from there and
    `next_cursor` names its last candle; with neither, the latest `limit` candles.
    """
    api = context(request)
    api.guard.check_read(request.headers)
    graph = api.graph()
    instrument_id = query_str(request, "instrument_id")
    if instrument_id is None:
        raise ApiError(400, "query parameter instrument_id: required", field="instrument_id")
    if graph.instruments.get(instrument_id) is None:
        raise ApiError(404, f"instrument {instrument_id[:60]!r}: not an instrument of this "
                       "node", field="instrument_id")
    timeframe, source = _timeframes(api, request, instrument_id)
    start, end = _instant(request, "start"), _instant(request, "end")
    if start is not None and end is not None and end <= start:
        raise ApiError(400, f"query parameter end {end}: must be after start {start}",
                       field="end")
    cursor = query_str(request, "cursor")
    after = decode_cursor("candles", cursor) if cursor else None
    if after is not None and not isinstance(after, int):
        raise ApiError(400, "query parameter cursor: not a cursor of candles", field="cursor")
    query = CandleQuery(instrument_id=instrument_id, timeframe=timeframe,
                        source_timeframe=source, start=start, end=end, after=after,
                        limit=query_int(request, "limit", DEFAULT_PAGE, low=1, high=MAX_PAGE))
    path = api.recording
    try:
        read = await anyio.to_thread.run_sync(read_candles, path, query,
                                              limiter=_CANDLE_READERS)
    except FileNotFoundError:
        raise ApiError(404, f"no recording {path.name} in the data folder: candles come "
                       "from what the daemon records ([runtime] record = true)") from None
    except (DataError, sqlite3.Error) as error:
        raise ApiError(503, f"recording {path.name}: cannot be read now ({error})") from None
    last = read.items[-1].ts_event if read.items else None
    return json_response({
        "instrument_id": instrument_id, "timeframe": timeframe, "source_timeframe": source,
        "items": read.items, "limit": query.limit,
        "next_cursor": (encode_cursor("candles", last) if read.more and last is not None
                        else None),
    })


def _timeframes(api: ApiContext, request: Request, instrument_id: str) -> tuple[str, str]:
    """The timeframe asked for (default: the feed's) and the feed timeframe it is built of."""
    recorded = sorted({feed.bar_type.timeframe for feed in api.node.feeds
                       if feed.bar_type is not None and feed.instrument_id == instrument_id},
                      key=timeframe_ns)
    if not recorded:
        raise ApiError(404, f"instrument {instrument_id[:60]!r}: no feed of this node "
                       "carries its bars", field="instrument_id")
    timeframe = query_str(request, "timeframe") or recorded[0]
    try:
        step = timeframe_ns(timeframe)
    except ValueError as error:
        raise ApiError(400, f"query parameter {str(error)[:120]}", field="timeframe") from None
    sources = [t for t in recorded if step % timeframe_ns(t) == 0]
    if not sources:
        raise ApiError(400, f"query parameter timeframe {timeframe!r}: not a multiple of a "
                       f"recorded timeframe ({', '.join(recorded)})", field="timeframe")
    return timeframe, sources[-1]


def _instant(request: Request, name: str) -> int | None:
    """Nanoseconds since the epoch, from digits or an ISO 8601 time (UTC when naive)."""
    raw = query_str(request, name)
    if raw is None:
        return None
    if raw.isdigit():
        return query_int(request, name, 0, low=0, high=_MAX_NS)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f"query parameter {name} {raw[:40]!r}: not nanoseconds since "
                       "the epoch nor an ISO 8601 time", field=name) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = int(moment.timestamp())
    if not 0 <= seconds <= _MAX_NS // 1_000_000_000 - 1:
        raise ApiError(400, f"query parameter {name} {raw[:40]!r}: before 1970 or after "
                       "2262 (nanoseconds in 64 bits)", field=name)
    return seconds * 1_000_000_000 + moment.microsecond * 1_000


ROUTES = (
    Route("/api/v1/instruments", instruments, methods=["GET"]),
    Route("/api/v1/market/latest", latest, methods=["GET"]),
    Route("/api/v1/market/candles", candles, methods=["GET"]),
)
