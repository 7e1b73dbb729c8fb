"""Retention through the real graph: a daemon's memory stays flat, its totals stay exact,
a snapshot of its bounded state restores to the same state, and a backtest keeps all.

The session is a daemon's: a live clock held at each input, the runner firing timers as
inputs and journaling into a list, a simulated venue, and a strategy that trades on
every bar (so the closed history grows at a bar's pace) while one far limit order
rests open the whole session (open orders are never let go).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from adapters.sim import SimExecutionClient, SimVenue, SimVenueConfig
from engine.actors.retention import RetentionConfig, apply_retention
from engine.actors.risk import RiskConfig
from engine.clock import LiveClock
from engine.config import decode_config
from engine.domain.enums import OrderSide, OrderStatus
from engine.errors import ConfigError
from engine.events.market import Bar
from engine.events.system import SessionStarted
from engine.graph import GraphSnapshot, TradingGraph, topic_for
from engine.persistence import JournalRecord
from engine.runtime import Inbox, LiveRunner, NodeConfig, Replay, reconcile, replay_inputs
from engine.strategy import Strategy
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    make_bars,
    make_instrument,
    make_portfolio_config,
)
from engine.topics import system_topic

MINUTE = 60_000_000_000
START_NS = 1_672_531_200_000_000_000
LANE = "feed"
WINDOW = RetentionConfig(closed_orders=5, fills=4, closed_trades=3, equity_points=6,
                         late_fill_horizon_s=120.0)


class Churn(Strategy):
    """Rest a far limit buy on the first bar; then buy when flat and sell when long, every
    bar: one order, one fill per bar, one round trip every two bars."""

    def on_start(self) -> None:
        self.bars = 0
        self.resting: str | None = None
        self.subscribe_bars(BAR_TYPE)

    def on_save(self) -> dict[str, Any]:
        return {"bars": self.bars, "resting": self.resting}

    def on_load(self, state: dict[str, Any]) -> None:
        self.bars, self.resting = state["bars"], state["resting"]

    def on_bar(self, bar: Bar) -> None:
        self.bars += 1
        if self.resting is None:
            self.resting = self.limit_order(INSTRUMENT_ID, OrderSide.BUY, 1, bar.close / 2)
        side = OrderSide.BUY if self.portfolio.is_flat(INSTRUMENT_ID, self.id) else OrderSide.SELL
        self.market_order(INSTRUMENT_ID, side, 1)


def closes(count: int) -> list[float]:
    return [100.0 + (index % 7) for index in range(count)]


def build_graph(retention: RetentionConfig | None) -> tuple[TradingGraph, LiveClock, SimVenue]:
    clock = LiveClock(origin_ns=START_NS)
    clock.hold(START_NS)
    graph = TradingGraph(clock=clock, instruments=[make_instrument()],
                         portfolio=make_portfolio_config(equity_interval_ns=5 * MINUTE),
                         risk=RiskConfig())
    venue = SimVenue(SimVenueConfig(), graph.instruments, cache=graph.cache)
    graph.add_venue(venue)
    graph.add_bar_source(BAR_TYPE)
    graph.add_strategy(Churn("churn"))
    if retention is not None:
        assert apply_retention(graph.actors(), retention) == 3  # orders, portfolio, venue
    return graph, clock, venue


class ListJournal:
    def __init__(self) -> None:
        self.rows: list[tuple[str, Any, bool]] = []

    def append(self, topic: str, message: Any, *, is_input: bool = False) -> int:
        self.rows.append((topic, message, is_input))
        return len(self.rows)

    def records(self) -> list[JournalRecord]:
        return [
            JournalRecord(seq=seq, session=1, ts_init=message.ts_init, topic=topic,
                          kind=str(type(message).__struct_config__.tag), is_input=is_input,
                          message=message)
            for seq, (topic, message, is_input) in enumerate(self.rows, start=1)
        ]


def live_session(
    bars: int, retention: RetentionConfig | None, sizes_every: int = 0
) -> tuple[TradingGraph, ListJournal, list[dict[str, int]]]:
    """Run `bars` bars as the daemon does; every `sizes_every` bars, note the sizes held."""
    graph, clock, venue = build_graph(retention)
    replay_inputs(graph, clock, [])
    runner = LiveRunner(graph, Inbox())
    runner.inbox.add_lane(LANE, capacity=100)
    journal = ListJournal()
    graph.bus.add_observer(runner.journal_observer(journal))
    runner.publish_input(system_topic("session"),
                         SessionStarted(session=1, ts_event=START_NS, ts_init=START_NS))
    sizes: list[dict[str, int]] = []
    for index, bar in enumerate(make_bars(closes(bars), start_ns=START_NS), start=1):
        clock.hold(bar.ts_event)
        runner.inbox.put_data(LANE, bar, topic_for(bar), INSTRUMENT_ID)
        entry = runner.inbox.get_nowait()
        assert entry is not None
        runner.handle(entry)
        if sizes_every and index % sizes_every == 0:
            sizes.append(held_sizes(graph, venue))
    return graph, journal, sizes


def held_sizes(graph: TradingGraph, venue: SimVenue) -> dict[str, int]:
    """What each actor holds, through its public reads (and the venue's records)."""
    portfolio, orders = graph.portfolio, graph.orders
    return {
        "orders": len(orders.orders()),
        "trade_ids": sum(len(orders.booked_trade_ids(o.client_order_id))
                         for o in orders.orders()),
        "fills": len(portfolio.fills()),
        "closed_trades": len(portfolio.closed_trades()),
        "equity_points": len(portfolio.equity_curve()),
        "venue_records": len(venue.snapshot_state().order_ids),
        "venue_fills": len(venue.snapshot_state().fill_events),
    }


def totals(graph: TradingGraph) -> dict[str, Any]:
    portfolio, orders = graph.portfolio, graph.orders
    stats, order_stats = portfolio.statistics(), orders.statistics()
    return {
        "balances": portfolio.balances(),
        "positions": portfolio.positions(),
        "realized": portfolio.realized_pnl(),
        "fees": portfolio.total_fees(),
        "equity": portfolio.equity(),
        "fills_applied": stats.fills_applied,
        "positions_opened": stats.positions_opened,
        "positions_closed": stats.positions_closed,
        "orders": order_stats.orders,
        "fills": order_stats.fills,
        "submitted": order_stats.submitted,
        "open": orders.open_orders(),
        "order_counts": orders.order_counts(),
    }


def test_daemon_memory_stays_flat_over_many_more_bars_than_the_window() -> None:
    # 600 bars: 600 closed orders and fills, 300 round trips, 120 equity samples, against
    # a window of 5 orders (and 2 minutes), 4 fills, 3 trades, 6 points.
    _, _, sizes = live_session(600, WINDOW, sizes_every=100)

    steady = ("orders", "trade_ids", "fills", "closed_trades", "venue_records")
    assert len({tuple(held[name] for name in steady) for held in sizes}) == 1  # flat
    for held in sizes:
        # Open: the resting limit and this bar's market order (it fills on the next bar);
        # closed: the window's 5 (the 2-minute horizon holds fewer).
        assert held["orders"] == 2 + WINDOW.closed_orders
        assert held["trade_ids"] == WINDOW.closed_orders
        assert held["fills"] == WINDOW.fills
        assert held["closed_trades"] == WINDOW.closed_trades
        # Halved when full: it saws between half and all of its points.
        assert WINDOW.equity_points // 2 <= held["equity_points"] <= WINDOW.equity_points
        # The venue keeps the two working orders and what closed within the horizon (2
        # bars), and compacts its fills once most are of records let go.
        assert held["venue_records"] == 2 + 2
        assert held["venue_fills"] <= 2 * 2


def test_retention_keeps_every_total_exact() -> None:
    kept_all, _, _ = live_session(200, None)
    bounded, _, _ = live_session(200, WINDOW)

    assert totals(bounded) == totals(kept_all)
    # 200 bars: 200 market orders, 199 filled and closed (the last fills on bar 201).
    assert bounded.portfolio.statistics().fills_evicted == 199 - WINDOW.fills
    assert bounded.orders.statistics().orders_evicted == 199 - WINDOW.closed_orders
    # The resting order is open from the first bar to the last: never let go.
    resting = bounded.orders.open_orders()[0]
    assert resting.status is OrderStatus.ACCEPTED and resting.ts_created == START_NS + MINUTE
    # What is held is the latest of the full history.
    assert bounded.portfolio.fills() == kept_all.portfolio.fills()[-WINDOW.fills:]
    assert bounded.portfolio.closed_trades() == kept_all.portfolio.closed_trades()[-3:]
    assert bounded.orders.orders()[-WINDOW.closed_orders:] == (
        kept_all.orders.orders()[-WINDOW.closed_orders:])


def test_without_retention_the_graph_keeps_everything() -> None:
    graph, _, sizes = live_session(120, None, sizes_every=60)

    assert [held["fills"] for held in sizes] == [59, 119]
    assert [held["orders"] for held in sizes] == [61, 121]  # the resting order too
    assert len(graph.portfolio.closed_trades()) == 59
    assert graph.portfolio.statistics().fills_evicted == 0
    assert graph.orders.statistics().orders_evicted == 0
    assert not graph.orders.is_retaining()


@pytest.mark.parametrize("k", [3, 40, 97, 150, 231])
def test_a_bounded_snapshot_after_record_k_and_the_rest_replayed_equals_a_full_replay(
    k: int,
) -> None:
    _, journal, _ = live_session(80, WINDOW)
    records = journal.records()
    full, full_clock, _ = build_graph(WINDOW)
    replay_inputs(full, full_clock, records)

    partial, partial_clock, _ = build_graph(WINDOW)
    replay_inputs(partial, partial_clock, records[:k])
    assert partial.unsnapshottable() is None
    encoded = msgspec.msgpack.encode(partial.snapshot())
    restored, clock, _ = build_graph(WINDOW)
    clock.hold(records[k - 1].ts_init)
    restored.restore(msgspec.msgpack.decode(encoded, type=GraphSnapshot))
    replay = Replay(restored, clock)
    replay.resume_from(last_seq=records[k - 1].seq, last_ts=records[k - 1].ts_init)
    for record in records[k:]:
        replay.apply(record)

    assert totals(restored) == totals(full)
    assert msgspec.msgpack.encode(restored.snapshot()) == msgspec.msgpack.encode(full.snapshot())


def test_a_bounded_snapshot_stays_the_same_size_as_the_session_grows() -> None:
    short, _, _ = live_session(100, WINDOW)
    long, _, _ = live_session(400, WINDOW)

    def parts(graph: TradingGraph) -> dict[str, int]:
        state = graph.snapshot()
        return {actor: len(encoded) for actor, encoded in state.actors.items()
                if actor in ("orders", "portfolio", "venue_sim")}

    # Equal up to the width of the counters and ids (a few bytes per record).
    for actor, size in parts(long).items():
        assert size < parts(short)[actor] * 1.2, actor


def test_node_config_retention_defaults_and_a_bad_field_is_named() -> None:
    assert NodeConfig().retention == RetentionConfig()

    with pytest.raises(ConfigError) as caught:
        decode_config(b"[retention]\nclosed_orders = 0\n", NodeConfig)

    assert caught.value.path == "$.retention.closed_orders"


def test_retention_config_horizon_is_in_nanoseconds() -> None:
    assert RetentionConfig(late_fill_horizon_s=1.5).late_fill_horizon_ns == 1_500_000_000
    assert Decimal(RetentionConfig().late_fill_horizon_s) == Decimal(86_400)


async def test_reconciliation_after_a_retaining_session_agrees_with_the_venue() -> None:
    # The resting order is open since the first bar, so reconciliation asks the venue for
    # every trade since then: the venue must not report one of an order let go.
    graph, _, _ = live_session(300, WINDOW)
    venue = graph.market_driven_venues[0]
    assert isinstance(venue, SimVenue)
    injected: list[object] = []

    report = await reconcile(SimExecutionClient(venue), graph, since_ns=0,
                             now_ns=graph.clock.timestamp_ns(),
                             inject=lambda event, endpoint: injected.append(event))

    assert report.agrees and injected == []


async def test_a_venue_reporting_trades_of_evicted_orders_books_nothing_twice() -> None:
    # A live venue keeps its trade history: reconciliation sees trades of orders the order
    # manager let go. They are older than its watermark: skipped and counted, never
    # adopted as external (the order manager would refuse them as stale anyway).
    graph, clock, venue = build_graph(None)
    apply_retention([graph.orders, graph.portfolio], WINDOW)  # not the venue
    replay_inputs(graph, clock, [])
    for bar in make_bars(closes(60), start_ns=START_NS):
        clock.hold(bar.ts_event)
        graph.process(bar, topic_for(bar))
    before = totals(graph)
    injected: list[object] = []

    report = await reconcile(SimExecutionClient(venue), graph, since_ns=0,
                             now_ns=clock.timestamp_ns(),
                             inject=lambda event, endpoint: injected.append(event))

    assert report.evicted_trades > 0 and report.external_orders == 0
    assert injected == [] and report.agrees
    assert "trades of orders let go skipped" in report.summary()
    assert totals(graph) == before
    assert graph.orders.statistics().stale_fills == 0  # nothing reached the order manager


def test_fill_totals_stay_exact_under_retention_and_survive_a_snapshot() -> None:
    kept, _, _ = live_session(300, WINDOW)
    everything, _, _ = live_session(300, None)
    portfolio = kept.portfolio

    assert len(portfolio.fills()) <= WINDOW.fills < portfolio.statistics().fills_applied
    assert portfolio.fill_totals() == everything.portfolio.fill_totals()
    assert sum(t.fills for t in portfolio.fill_totals()) == portfolio.statistics().fills_applied
    assert sum(t.commission for t in portfolio.fill_totals()) == sum(
        f.commission for f in everything.portfolio.fills())

    restored, _, _ = build_graph(WINDOW)
    restored.portfolio.restore_state(portfolio.snapshot_state())
    assert restored.portfolio.fill_totals() == portfolio.fill_totals()
