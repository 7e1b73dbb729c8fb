"""The replay driver: recorded data through the graph, in time order, on a simulated clock.

Sources are merged by `ts_init` (ties keep the order the sources were given, so a run is
a function of its inputs). Before each item the clock advances to its time, firing every
timer due on the way at its exact time, so timers and data interleave in timestamp order;
a timer due at the same nanosecond as an item fires first.

Each item then goes through the same three steps as `TradingGraph.process`: the market
cache, the market-driven venues, the bus. This loop runs once per bar of a million-bar
backtest, so it repeats those steps inline with everything bound to locals, and moves the
clock with one comparison while no timer is due (`SimClock.deadline`).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from engine.clock import SimClock
from engine.events.market import BookDelta, FundingRate
from engine.graph import TradingGraph, instrument_of, topic_for
from engine.ports import MarketData

__all__ = ("ReplayDriver", "ReplaySource")

PROGRESS_EVERY: Final = 1 << 16


class ReplaySource:
    """One recorded stream of items in `ts_init` order.

    Give `topic` and `instrument_id` when the stream carries one kind of item for one
    instrument (a bar file): the driver then skips working them out per item.
    """

    def __init__(
        self,
        items: Iterable[MarketData],
        topic: str | None = None,
        instrument_id: str | None = None,
    ) -> None:
        self.items = items
        self.topic = topic
        self.instrument_id = instrument_id


def _keyed(
    index: int, source: ReplaySource
) -> Iterator[tuple[int, int, int, MarketData, str, str]]:
    # (ts_init, source index, position in source) orders every item totally, so the merge
    # never compares items and ties keep source order.
    for position, item in enumerate(source.items):
        yield (
            item.ts_init,
            index,
            position,
            item,
            source.topic or topic_for(item),
            source.instrument_id or instrument_of(item),
        )


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

    def _merged(self) -> Iterator[tuple[MarketData, str, str]]:
        streams = [_keyed(index, source) for index, source in enumerate(self._sources)]
        merged = streams[0] if len(streams) == 1 else heapq.merge(*streams)  # one: in order
        return ((item, topic, instrument) for _, _, _, item, topic, instrument in merged)

    def run(self, *, start: Callable[[], None] | None = None) -> int:
        """Replay everything; call `start` once the clock stands at the first item's time.

        Returns the number of items replayed.
        """
        sources = self._sources
        if len(sources) == 1 and sources[0].topic and sources[0].instrument_id:
            return self._run_single(sources[0], start)
        count = 0
        started = False
        step = self._step
        for item, topic, instrument_id in self._merged():
            if started:
                step(item, topic, instrument_id)
            else:
                # `_start` put the first item in the cache: only venues and bus are left
                # (a book delta applied twice would count an ADD of a level it made).
                started = self._start(item, start)
                self._deliver(item, topic)
            count += 1
            if self._progress is not None and not count & (PROGRESS_EVERY - 1):
                self._progress(count)
        return self._finish(count, started, start)

    def _start(self, item: MarketData, start: Callable[[], None] | None) -> bool:
        ts_ns = item.ts_init
        self._clock.advance_to(ts_ns)
        # The first item is in the cache before anything starts, so a first equity sample
        # (or any on_start) can price what the account holds.
        self._graph.cache.update(item)
        if start is not None:
            start()
            self._clock.advance_to(ts_ns)  # timers set in on_start due at once fire first
        return True

    def _finish(self, count: int, started: bool, start: Callable[[], None] | None) -> int:
        if not started and start is not None:
            start()
        if self._progress is not None:
            self._progress(count)
        self.items_processed = count
        return count

    def _step(self, item: MarketData, topic: str, instrument_id: str) -> None:
        clock = self._clock
        ts = item.ts_init
        if clock.timestamp_ns() <= ts < clock.deadline:
            clock.move_to(ts)
        else:
            clock.advance_to(ts)
        self._graph.process(item, topic)  # the cache, the matching venues, then the bus

    def _deliver(self, item: MarketData, topic: str) -> None:
        # `process` but the cache (the first item is in it already: see `run`)
        self._graph.drive_venues(item)
        self._graph.bus.publish(topic, item)

    def _run_single(self, source: ReplaySource, start: Callable[[], None] | None) -> int:
        # The hot loop: `_step` inlined, for one fixed-topic, one-instrument source.
        graph = self._graph
        clock = self._clock
        last = graph.cache.last
        driven = graph.market_driven_venues
        # The usual backtest's one simulated venue is tested and called directly.
        venue = driven[0] if len(driven) == 1 else _EachVenue(graph)
        publish = graph.bus.publish
        topic = source.topic
        instrument_id = source.instrument_id
        progress = self._progress
        advance_to = clock.advance_to
        count = 0
        now = -1
        items = iter(source.items)
        for item in items:
            if type(item) is FundingRate:
                raise TypeError(
                    f"replay source {topic}: funding rates alone set no price; replay them "
                    "beside the instrument's bars, trades or quotes"
                )
            if type(item) is BookDelta:
                raise TypeError(
                    f"replay source {topic}: a fixed-topic source carries bars, trades or "
                    "quotes (book deltas set no price); give book deltas no fixed topic"
                )
            started = self._start(item, start)
            count = 1
            now = item.ts_init
            last[instrument_id] = item  # type: ignore[index,assignment]
            if venue.matching:
                venue.process_market_data(item)
            publish(topic, item)  # type: ignore[arg-type]
            break
        else:
            return self._finish(0, False, start)
        for count, item in enumerate(items, 2):  # counted from the first, taken above
            ts = item.ts_init
            if now <= ts < clock.deadline:
                clock.now_ns = ts  # `move_to`, inlined: no timer is due before ts
            else:
                advance_to(ts)
            now = ts
            last[instrument_id] = item  # type: ignore[index,assignment]
            if venue.matching:  # an idle venue (no order working) is not called
                venue.process_market_data(item)
            publish(topic, item)  # type: ignore[arg-type]
            if progress is not None and not count & (PROGRESS_EVERY - 1):
                progress(count)
        return self._finish(count, started, start)


class _EachVenue:
    """Several market-driven venues (or none) as one for the hot loop: the graph hands an
    item to each that is matching (`TradingGraph.drive_venues`)."""

    matching = True

    def __init__(self, graph: TradingGraph) -> None:
        self.process_market_data = graph.drive_venues
