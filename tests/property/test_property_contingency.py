"""Order lists through the real graph on drawn price paths: an OCO pair never fills more
than its quantity, a bracket's exits never more than its entry filled, an OTO child never
more than its parent; and a daemon session's journal, replayed in full or from a
snapshot taken anywhere in it, rebuilds the same lists, algorithm parents (their timers
too) and orders.

Bars are drawn whole (open, close, and how far high and low reach beyond them), so one
bar may reach both legs of a pair; volumes and the venue's volume cap are drawn too, so
fills are partial and a triggered stop keeps filling as a market order.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings, strategies as st

from adapters.sim import SimVenue, SimVenueConfig
from engine.actors.risk import RiskConfig
from engine.cache import MarketCache
from engine.clock import LiveClock, SimClock
from engine.domain.enums import OrderSide, OrderType
from engine.events.market import Bar
from engine.events.system import SessionStarted
from engine.graph import GraphSnapshot, TradingGraph, topic_for
from engine.persistence import JournalRecord
from engine.replay import ReplayDriver, ReplaySource
from engine.runtime import Inbox, LiveRunner, Replay, replay_inputs
from engine.strategy import OrderListIds, Strategy
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    make_bar,
    make_graph,
    make_instrument,
    make_portfolio_config,
)
from engine.topics import bars_topic, system_topic

D = Decimal
START = 1_700_000_000_000_000_000
MINUTE = 60_000_000_000
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

Shape = tuple[int, int, int, int]
bar = st.tuples(st.integers(min_value=90, max_value=115), st.integers(min_value=90, max_value=115),
                st.integers(min_value=0, max_value=8), st.integers(min_value=0, max_value=8))
prices = st.lists(bar, min_size=3, max_size=25)
volumes = st.lists(st.sampled_from([0.3, 0.5, 1.0, 2.0]), min_size=25, max_size=25)
fractions = st.sampled_from([None, 0.5, 0.25])
quantities = st.sampled_from([D("0.5"), D(1), D("1.5")])


def path(shapes: list[Shape], sizes: list[float]) -> list[Bar]:
    """Bars from (open, close, reach above, reach below), one a minute."""
    return [make_bar(float(c), open=float(o), high=float(max(o, c) + up),
                     low=float(min(o, c) - down), volume=sizes[i],
                     ts_event=START + (i + 1) * MINUTE)
            for i, (o, c, up, down) in enumerate(shapes)]


class Lists(Strategy):
    """On the first bar place `kind`'s list (and before an OCO, the position it closes),
    or its execution algorithm's parent."""

    def __init__(self, kind: str, quantity: Decimal) -> None:
        super().__init__("s1")
        self.kind, self.quantity = kind, quantity
        self.bars = 0
        self.ids: OrderListIds | None = None

    def on_start(self) -> None:
        self.subscribe_bars(BAR_TYPE)

    def on_save(self) -> dict[str, Any]:
        return {"bars": self.bars}

    def on_load(self, state: dict[str, Any]) -> None:
        self.bars = state["bars"]

    def on_bar(self, bar: Bar) -> None:
        self.bars += 1
        if self.bars != 1:
            return
        quantity, sell = self.quantity, OrderSide.SELL
        if self.kind == "oco":
            self.market_order(INSTRUMENT_ID, OrderSide.BUY, quantity)
            self.ids = self.oco_orders(
                self.new_order(INSTRUMENT_ID, sell, OrderType.LIMIT, quantity, price=108),
                self.new_order(INSTRUMENT_ID, sell, OrderType.STOP_MARKET, quantity,
                               trigger_price=96))
        elif self.kind == "twap":
            self.twap_order(INSTRUMENT_ID, OrderSide.BUY, quantity, horizon_ns=4 * MINUTE,
                            interval_ns=MINUTE, limit_price=104)
        elif self.kind == "vwap":
            self.vwap_order(INSTRUMENT_ID, OrderSide.BUY, quantity, horizon_ns=5 * MINUTE,
                            participation="0.3")
        elif self.kind == "bracket":
            self.ids = self.bracket_order(INSTRUMENT_ID, OrderSide.BUY, quantity,
                                          stop_loss=96, take_profit=108, entry_price=103)
        else:
            self.ids = self.oto_orders(
                self.new_order(INSTRUMENT_ID, OrderSide.BUY, OrderType.LIMIT, quantity,
                               price=103),
                self.new_order(INSTRUMENT_ID, sell, OrderType.LIMIT, quantity, price=108))


def backtest(kind: str, quantity: Decimal, bars: list[Bar],
             fraction: float | None) -> tuple[Lists, TradingGraph]:
    cache, clock = MarketCache(), SimClock()
    graph = make_graph(clock=clock, cache=cache, fail_fast=True)
    graph.add_bar_source(BAR_TYPE)
    graph.add_venue(SimVenue(SimVenueConfig(max_volume_fraction=fraction), graph.instruments,
                             cache=cache))
    strategy = Lists(kind, quantity)
    graph.add_strategy(strategy)
    ReplayDriver(graph, clock, [ReplaySource(bars, bars_topic(INSTRUMENT_ID, "1m"),
                                             INSTRUMENT_ID)]).run(start=graph.start)
    return strategy, graph


