"""The replay driver: merge order, timers interleaved with data, start time, both code paths."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given, strategies as st

from adapters.sim.venue import SimVenue, SimVenueConfig
from engine.actor import Actor
from engine.actors.risk import RiskConfig
from engine.backtest import BacktestResult, BacktestSettings, run_backtest
from engine.cache import MarketCache
from engine.clock import SimClock
from engine.domain.enums import BookAction, OrderSide
from engine.events.market import Bar, BarType, BookDelta, Instrument, TradeTick
from engine.events.system import TimerFired
from engine.graph import TradingGraph
from engine.instruments import InstrumentRegistry
from engine.replay import ReplayDriver, ReplaySource
from engine.strategy import Strategy
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    make_bars,
    make_graph,
    make_instrument,
    make_portfolio_config,
)
from engine.topics import ALL_DATA, bars_topic, trades_topic
from strategies.sma_cross import SmaCross, SmaCrossConfig

MINUTE = 60_000_000_000
T0 = 19_700 * 86_400_000_000_000
ID = INSTRUMENT_ID
ETH = "ETH/USDT.SIM"
ETH_BAR_TYPE = BarType(instrument_id=ETH, timeframe="1m")


def bars_at(minutes: list[int], bar_type: BarType = BAR_TYPE, price: float = 100.0) -> list[Bar]:
    """One bar per minute offset, closing at T0 + minute."""
    return [
        Bar(bar_type=bar_type, open=price, high=price, low=price, close=price, volume=1.0,
            ts_event=T0 + minute * MINUTE, ts_init=T0 + minute * MINUTE)
        for minute in minutes
    ]


def two_instrument_graph() -> TradingGraph:
    eth = make_instrument(instrument_id=ETH, symbol="ETH/USDT", base_currency="ETH")
    return make_graph(instruments=[make_instrument(), eth])


def sim_clock(graph: TradingGraph) -> SimClock:
    assert isinstance(graph.clock, SimClock)
    return graph.clock


def record_data(graph: TradingGraph) -> list[Any]:
    seen: list[Any] = []
    graph.bus.subscribe(ALL_DATA, lambda m: None if isinstance(m, Instrument) else seen.append(m))
    return seen


def single(bars: list[Bar]) -> list[ReplaySource]:
    """One fixed-topic source: the driver's fast path."""
    return [ReplaySource(bars, bars_topic(ID, "1m"), ID)]


def general(bars: list[Bar]) -> list[ReplaySource]:
    """The same items without a fixed topic: the general, merging path."""
    return [ReplaySource(bars)]


PATHS = pytest.mark.parametrize("sources_of", [single, general], ids=["single", "general"])


# -- merging -----------------------------------------------------------------------------------


