"""The market data actor and time-bar aggregation, driven like the replay driver does."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from engine.actors.aggregation import TimeBarBuilder
from engine.actors.market_data import MarketDataActor
from engine.bus import MessageBus
from engine.clock import SimClock
from engine.events.base import Message
from engine.events.market import (
    Bar,
    BarType,
    SubscribeBars,
    SubscribeTradeTicks,
    TradeTick,
    timeframe_ns,
)
from engine.topics import DATA_SUBSCRIBE, bars_topic, trades_topic

BTC = "BTC/USDT.SIM"
ETH = "ETH/USDT.SIM"
MINUTE = timeframe_ns("1m")
BTC_1M = BarType(instrument_id=BTC, timeframe="1m")
BTC_5M = BarType(instrument_id=BTC, timeframe="5m")
BTC_15M = BarType(instrument_id=BTC, timeframe="15m")
ETH_1M = BarType(instrument_id=ETH, timeframe="1m")


def make_bar(bar_type: BarType, close_ns: int, open_: float, high: float, low: float,
             close: float, volume: float = 1.0) -> Bar:
    return Bar(bar_type=bar_type, open=open_, high=high, low=low, close=close, volume=volume,
               ts_event=close_ns, ts_init=close_ns)


def minute_bar(minute: int, price: float, volume: float = 1.0) -> Bar:
    """A 1m BTC bar closing at `minute`, around `price`."""
    return make_bar(BTC_1M, minute * MINUTE, price, price + 1, price - 1, price + 0.5, volume)


def trade(ts_ns: int, price: float, size: float = 1.0) -> TradeTick:
    return TradeTick(instrument_id=ETH, price=price, size=size, ts_event=ts_ns, ts_init=ts_ns)


class Harness:
    def __init__(self, **sources: Any) -> None:
        self.bus = MessageBus()
        self.clock = SimClock()
        self.actor = MarketDataActor(**sources)
        self.actor.register(self.bus, self.clock)
        self.actor.start()

    def subscribe(self, bar_type: BarType) -> list[Bar]:
        """Ask for `bar_type` like a strategy does, and collect what its topic carries."""
        received: list[Bar] = []
        self.bus.subscribe(bars_topic(bar_type.instrument_id, bar_type.timeframe),
                           received.append)
        now = self.clock.timestamp_ns()
        self.bus.send(DATA_SUBSCRIBE, SubscribeBars(bar_type=bar_type, ts_event=now, ts_init=now))
        return received

    def feed(self, message: Bar | TradeTick) -> None:
        """Advance the clock to the message (timers first), then publish it."""
        self.clock.advance_to(message.ts_init)
        if isinstance(message, Bar):
            topic = bars_topic(message.bar_type.instrument_id, message.bar_type.timeframe)
        else:
            topic = trades_topic(message.instrument_id)
        self.bus.publish(topic, message)


def ohlcv(bar: Bar) -> tuple[Any, ...]:
    return (bar.ts_event, bar.open, bar.high, bar.low, bar.close, bar.volume)


# -- subscriptions -----------------------------------------------------------------------------


def test_subscribe_bars_a_source_carries_builds_nothing() -> None:
    harness = Harness(bar_types=[BTC_1M])
    received = harness.subscribe(BTC_1M)
    harness.feed(minute_bar(1, 100))
    assert [b.ts_event for b in received] == [MINUTE]
    stats = harness.actor.statistics()
    assert (stats.bar_subscriptions, stats.aggregated_bar_types, stats.bars_built) == (1, (), 0)


def test_subscribe_bars_unavailable_is_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    harness = Harness(bar_types=[BTC_1M])
    with caplog.at_level(logging.WARNING):
        harness.subscribe(ETH_1M)
        harness.subscribe(BarType(instrument_id=BTC, timeframe="90s"))  # 1m does not divide it
    assert harness.actor.statistics().unavailable_subscriptions == 2
    assert "no source carries them" in caplog.text


def test_subscribe_trade_ticks_unavailable_is_counted() -> None:
    harness = Harness(trade_instruments=[ETH])
    for instrument in (ETH, BTC):
        harness.bus.send(DATA_SUBSCRIBE,
                         SubscribeTradeTicks(instrument_id=instrument, ts_event=0, ts_init=0))
    assert harness.actor.statistics().unavailable_subscriptions == 1


def test_subscribe_same_aggregated_bars_twice_builds_once() -> None:
    harness = Harness(bar_types=[BTC_1M])
    first = harness.subscribe(BTC_5M)
    second = harness.subscribe(BTC_5M)
    for minute in range(1, 6):
        harness.feed(minute_bar(minute, 100))
    assert len(first) == 1 and second == first
    stats = harness.actor.statistics()
    assert (stats.bar_subscriptions, stats.aggregated_bar_types, stats.bars_built) == (
        2, ("BTC/USDT.SIM@5m",), 1)


# -- aggregation from bars ---------------------------------------------------------------------


def test_five_minute_bars_from_one_minute_bars_have_exact_ohlcv() -> None:
    harness = Harness(bar_types=[BTC_1M])
    received = harness.subscribe(BTC_5M)
    prices = [100, 103, 98, 101, 105, 110, 111, 109, 108, 112]
    for minute, price in enumerate(prices, start=1):
        harness.feed(minute_bar(minute, price, volume=minute))
    assert [ohlcv(b) for b in received] == [
        (5 * MINUTE, 100, 106, 97, 105.5, 15.0),
        (10 * MINUTE, 110, 113, 107, 112.5, 40.0),
    ]
    assert all(b.bar_type == BTC_5M and b.ts_init == b.ts_event for b in received)


def test_aggregation_window_is_emitted_when_its_last_bar_arrives_not_later() -> None:
    harness = Harness(bar_types=[BTC_1M])
    received = harness.subscribe(BTC_5M)
    for minute in range(1, 5):
        harness.feed(minute_bar(minute, 100))
    assert received == []
    harness.feed(minute_bar(5, 100))
    assert len(received) == 1


def test_aggregation_gap_closes_open_window_before_the_next() -> None:
    harness = Harness(bar_types=[BTC_1M])
    received = harness.subscribe(BTC_5M)
    for minute in (1, 2, 3, 4, 7):  # the bar closing at 5 is missing
        harness.feed(minute_bar(minute, 100 + minute))
    assert [(b.ts_event, b.ts_init, b.open, b.close) for b in received] == [
        (5 * MINUTE, 7 * MINUTE, 101, 104.5)
    ]


def test_aggregation_uses_largest_dividing_source() -> None:
    harness = Harness(bar_types=[BTC_1M, BTC_5M])
    received = harness.subscribe(BTC_15M)
    for index, price in enumerate([100.0, 120.0, 90.0], start=1):
        for minute in range(5 * index - 4, 5 * index + 1):
            harness.feed(minute_bar(minute, 1_000))  # not the source of 15m: ignored
        harness.feed(make_bar(BTC_5M, index * 5 * MINUTE, price, price + 5, price - 5, price))
    assert [ohlcv(b) for b in received] == [(15 * MINUTE, 100.0, 125.0, 85.0, 90.0, 3.0)]


def test_stopped_actor_builds_nothing_more() -> None:
    harness = Harness(bar_types=[BTC_1M])
    received = harness.subscribe(BTC_5M)
    harness.actor.stop()
    for minute in range(1, 6):
        harness.feed(minute_bar(minute, 100))
    assert received == []


def test_add_source_after_construction_is_used() -> None:
    harness = Harness()
    harness.actor.add_source(BTC_1M)
    harness.actor.add_source(BTC_1M)
    received = harness.subscribe(BTC_5M)
    for minute in range(1, 6):
        harness.feed(minute_bar(minute, 100))
    assert len(received) == 1


# -- aggregation from trades -------------------------------------------------------------------


def test_bars_from_trades_are_emitted_at_the_boundary_by_a_timer() -> None:
    harness = Harness(trade_instruments=[ETH])
    received = harness.subscribe(ETH_1M)
    seconds = 1_000_000_000
    for ts, price in [(5, 10.0), (20, 12.0), (59, 9.0)]:
        harness.feed(trade(ts * seconds, price, size=2.0))
    assert received == []
    harness.clock.advance_to(MINUTE)  # no more trades: the alert closes the window
    assert [ohlcv(b) for b in received] == [(MINUTE, 10.0, 12.0, 9.0, 9.0, 6.0)]
    assert received[0].ts_init == MINUTE


def test_bars_from_trades_trade_on_boundary_opens_next_window() -> None:
    harness = Harness(trade_instruments=[ETH])
    received = harness.subscribe(ETH_1M)
    harness.feed(trade(30 * 1_000_000_000, 10.0))
    harness.feed(trade(MINUTE, 11.0))  # at 1m exactly: belongs to [1m, 2m)
    harness.feed(trade(MINUTE + 1, 12.0))
    harness.clock.advance_to(3 * MINUTE)
    assert [ohlcv(b) for b in received] == [
        (MINUTE, 10.0, 10.0, 10.0, 10.0, 1.0),
        (2 * MINUTE, 11.0, 12.0, 11.0, 12.0, 2.0),
    ]


def test_bars_from_trades_quiet_window_emits_nothing() -> None:
    harness = Harness(trade_instruments=[ETH])
    received = harness.subscribe(ETH_1M)
    harness.feed(trade(1, 10.0))
    harness.feed(trade(3 * MINUTE + 1, 11.0))
    harness.clock.advance_to(10 * MINUTE)
    assert [b.ts_event for b in received] == [MINUTE, 4 * MINUTE]
    assert harness.actor.statistics().bars_built == 2


# -- the builder -----------------------------------------------------------------------------


def test_builder_window_end_for_close_time_and_instant() -> None:
    builder = TimeBarBuilder(BTC_5M, lambda bar: None)
    five = 5 * MINUTE
    assert builder.window_end_for(five, closing=True) == five
    assert builder.window_end_for(five + 1, closing=True) == 2 * five
    assert builder.window_end_for(five, closing=False) == 2 * five
    assert builder.window_end_for(five - 1, closing=False) == five


def test_builder_flush_without_data_emits_nothing() -> None:
    emitted: list[Message] = []
    builder = TimeBarBuilder(BTC_5M, emitted.append)
    builder.flush(0)
    assert emitted == [] and builder.window_end is None


def test_builder_add_to_new_window_flushes_pending_first() -> None:
    emitted: list[Bar] = []
    builder = TimeBarBuilder(BTC_5M, emitted.append)
    builder.add(300, 1.0, 2.0, 0.5, 1.5, 1.0, now_ns=100)
    builder.add(300, 1.5, 3.0, 1.0, 2.5, 2.0, now_ns=200)
    builder.add(600, 9.0, 9.0, 9.0, 9.0, 1.0, now_ns=400)
    assert [ohlcv(b) for b in emitted] == [(300, 1.0, 3.0, 0.5, 2.5, 3.0)]
    assert emitted[0].ts_init == 400
    assert builder.window_end == 600
