"""Recovery: replaying a journal's inputs through a fresh graph rebuilds the live state.

The "live" session runs on a real graph through the `LiveRunner`, with a list for a
journal; its records become `JournalRecord`s by hand (no file), and `replay_inputs`
must rebuild the same balances, positions, orders, equity samples and strategy state,
including a session stop (open orders canceled, `on_save`) and the next start
(`on_load`).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import anyio
import anyio.lowlevel
import msgspec
import pytest

from adapters.sim import SimExecutionClient, SimVenue, SimVenueConfig
from engine.actor import ActorState
from engine.actors.portfolio import EQUITY_TIMER
from engine.actors.risk import RiskConfig
from engine.clock import LiveClock
from engine.domain.enums import OrderSide, OrderType
from engine.events.market import Bar
from engine.events.orders import SubmitOrder
from engine.events.system import SessionStarted, SessionStopping, TimerFired
from engine.graph import GraphSnapshot, TradingGraph, topic_for
from engine.persistence import JournalRecord
from engine.runtime import (
    Inbox,
    LiveRunner,
    Replay,
    reconcile,
    replay_inputs,
    replay_inputs_async,
)
from engine.strategy import Strategy
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    ScriptedExecutionClient,
    make_bars,
    make_instrument,
    make_portfolio_config,
)
from engine.topics import RISK_EXECUTE, bars_topic, system_topic

MINUTE = 60_000_000_000
START_NS = 1_672_531_200_000_000_000  # a whole hour: equity samples fall on the minutes
LANE = "feed"
SESSION_TOPIC = system_topic("session")


class Swing(Strategy):
    """Buy on the 2nd bar, sell on the 4th, rest a far limit order on the 3rd; count bars.

    `on_start` resets the count (as indicator-based strategies do); `on_save`/`on_load`
    carry it across a session stop, and `calls` shows which hooks ran.
    """

    def __init__(self, strategy_id: str) -> None:
        super().__init__(strategy_id)
        self.calls: list[str] = []

    def on_start(self) -> None:
        self.bars = 0
        self.calls.append("start")
        self.subscribe_bars(BAR_TYPE)

    def on_stop(self) -> None:
        self.calls.append("stop")

    def on_save(self) -> dict[str, Any]:
        self.calls.append(f"save {self.bars}")
        return {"bars": self.bars}

    def on_load(self, state: dict[str, Any]) -> None:
        self.calls.append(f"load {state['bars']}")
        self.bars = state["bars"]

    def on_bar(self, bar: Bar) -> None:
        self.bars += 1
        if self.bars == 2:
            self.market_order(INSTRUMENT_ID, OrderSide.BUY, 1)
        elif self.bars == 3:
            self.limit_order(INSTRUMENT_ID, OrderSide.BUY, 1, bar.close * 0.95)
        elif self.bars == 4:
            self.market_order(INSTRUMENT_ID, OrderSide.SELL, 1)


def build_graph() -> tuple[TradingGraph, LiveClock, Swing]:
    clock = LiveClock(origin_ns=START_NS)
    clock.hold(START_NS)
    graph = TradingGraph(clock=clock, instruments=[make_instrument()],
                         portfolio=make_portfolio_config(equity_interval_ns=2 * MINUTE),
                         risk=RiskConfig())
    graph.add_venue(SimVenue(SimVenueConfig(), graph.instruments, cache=graph.cache))
    graph.add_bar_source(BAR_TYPE)
    strategy = Swing("swing")
    graph.add_strategy(strategy)
    return graph, clock, strategy


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


def live_session() -> tuple[TradingGraph, Swing, ListJournal]:
    """Two sessions on one graph, as the daemon runs them (the clock held at each input)."""
    graph, clock, strategy = build_graph()
    replay_inputs(graph, clock, [])  # an empty journal: the daemon's first start
    runner = LiveRunner(graph, Inbox())
    runner.inbox.add_lane(LANE, capacity=100)
    journal = ListJournal()
    graph.bus.add_observer(runner.journal_observer(journal))
    bars = make_bars([100.0, 101.0, 102.0, 103.0, 104.0, 105.0, 106.0], start_ns=START_NS)
    runner.publish_input(SESSION_TOPIC, SessionStarted(session=1, ts_event=START_NS,
                                                       ts_init=START_NS))

    def bring(bar: Bar) -> None:
        clock.hold(bar.ts_event)
        runner.inbox.put_data(LANE, bar, topic_for(bar), INSTRUMENT_ID)
        entry = runner.inbox.get_nowait()
        assert entry is not None
        runner.handle(entry)

    for bar in bars[:3]:
        bring(bar)
    # The portfolio's equity timer fires between bars: the runner fires it, as an input,
    # before the first bar at or after its due time.
    bring(bars[3])
    operator = SubmitOrder(strategy_id="operator", client_order_id="op-1",
                           instrument_id=INSTRUMENT_ID, side=OrderSide.BUY,
                           order_type=OrderType.MARKET, quantity=Decimal("0.5"),
                           ts_event=bars[3].ts_event, ts_init=bars[3].ts_event)
    runner.inject(operator, RISK_EXECUTE)
    bring(bars[4])
    stop_at = bars[4].ts_event + MINUTE // 2
    clock.hold(stop_at)
    runner.publish_input(SESSION_TOPIC, SessionStopping(session=1, cancel_open_orders=True,
                                                        ts_event=stop_at, ts_init=stop_at))
    graph.stop_strategies(cancel_open_orders=True)
    start_at = stop_at + MINUTE // 4
    clock.hold(start_at)
    runner.publish_input(SESSION_TOPIC, SessionStarted(session=2, ts_event=start_at,
                                                       ts_init=start_at))
    graph.resume_strategies()
    for bar in bars[5:]:
        bring(bar)
    return graph, strategy, journal


def state_of(graph: TradingGraph) -> dict[str, Any]:
    return {
        "balances": graph.portfolio.balances(),
        "positions": graph.portfolio.positions(),
        "orders": graph.orders.orders(),
        "open": graph.orders.open_orders(),
        "equity": graph.portfolio.equity_curve(),
        "risk": graph.risk.statistics(),
    }


def test_replay_inputs_rebuilds_the_live_state() -> None:
    live, live_strategy, journal = live_session()
    records = journal.records()
    graph, clock, strategy = build_graph()
    report = replay_inputs(graph, clock, records)
    assert state_of(graph) == state_of(live)
    assert strategy.calls == live_strategy.calls
    assert strategy.bars == live_strategy.bars == 7
    assert strategy.state is ActorState.RUNNING
    # The session did what the test says it does (the comparison is not empty).
    orders = {order.client_order_id: order for order in graph.orders.orders()}
    assert len(orders) == 4 and "op-1" in orders
    assert [order.status for order in graph.orders.orders() if order.order_type is
            OrderType.LIMIT] == ["canceled"]
    assert live_strategy.calls == ["start", "stop", "save 5", "start", "load 5"]
    inputs = [record for record in records if record.is_input]
    assert report.records_read == len(records)
    timers = [r.message for r in inputs if type(r.message) is TimerFired]
    assert timers and {t.name for t in timers} == {EQUITY_TIMER}
    assert all(t.ts_init == t.ts_event for t in timers)  # each at its own due time
    assert report.inputs_replayed == len(inputs) == 7 + 1 + 3 + len(timers)
    assert report.derived_records == len(records) - len(inputs)
    assert report.data_by_topic == {bars_topic(INSTRUMENT_ID, "1m"): 7}
    assert (report.first_ts, report.last_ts) == (records[0].ts_init, records[-1].ts_init)
    assert report.last_seq == len(records)
    assert (report.sessions_stopped, report.timers_missing) == (1, 0)
    assert clock.is_held and clock.timestamp_ns() == records[-1].ts_init


def test_replay_inputs_skips_derived_records() -> None:
    live, _, journal = live_session()
    only_inputs = [record for record in journal.records() if record.is_input]
    graph, clock, _ = build_graph()
    report = replay_inputs(graph, clock, only_inputs)
    assert state_of(graph) == state_of(live)  # the derived ones are made again
    assert report.derived_records == 0


def test_replay_inputs_empty_journal_starts_graph_at_clock_time() -> None:
    graph, clock, strategy = build_graph()
    report = replay_inputs(graph, clock, [])
    assert strategy.state is ActorState.RUNNING
    assert (report.records_read, report.inputs_replayed, report.first_ts) == (0, 0, None)
    assert report.data_by_topic == {}
    assert clock.timestamp_ns() == START_NS


def test_replay_inputs_start_false_leaves_starting_to_the_caller() -> None:
    _, _, journal = live_session()
    graph, clock, strategy = build_graph()
    graph.start()
    replay_inputs(graph, clock, journal.records(), start=False)
    assert strategy.bars == 7


def test_replay_inputs_unknown_timer_is_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    graph, clock, _ = build_graph()
    stray = TimerFired(name="gone", owner="swing", ts_event=START_NS, ts_init=START_NS)
    record = JournalRecord(seq=1, session=1, ts_init=START_NS, topic="direct",
                           kind="system.timer_fired", is_input=True, message=stray)
    with caplog.at_level(logging.WARNING, logger="engine.runtime.recovery"):
        report = replay_inputs(graph, clock, [record])
    assert report.timers_missing == 1
    assert any("gone" in line.getMessage() for line in caplog.records)


async def test_reconcile_agrees_with_the_rebuilt_simulated_venue() -> None:
    graph, clock, _ = build_graph()
    replay_inputs(graph, clock, [])
    limit = SubmitOrder(strategy_id="operator", client_order_id="op-9",
                        instrument_id=INSTRUMENT_ID, side=OrderSide.BUY,
                        order_type=OrderType.LIMIT, quantity=Decimal("0.5"),
                        price=Decimal("50"), ts_event=START_NS, ts_init=START_NS)
    graph.bus.send(RISK_EXECUTE, limit)
    venue = graph.market_driven_venues[0]
    assert isinstance(venue, SimVenue)
    injected: list[object] = []

    report = await reconcile(SimExecutionClient(venue), graph, since_ns=0,
                             now_ns=clock.timestamp_ns(),
                             inject=lambda event, endpoint: injected.append(event))

    assert report.agrees and injected == []
    assert report.matched == 1


async def test_reconcile_with_a_venue_that_lost_an_order_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    graph, clock, _ = build_graph()
    replay_inputs(graph, clock, [])
    limit = SubmitOrder(strategy_id="operator", client_order_id="op-7",
                        instrument_id=INSTRUMENT_ID, side=OrderSide.BUY,
                        order_type=OrderType.LIMIT, quantity=Decimal("0.5"),
                        price=Decimal("50"), ts_event=START_NS, ts_init=START_NS)
    graph.bus.send(RISK_EXECUTE, limit)
    empty = ScriptedExecutionClient("SIM")  # knows nothing of op-7, which was accepted

    with caplog.at_level(logging.WARNING):
        report = await reconcile(empty, graph, since_ns=0, now_ns=clock.timestamp_ns(),
                                 inject=lambda event, endpoint: graph.bus.send(endpoint, event))

    assert not report.agrees and report.unresolved == 1
    assert "reconciliation with SIM" in caplog.text


@pytest.mark.anyio
async def test_the_async_replay_yields_between_chunks_and_rebuilds_the_same_state() -> None:
    live, live_strategy, journal = live_session()
    records = journal.records()
    graph, clock, strategy = build_graph()
    turns: list[int] = []
    replay = Replay(graph, clock)

    async def other_task() -> None:  # the heartbeat, in the node
        while True:
            turns.append(replay.read)
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as group:
        group.start_soon(other_task)
        report = await replay_inputs_async(replay, records, chunk=3)
        group.cancel_scope.cancel()
    assert state_of(graph) == state_of(live)
    assert strategy.calls == live_strategy.calls
    assert report == replay_inputs(*build_graph()[:2], records)
    assert len(set(turns)) >= len(records) // 3  # the other task ran between the chunks


@pytest.mark.anyio
async def test_the_async_replay_stops_between_chunks_once_a_stop_is_requested() -> None:
    _, _, journal = live_session()
    records = journal.records()
    graph, clock, _ = build_graph()
    report = await replay_inputs_async(Replay(graph, clock), records, chunk=4,
                                       stop_requested=lambda: True)
    assert report.stopped_early and report.records_read == 4


@pytest.mark.parametrize("k", range(1, 40))
def test_a_snapshot_after_record_k_and_the_rest_replayed_equals_a_full_replay(k: int) -> None:
    _, _, journal = live_session()
    records = journal.records()
    if k >= len(records):
        pytest.skip("the session has fewer records")
    full, full_clock, full_strategy = build_graph()
    replay_inputs(full, full_clock, records)

    partial, partial_clock, _ = build_graph()
    replay_inputs(partial, partial_clock, records[:k])
    if partial.unsnapshottable() is not None:
        pytest.skip(f"not snapshottable after record {k}: {partial.unsnapshottable()}")
    encoded = msgspec.msgpack.encode(partial.snapshot())

    restored, clock, strategy = build_graph()
    clock.hold(records[k - 1].ts_init)
    restored.restore(msgspec.msgpack.decode(encoded, type=GraphSnapshot))
    replay = Replay(restored, clock)
    replay.resume_from(last_seq=records[k - 1].seq, last_ts=records[k - 1].ts_init)
    for record in records[k:]:
        replay.apply(record)
    assert state_of(restored) == state_of(full)
    assert msgspec.msgpack.encode(restored.snapshot()) == msgspec.msgpack.encode(full.snapshot())