def test_replay_merges_sources_by_ts_init_with_ties_in_source_order() -> None:
    graph = two_instrument_graph()
    seen = record_data(graph)
    btc = ReplaySource(bars_at([1, 3, 5]))
    eth = ReplaySource(bars_at([1, 2, 5], ETH_BAR_TYPE))
    driver = ReplayDriver(graph, sim_clock(graph), [btc, eth])

    count = driver.run(start=graph.start)

    assert [(b.bar_type.instrument_id, (b.ts_init - T0) // MINUTE) for b in seen] == [
        (ID, 1), (ETH, 1), (ETH, 2), (ID, 3), (ID, 5), (ETH, 5)]
    assert count == driver.items_processed == 6


def test_replay_ties_follow_the_order_the_sources_are_given() -> None:
    graph = two_instrument_graph()
    seen = record_data(graph)
    sources = [ReplaySource(bars_at([1, 5], ETH_BAR_TYPE)), ReplaySource(bars_at([1, 5]))]

    ReplayDriver(graph, sim_clock(graph), sources).run(start=graph.start)

    assert [b.bar_type.instrument_id for b in seen] == [ETH, ID, ETH, ID]


def test_replay_publishes_each_fixed_topic_source_on_its_own_topic() -> None:
    graph = two_instrument_graph()
    seen = record_data(graph)
    on_eth_topic: list[Any] = []
    graph.bus.subscribe(bars_topic(ETH, "1m"), on_eth_topic.append)
    sources = [
        ReplaySource(bars_at([1, 3]), bars_topic(ID, "1m"), ID),
        ReplaySource(bars_at([2, 4], ETH_BAR_TYPE), bars_topic(ETH, "1m"), ETH),
    ]

    ReplayDriver(graph, sim_clock(graph), sources).run(start=graph.start)

    assert [b.bar_type.instrument_id for b in seen] == [ID, ETH, ID, ETH]
    assert [b.bar_type.instrument_id for b in on_eth_topic] == [ETH, ETH]
    assert graph.cache.last_bar(ID) == bars_at([3])[0]


def test_replay_routes_mixed_items_of_one_source_to_their_own_topics() -> None:
    graph = make_graph()
    bars: list[Any] = []
    trades: list[Any] = []
    graph.bus.subscribe(bars_topic(ID, "1m"), bars.append)
    graph.bus.subscribe(trades_topic(ID), trades.append)
    trade = TradeTick(instrument_id=ID, price=101.0, size=1.0, ts_event=T0 + 90 * 10**9,
                      ts_init=T0 + 90 * 10**9)
    items: list[Any] = [*bars_at([1]), trade, *bars_at([2])]

    ReplayDriver(graph, sim_clock(graph), [ReplaySource(items)]).run(start=graph.start)

    assert (len(bars), trades) == (2, [trade])
    assert graph.cache.last_price(ID) == 100.0


# -- clock and timers -----------------------------------------------------------------------------


class Timed(Strategy):
    """Record bars and timers with the clock's time when each was handled."""

    def __init__(self) -> None:
        super().__init__("timed")
        self.log: list[tuple[str, int, int]] = []

    def on_start(self) -> None:
        self.log.append(("start", self.clock.timestamp_ns() - T0, 0))
        self.subscribe_bars(BAR_TYPE)
        self.set_timer("every2", 2 * MINUTE)
        self.set_time_alert("mid", T0 + 90 * 10**9)

    def on_bar(self, bar: Bar) -> None:
        self.log.append(("bar", bar.ts_init - T0, self.clock.timestamp_ns() - T0))

    def on_timer(self, event: TimerFired) -> None:
        self.log.append((event.name, event.ts_event - T0, self.clock.timestamp_ns() - T0))


@PATHS
def test_replay_fires_timers_at_their_exact_time_before_data_at_the_same_time(
    sources_of: Any,
) -> None:
    graph = make_graph()
    strategy = Timed()
    graph.add_bar_source(BAR_TYPE)
    graph.add_strategy(strategy)

    ReplayDriver(graph, sim_clock(graph), sources_of(bars_at([1, 2, 3, 4, 5, 6]))).run(
        start=graph.start)

    m, s = MINUTE, 10**9
    assert strategy.log == [
        ("start", m, 0),
        ("bar", m, m),
        ("mid", 90 * s, 90 * s),
        ("bar", 2 * m, 2 * m),
        ("every2", 3 * m, 3 * m),
        ("bar", 3 * m, 3 * m),
        ("bar", 4 * m, 4 * m),
        ("every2", 5 * m, 5 * m),
        ("bar", 5 * m, 5 * m),
        ("bar", 6 * m, 6 * m),
    ]


@PATHS
def test_replay_calls_start_with_the_clock_at_the_first_items_time(sources_of: Any) -> None:
    graph = make_graph()
    clock = sim_clock(graph)
    times: list[int] = []

    def start() -> None:
        times.append(clock.timestamp_ns())
        graph.start()

    ReplayDriver(graph, clock, sources_of(bars_at([7, 8]))).run(start=start)

    assert times == [T0 + 7 * MINUTE]
    assert clock.timestamp_ns() == T0 + 8 * MINUTE


@PATHS
def test_replay_of_an_empty_source_still_calls_start_once(sources_of: Any) -> None:
    graph = make_graph()
    calls: list[int] = []
    progress: list[int] = []

    count = ReplayDriver(graph, sim_clock(graph), sources_of([]), progress=progress.append).run(
        start=lambda: calls.append(1))

    assert (count, calls, progress) == (0, [1], [0])


def test_replay_of_no_sources_still_calls_start_once() -> None:
    graph = make_graph()
    calls: list[int] = []

    count = ReplayDriver(graph, sim_clock(graph), []).run(start=lambda: calls.append(1))

    assert (count, calls) == (0, [1])


@PATHS
def test_replay_reports_progress_with_the_final_count(sources_of: Any) -> None:
    graph = make_graph()
    progress: list[int] = []

    ReplayDriver(graph, sim_clock(graph), sources_of(bars_at([1, 2, 3])),
                 progress=progress.append).run(start=graph.start)

    assert progress == [3]


class AlertsAtStart(Timed):
    def on_start(self) -> None:
        super().on_start()
        self.set_time_alert("now", self.clock.timestamp_ns())


@PATHS
def test_replay_timer_set_in_on_start_for_the_first_items_time_fires_before_it(
    sources_of: Any,
) -> None:
    graph = make_graph()
    strategy = AlertsAtStart()
    graph.add_bar_source(BAR_TYPE)
    graph.add_strategy(strategy)

    ReplayDriver(graph, sim_clock(graph), sources_of(bars_at([1, 2]))).run(start=graph.start)

    assert strategy.log[:4] == [
        ("start", MINUTE, 0), ("now", MINUTE, MINUTE), ("bar", MINUTE, MINUTE),
        ("mid", 90 * 10**9, 90 * 10**9)]


# -- the two paths agree --------------------------------------------------------------------------

CLOSES = [100.0, 99.0, 98.0, 97.0, 98.0, 100.0, 103.0, 105.0, 104.0, 101.0, 98.0, 96.0,
          97.0, 99.0, 102.0, 104.0, 103.0, 100.0, 97.0, 95.0]


def backtest(sources: list[ReplaySource]) -> tuple[BacktestResult, list[tuple[str, bytes]]]:
    """Run SMA(2)/SMA(4) over CLOSES and record every message the bus routes, encoded."""
    journal: list[tuple[str, bytes]] = []
    cache = MarketCache()
    instruments = [make_instrument()]
    venue = SimVenue(SimVenueConfig(), InstrumentRegistry(instruments), cache=cache)
    strategy = SmaCross("sma", SmaCrossConfig(instrument_id=ID, fast_period=2, slow_period=4))

    result = run_backtest(
        settings=BacktestSettings(fail_fast=True),
        instruments=instruments,
        sources=sources,
        bar_types=[BAR_TYPE],
        venues=[venue],
        strategies=[strategy],
        portfolio=make_portfolio_config(equity_interval_ns=5 * MINUTE),
        risk=RiskConfig(),
        observe=lambda graph: graph.bus.add_observer(
            lambda topic, message: journal.append((topic, msgspec.msgpack.encode(message)))),
        cache=cache,
    )
    return result, journal


def test_replay_single_and_general_paths_route_byte_identical_messages() -> None:
    bars = make_bars(CLOSES, start_ns=T0)

    fast_result, fast = backtest(single(bars))
    general_result, merged = backtest(general(bars))
    _, padded = backtest([ReplaySource(bars), ReplaySource([])])

    assert len(fast_result.fills) >= 4  # the run trades, so the comparison means something
    assert any(topic == "direct" for topic, _ in fast)  # and timers fired in it
    assert fast == merged == padded
    assert msgspec.json.encode(fast_result) == msgspec.json.encode(general_result)


# -- property: a stable merge by ts_init -------------------------------------------------------

timestamp_lists = st.lists(st.integers(min_value=0, max_value=6), max_size=6).map(sorted)


@given(st.lists(timestamp_lists, min_size=1, max_size=4))
def test_replay_merge_is_sorted_by_ts_init_and_stable(sources: list[list[int]]) -> None:
    graph = make_graph()
    seen: list[tuple[int, int, int]] = []
    graph.bus.subscribe(trades_topic(ID), lambda t: seen.append(
        (t.ts_init, *map(int, t.trade_id.split(":")))))
    replay_sources = [
        ReplaySource([
            TradeTick(instrument_id=ID, price=100.0, size=1.0, trade_id=f"{s}:{i}",
                      ts_event=ts, ts_init=ts)
            for i, ts in enumerate(timestamps)
        ])
        for s, timestamps in enumerate(sources)
    ]

    ReplayDriver(graph, sim_clock(graph), replay_sources).run(start=graph.start)

    expected = sorted(
        (ts, s, i) for s, timestamps in enumerate(sources) for i, ts in enumerate(timestamps))
    assert seen == expected
    assert [ts for ts, _, _ in seen] == sorted(ts for ts, _, _ in seen)


def test_replay_single_path_leaves_the_cache_at_the_last_item() -> None:
    graph = make_graph()
    bars = make_bars([100.0, 101.5], start_ns=T0)

    ReplayDriver(graph, sim_clock(graph), single(bars)).run(start=graph.start)

    assert graph.cache.last_bar(ID) == bars[-1]
    assert graph.portfolio.equity() == Decimal(100_000)


# -- book deltas -------------------------------------------------------------------------------


def test_replay_applies_the_first_book_delta_to_the_book_once() -> None:
    graph = make_graph()
    deltas = [
        BookDelta(instrument_id=ID, side=OrderSide.BUY, action=BookAction.ADD, price=99.0,
                  size=1.0, ts_event=T0 + offset, ts_init=T0 + offset)
        for offset in (0, 1)
    ]

    ReplayDriver(graph, sim_clock(graph), [ReplaySource(deltas)]).run(start=graph.start)

    book = graph.cache.order_book(ID)
    assert book is not None
    statistics = book.statistics()
    assert statistics.deltas_applied == 2
    assert statistics.existing_level_adds == 1  # the second delta's, not the first's twice


# -- market-driven venues: called only while matching ------------------------------------------


class CountingVenue(Actor):
    """A market-driven venue stub: matches (is called) only on the minutes it is told."""

    def __init__(self, actor_id: str, matching_from: int) -> None:
        super().__init__(actor_id)
        self.matching = False
        self.matching_from = matching_from
        self.seen: list[int] = []

    def process_market_data(self, message: Any) -> None:
        self.seen.append((message.ts_init - T0) // MINUTE)


class Switcher(Strategy):
    """Turns the venues' `matching` on at their minute, as an order accepted there would."""

    def __init__(self, venues: list[CountingVenue]) -> None:
        super().__init__("switch")
        self.venues = venues

    def on_start(self) -> None:
        self.subscribe_bars(BAR_TYPE)

    def on_bar(self, bar: Bar) -> None:
        minute = (bar.ts_init - T0) // MINUTE
        for venue in self.venues:
            venue.matching = minute >= venue.matching_from


@PATHS
@pytest.mark.parametrize("count", [1, 2], ids=["one venue", "two venues"])
def test_replay_calls_a_venue_only_on_the_items_after_it_started_matching(
    sources_of: Any, count: int,
) -> None:
    graph = make_graph()
    venues = [CountingVenue(f"v{index}", matching_from=2 + index) for index in range(count)]
    for venue in venues:
        graph.add_venue(venue)
    graph.add_bar_source(BAR_TYPE)
    graph.add_strategy(Switcher(venues))

    ReplayDriver(graph, sim_clock(graph), sources_of(bars_at([1, 2, 3, 4, 5]))).run(
        start=graph.start)

    # The venue sees an item before the bus does: the bar of the minute it starts matching
    # was delivered to it before the strategy switched it on.
    assert [venue.seen for venue in venues] == [[3, 4, 5], [4, 5]][:count]
