"""The market data actor: subscriptions, and bars the feed does not carry.

Strategies ask for data with `SubscribeBars` / `SubscribeTradeTicks` at
`DATA_SUBSCRIBE`, and subscribe to the data topic themselves. If the requested bars
come straight from a source (the graph tells this actor what its sources carry), there
is nothing to do: the kernel publishes them. Otherwise this actor builds them: from the
largest available bar timeframe that divides the requested one, or from trade ticks.
A request nothing can satisfy is counted and logged, not an error: a strategy may
subscribe before a live feed knows its instruments.

With a live venue, data comes from its market data client, which registers
`data_endpoint(venue)`. A subscription no source of the graph serves is then forwarded
there, once however many strategies ask (counted per stream), and an unsubscribe is
forwarded when the last strategy that wanted the stream lets it go. The client restores
its subscriptions after a reconnect by itself.
"""

from __future__ import annotations

import logging
from typing import ClassVar

import msgspec

from engine.actor import Actor
from engine.actors.aggregation import TimeBarBuilder
from engine.domain.ids import split_instrument_id
from engine.events.base import Command
from engine.events.market import (
    Bar,
    BarType,
    SubscribeBars,
    SubscribeOrderBook,
    SubscribeQuoteTicks,
    SubscribeTradeTicks,
    TradeTick,
    UnsubscribeMarketData,
)
from engine.events.system import TimerFired
from engine.snapshot import counters_of, set_counters
from engine.topics import DATA_SUBSCRIBE, bars_topic, data_endpoint, trades_topic

__all__ = (
    "MarketDataActor",
    "MarketDataSnapshot",
    "MarketDataStatistics",
)

logger = logging.getLogger(__name__)


class MarketDataStatistics(msgspec.Struct, frozen=True, kw_only=True):
    bar_subscriptions: int
    aggregated_bar_types: tuple[str, ...]
    bars_built: int
    unavailable_subscriptions: int
    forwarded_subscriptions: tuple[str, ...] = ()
    """Streams asked of venues' market data clients now (kind, instrument, timeframe)."""


_COUNTERS = ("_subscriptions", "_built", "_unavailable")
_Window = tuple[int, float, float, float, float, float]


class MarketDataSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The bars being built (by bar type) and the streams asked of venues (by key)."""

    windows: list[tuple[str, _Window | None]]
    forwarded: list[tuple[tuple[str, str, str | None], int]]
    counters: dict[str, int]


class MarketDataActor(Actor):
    """Serve subscriptions; aggregate time bars where the sources lack a timeframe."""

    def __init__(
        self,
        *,
        bar_types: list[BarType] | None = None,
        trade_instruments: list[str] | None = None,
        actor_id: str = "data",
    ) -> None:
        super().__init__(actor_id)
        self._available = list(bar_types or [])
        self._trade_instruments = set(trade_instruments or [])
        self._builders: dict[BarType, TimeBarBuilder] = {}
        self._builders_by_source: dict[str, list[TimeBarBuilder]] = {}
        self._tick_builders: dict[str, list[TimeBarBuilder]] = {}
        self._subscriptions = 0
        self._built = 0
        self._unavailable = 0
        self._forwarded: dict[tuple[str, str, str | None], int] = {}  # stream -> wanters

    def add_source(self, bar_type: BarType) -> None:
        """Declare that a source carries `bar_type` (the graph calls this at wiring time)."""
        if bar_type not in self._available:
            self._available.append(bar_type)

    def add_trade_source(self, instrument_id: str) -> None:
        self._trade_instruments.add(instrument_id)

    def on_start(self) -> None:
        self.register_endpoint(DATA_SUBSCRIBE)

    # -- snapshots (engine.snapshot) ------------------------------------------------------

    snapshot_type: ClassVar[type[msgspec.Struct]] = MarketDataSnapshot

    def snapshot_state(self) -> MarketDataSnapshot:
        return MarketDataSnapshot(
            windows=[(str(bar_type), b.window()) for bar_type, b in self._builders.items()],
            forwarded=list(self._forwarded.items()),
            counters=counters_of(self, _COUNTERS),
        )

    def restore_state(self, state: MarketDataSnapshot) -> None:
        """Restore the pending bars of the builders the (re)started graph asked for again;
        a different set of builders is refused (a snapshot of another wiring)."""
        builders = {str(bar_type): builder for bar_type, builder in self._builders.items()}
        if sorted(builders) != sorted(name for name, _ in state.windows):
            raise ValueError(f"market data snapshot: bar builders {sorted(builders)} now, "
                             f"{sorted(name for name, _ in state.windows)} in the snapshot")
        for name, window in state.windows:
            builders[name].restore_window(window)
        self._forwarded = dict(state.forwarded)
        set_counters(self, state.counters, _COUNTERS)

    def statistics(self) -> MarketDataStatistics:
        return MarketDataStatistics(
            bar_subscriptions=self._subscriptions,
            aggregated_bar_types=tuple(sorted(str(b) for b in self._builders)),
            bars_built=self._built,
            unavailable_subscriptions=self._unavailable,
            forwarded_subscriptions=tuple(
                ":".join(part for part in key if part) for key in self._forwarded
            ),
        )

    # -- subscriptions -------------------------------------------------------------------

    def on_subscribe_bars(self, command: SubscribeBars) -> None:
        self._subscriptions += 1
        target = command.bar_type
        if target in self._available or target in self._builders:
            return
        if self._forward(("bars", target.instrument_id, target.timeframe), command):
            return
        source = self._best_source(target)
        builder = TimeBarBuilder(target, self._emit)
        if source is not None:
            self._builders[target] = builder
            topic = bars_topic(source.instrument_id, source.timeframe)
            if topic not in self._builders_by_source:
                self._builders_by_source[topic] = []
                self._bus.subscribe(topic, self._on_source_bar, owner=self._id)
            self._builders_by_source[topic].append(builder)
        elif target.instrument_id in self._trade_instruments:
            self._builders[target] = builder
            topic = trades_topic(target.instrument_id)
            if topic not in self._tick_builders:
                self._tick_builders[topic] = []
                self._bus.subscribe(topic, self._on_source_trade, owner=self._id)
            self._tick_builders[topic].append(builder)
        else:
            self._unavailable += 1
            logger.warning("bars %s: no source carries them or anything to build them from",
                           target)

    def on_subscribe_trade_ticks(self, command: SubscribeTradeTicks) -> None:
        if command.instrument_id in self._trade_instruments:
            return
        if not self._forward(("trades", command.instrument_id, None), command):
            self._unavailable += 1
            logger.warning("trade ticks of %s: no source carries them", command.instrument_id)

    def on_subscribe_quote_ticks(self, command: SubscribeQuoteTicks) -> None:
        # Recorded quotes are published as they come; only a live venue is asked.
        self._forward(("quotes", command.instrument_id, None), command)

    def on_subscribe_order_book(self, command: SubscribeOrderBook) -> None:
        self._forward(("book", command.instrument_id, None), command)

    def on_unsubscribe_market_data(self, command: UnsubscribeMarketData) -> None:
        key = (command.stream, command.instrument_id, command.timeframe)
        wanted = self._forwarded.get(key)
        if wanted is None:
            return
        if wanted > 1:
            self._forwarded[key] = wanted - 1
            return
        del self._forwarded[key]
        endpoint = self._data_endpoint(command.instrument_id)
        if endpoint is not None:
            self._bus.send(endpoint, command)

    def _forward(self, key: tuple[str, str, str | None], command: Command) -> bool:
        """Ask the venue's market data client for a stream; False when there is none."""
        endpoint = self._data_endpoint(key[1])
        if endpoint is None:
            return False
        wanted = self._forwarded.get(key, 0)
        self._forwarded[key] = wanted + 1
        if not wanted:
            self._bus.send(endpoint, command)
        return True

    def _data_endpoint(self, instrument_id: str) -> str | None:
        try:
            _, venue = split_instrument_id(instrument_id)
        except ValueError:
            return None
        endpoint = data_endpoint(venue)
        return endpoint if self._bus.has_endpoint(endpoint) else None

    def _best_source(self, target: BarType) -> BarType | None:
        step = target.step_ns
        candidates = [
            b
            for b in self._available
            if b.instrument_id == target.instrument_id
            and b.step_ns < step
            and step % b.step_ns == 0
        ]
        return max(candidates, key=lambda b: b.step_ns, default=None)

    # -- building --------------------------------------------------------------------------

    def _on_source_bar(self, bar: Bar) -> None:
        now = self._clock.timestamp_ns()
        for builder in self._builders_by_source[self._topic_of(bar)]:
            end = builder.window_end_for(bar.ts_event, closing=True)
            builder.add(end, bar.open, bar.high, bar.low, bar.close, bar.volume, now)
            if bar.ts_event == end:
                builder.flush(now)

    def _on_source_trade(self, tick: TradeTick) -> None:
        now = self._clock.timestamp_ns()
        for builder in self._tick_builders[trades_topic(tick.instrument_id)]:
            end = builder.window_end_for(tick.ts_event, closing=False)
            pending = builder.window_end
            builder.add(end, tick.price, tick.price, tick.price, tick.price, tick.size, now)
            if pending != end:
                self.set_time_alert(self._alert_name(builder, end), end)

    def on_timer(self, event: TimerFired) -> None:
        for builders in self._tick_builders.values():
            for builder in builders:
                if builder.window_end is not None and builder.window_end <= event.ts_event:
                    builder.flush(event.ts_event)

    @staticmethod
    def _alert_name(builder: TimeBarBuilder, end: int) -> str:
        return f"bars-{builder.bar_type}-{end}"

    @staticmethod
    def _topic_of(bar: Bar) -> str:
        return bars_topic(bar.bar_type.instrument_id, bar.bar_type.timeframe)

    def _emit(self, bar: Bar) -> None:
        self._built += 1
        self._bus.publish(bars_topic(bar.bar_type.instrument_id, bar.bar_type.timeframe), bar)
