"""The replay driver: recorded data through the graph, in time order, on a simulated clock.

Sources are merged by `ts_init` (ties keep the order the sources were given, so a run is
a function of its inputs). Before each item the clock advances to its time, firing every
timer due on the way at its exact time, so timers and data interleave in timestamp order;
a timer due at the same nanosecond as an item fires first.

This loop runs once per bar of a million-bar backtest: it binds what it calls to locals
and skips the timer machinery while no timer is due.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from engine.clock import SimClock
from engine.graph import TradingGraph, topic_for
from engine.ports import MarketData

__all__ = ("ReplayDriver", "ReplaySource")

PROGRESS_EVERY: Final = 1 << 16


class ReplaySource:
    """One recorded stream and, when it carries one kind only, its fixed topic."""

    def __init__(self, items: Iterable[MarketData], topic: str | None = None) -> None:
        self.items = items
        self.topic = topic


class ReplayDriver:
    """Feed sources into a graph on a `SimClock` until they run out."""

    def __init__(
        self,
        graph: TradingGraph,
        clock: SimClock,
        sources: list[ReplaySource],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self._graph = graph
        self._clock = clock
        self._sources = sources
        self._progress = progress
        self.items_processed = 0

    def _merged(self) -> Iterator[tuple[MarketData, str | None]]:
        if len(self._sources) == 1:
            source = self._sources[0]
            return ((item, source.topic) for item in source.items)
        streams = [
            ((item.ts_init, index, item, source.topic) for item in source.items)
            for index, source in enumerate(self._sources)
        ]
        return ((item, topic) for _, _, item, topic in heapq.merge(*streams))

    def run(self, *, start: Callable[[], None] | None = None) -> int:
        """Replay everything; call `start` once the clock stands at the first item's time.

        Returns the number of items replayed.
        """
        graph = self._graph
        clock = self._clock
        cache_update = graph.cache.update
        driven = [venue.on_market_data for venue in graph._driven]
        publish = graph.bus.publish
        progress = self._progress
        count = 0
        started = False
        for item, fixed_topic in self._merged():
            ts = item.ts_init
            if not started:
                clock.advance_to(ts)
                if start is not None:
                    start()
                started = True
            clock.advance_to(ts)
            cache_update(item)
            for on_market_data in driven:
                on_market_data(item)
            publish(fixed_topic or topic_for(item), item)
            count += 1
            if progress is not None and not count & (PROGRESS_EVERY - 1):
                progress(count)
        if not started and start is not None:
            start()
        if progress is not None:
            progress(count)
        self.items_processed = count
        return count
