"""Candles from the daemon's recording: the bars the graph handled, at any timeframe.

The daemon records the market data its graph handled (`[runtime] record = true`, the
file `recording.sqlite` in its data folder; `adapters.data.recording`). A candle query
reads that file through `RecordingSource` (read-only, WAL: the daemon keeps writing)
and keeps the bars of one instrument at the *source* timeframe, a feed's timeframe that
divides the one asked for. Asked for the source timeframe itself, the bars are the
candles; asked for a longer one, they are folded into epoch-aligned windows by the
engine's own `TimeBarBuilder`, the way the market data actor builds them, and only
complete windows are candles (the one still forming is left out until it closes).

`read_candles` blocks (SQLite, and a scan of the instrument's rows: the recording has
no index by time) and is run in a worker thread by the route, never on the loop. Bars
of a feed are recorded in time order, so a range read stops at its `end`, a page once
it has one candle more than it returns.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import msgspec

from adapters.data.recording import RecordingSource
from engine.actors import TimeBarBuilder
from engine.events.market import Bar, BarType

__all__ = ("Candle", "CandleQuery", "CandleRead", "read_candles")


class Candle(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One OHLCV candle; `ts_event` is its close time (a window's end)."""

    ts_event: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class CandleQuery(msgspec.Struct, frozen=True, kw_only=True):
    """What to read. `after` (a cursor's key) and `start` select a page going forward;
    with neither, the latest `limit` candles before `end` are read."""

    instrument_id: str
    timeframe: str
    source_timeframe: str
    limit: int
    start: int | None = None
    end: int | None = None
    after: int | None = None

    @property
    def forward(self) -> bool:
        return self.start is not None or self.after is not None


class CandleRead(msgspec.Struct, frozen=True, kw_only=True):
    items: list[Candle]
    more: bool
    """A forward page: more candles follow the last one (within `end`)."""


def read_candles(path: Path, query: CandleQuery) -> CandleRead:
    """Read one page of candles from the recording at `path` (blocking).

    Raises:
        FileNotFoundError: there is no recording at `path`.
        DataError: the file is not a recording, or its rows are not in time order.
    """
    if not path.is_file():
        raise FileNotFoundError(path)
    wanted = query.limit + 1 if query.forward else query.limit
    found: deque[Candle] = deque(maxlen=None if query.forward else query.limit)
    full = False

    def keep(bar: Bar) -> None:
        nonlocal full
        ts = bar.ts_event
        if (query.start is not None and ts < query.start) or (
                query.after is not None and ts <= query.after) or full:
            return
        found.append(Candle(ts_event=ts, open=bar.open, high=bar.high, low=bar.low,
                            close=bar.close, volume=bar.volume))
        full = query.forward and len(found) >= wanted

    source = RecordingSource(path, instrument_ids=[query.instrument_id])
    native = query.source_timeframe == query.timeframe
    builder = TimeBarBuilder(BarType(instrument_id=query.instrument_id,
                                     timeframe=query.timeframe), keep)
    for item in source:
        if type(item) is not Bar or item.bar_type.timeframe != query.source_timeframe:
            continue
        end = item.ts_event if native else builder.window_end_for(item.ts_event, closing=True)
        if query.end is not None and end >= query.end:
            builder.flush(item.ts_init)  # later data: the window before it is complete
            break
        if native:
            keep(item)
        else:
            builder.add(end, item.open, item.high, item.low, item.close, item.volume,
                        item.ts_init)
            if item.ts_event == end:
                builder.flush(item.ts_init)
        if full:
            break
    items = list(found)
    more = query.forward and len(items) > query.limit
    return CandleRead(items=items[:query.limit], more=more)