def filled(graph: TradingGraph, *client_ids: str) -> Decimal:
    """What the orders (and the follow-ups carrying on for them) filled in all."""
    return sum((o.filled_quantity for o in graph.orders.orders()
                if any(o.client_order_id == c or o.client_order_id.startswith(f"{c}-F")
                       for c in client_ids)), D(0))


@SETTINGS
@given(prices, volumes, fractions, quantities)
def test_oco_pair_never_fills_more_than_its_quantity(
    closes: list[Shape], sizes: list[float], fraction: float | None, quantity: Decimal,
) -> None:
    strategy, graph = backtest("oco", quantity, path(closes, sizes), fraction)

    assert strategy.ids is not None
    limit, stop = strategy.ids.client_order_ids
    assert filled(graph, limit, stop) <= quantity
    assert graph.orders.statistics().illegal_transitions == 0


@SETTINGS
@given(prices, volumes, fractions, quantities)
def test_bracket_exits_never_fill_more_than_the_entry_filled(
    closes: list[Shape], sizes: list[float], fraction: float | None, quantity: Decimal,
) -> None:
    strategy, graph = backtest("bracket", quantity, path(closes, sizes), fraction)

    assert strategy.ids is not None
    entry, stop, target = strategy.ids.client_order_ids
    entry_filled = filled(graph, entry)
    assert filled(graph, stop, target) <= entry_filled <= quantity
    position = graph.portfolio.net_quantity(INSTRUMENT_ID, "s1")
    assert position == entry_filled - filled(graph, stop, target)  # nothing lost or doubled


@SETTINGS
@given(prices, volumes, fractions, quantities)
def test_oto_child_never_fills_more_than_the_parent_filled(
    closes: list[Shape], sizes: list[float], fraction: float | None, quantity: Decimal,
) -> None:
    strategy, graph = backtest("oto", quantity, path(closes, sizes), fraction)

    assert strategy.ids is not None
    parent, child = strategy.ids.client_order_ids
    assert filled(graph, child) <= filled(graph, parent)
    child_record = graph.orders.order(child)
    if filled(graph, parent) == 0:
        assert child_record is None  # never released


# -- a daemon session: journal replay and snapshot restore --------------------------------


class ListJournal:
    def __init__(self) -> None:
        self.rows: list[tuple[str, Any, bool]] = []

    def append(self, topic: str, message: Any, *, is_input: bool = False) -> int:
        self.rows.append((topic, message, is_input))
        return len(self.rows)

    def records(self) -> list[JournalRecord]:
        return [JournalRecord(seq=seq, session=1, ts_init=message.ts_init, topic=topic,
                              kind=str(type(message).__struct_config__.tag),
                              is_input=is_input, message=message)
                for seq, (topic, message, is_input) in enumerate(self.rows, start=1)]


def live_graph(kind: str) -> tuple[TradingGraph, LiveClock]:
    clock = LiveClock(origin_ns=START)
    clock.hold(START)
    graph = TradingGraph(clock=clock, instruments=[make_instrument()],
                         portfolio=make_portfolio_config(), risk=RiskConfig())
    graph.add_venue(SimVenue(SimVenueConfig(max_volume_fraction=0.5), graph.instruments,
                             cache=graph.cache))
    graph.add_bar_source(BAR_TYPE)
    graph.add_strategy(Lists(kind, D(1)))
    return graph, clock


def session(kind: str, bars: list[Bar]) -> list[JournalRecord]:
    """Run `bars` as the daemon does and return the journal."""
    graph, clock = live_graph(kind)
    replay_inputs(graph, clock, [])
    runner = LiveRunner(graph, Inbox())
    runner.inbox.add_lane("feed", capacity=100)
    journal = ListJournal()
    graph.bus.add_observer(runner.journal_observer(journal))
    runner.publish_input(system_topic("session"),
                         SessionStarted(session=1, ts_event=START, ts_init=START))
    for bar in bars:
        clock.hold(bar.ts_event)
        runner.inbox.put_data("feed", bar, topic_for(bar), INSTRUMENT_ID)
        entry = runner.inbox.get_nowait()
        assert entry is not None
        runner.handle(entry)
    return journal.records()


def state(graph: TradingGraph) -> bytes:
    return msgspec.msgpack.encode(graph.snapshot())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["oco", "bracket", "oto", "twap", "vwap"]), prices, volumes, st.data())
def test_snapshot_anywhere_then_replay_equals_a_full_replay(
    kind: str, closes: list[Shape], sizes: list[float], data: st.DataObject,
) -> None:
    records = session(kind, path(closes, sizes))
    k = data.draw(st.integers(min_value=1, max_value=len(records)), label="k")
    full, full_clock = live_graph(kind)
    replay_inputs(full, full_clock, records)

    partial, partial_clock = live_graph(kind)
    replay_inputs(partial, partial_clock, records[:k])
    encoded = state(partial)
    restored, clock = live_graph(kind)
    clock.hold(records[k - 1].ts_init)
    restored.restore(msgspec.msgpack.decode(encoded, type=GraphSnapshot))
    replay = Replay(restored, clock)
    replay.resume_from(last_seq=records[k - 1].seq, last_ts=records[k - 1].ts_init)
    for record in records[k:]:
        replay.apply(record)

    assert state(restored) == state(full)
    assert restored.orders.orders() == full.orders.orders()
    assert restored.contingency.statistics() == full.contingency.statistics()
    assert restored.algos.statistics() == full.algos.statistics()
