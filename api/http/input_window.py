"""The market data inputs behind the feed latency histogram, kept between two scrapes.

The daemon's runner shows the window each market data item it brings into the graph
(`LiveRunner.watch_data`): inputs only, so bars the engine builds itself (aggregation)
never count as a feed's. At each scrape the collector takes what was kept and turns
`ts_init - ts_event` into `tradebus_market_data_latency_seconds`.

Every input is kept, not a sample (a feed of one bar a minute would give a sampled
histogram almost nothing), in a bounded deque: past `capacity` between two scrapes the
oldest go, counted in `overwritten`. It lived on the bus's dispatch probe before, which
cost every backtest bar a call even where no feed exists to report.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from engine.events.market import Bar, BookDelta, QuoteTick, TradeTick

__all__ = ("DEFAULT_CAPACITY", "InputWindow")

DEFAULT_CAPACITY = 8192
"""Market data inputs kept between two scrapes (more: the newest are kept)."""
MARKET_DATA = frozenset({Bar, QuoteTick, TradeTick, BookDelta})


class InputWindow:
    """The newest `capacity` market data inputs shown since the last `take`."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"capacity {capacity}: must be at least 1")
        self.inputs_seen = 0
        """Market data inputs shown so far (kept or, past `capacity`, overwritten)."""
        self._inputs: deque[Any] = deque(maxlen=capacity)
        self._taken = 0

    def watch(self, message: Any) -> None:
        """Keep `message` if it is market data (the runner's data lane carries others)."""
        if type(message) in MARKET_DATA:
            self._inputs.append(message)
            self.inputs_seen += 1

    def take(self) -> list[Any]:
        """The inputs kept since the last call, oldest first."""
        inputs = list(self._inputs)
        self._inputs.clear()
        self._taken += len(inputs)
        return inputs

    @property
    def overwritten(self) -> int:
        """Inputs shown but overwritten before a `take` (past `capacity`)."""
        return self.inputs_seen - self._taken - len(self._inputs)
