"""The live runner: inbox entries into the graph, and which journal records are inputs.

A real graph (bus, live clock, core actors, the simulated venue, a small strategy) with
a list standing in for the journal at the edge. Inputs are exactly what replaying
rebuilds the rest from: market data, critical entries, operator commands, session
markers and timer firings, each journaled once as an input; everything the graph makes
from them is derived.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anyio
import msgspec
import pytest

from adapters.sim import SimVenue, SimVenueConfig
from engine.actors.risk import RiskConfig
from engine.clock import LiveClock
from engine.domain.enums import LiquiditySide, OrderSide, OrderType
from engine.events.fills import OrderFilled
from engine.events.market import Bar
from engine.events.orders import OrderAccepted, SubmitOrder
from engine.events.system import SessionStarted, TimerFired
from engine.graph import TradingGraph, topic_for
from engine.runtime import Inbox, LiveRunner, RunnerState
from engine.strategy import Strategy, StrategyConfig
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    make_bars,
    make_instrument,
    make_portfolio_config,
)
from engine.topics import ORDERS_PROCESS, RISK_EXECUTE, system_topic

START_NS = 1_672_531_200_000_000_000
LANE = "feed"


class BuyFirstBarConfig(StrategyConfig, kw_only=True, frozen=True):
    alert_after_ns: int | None = None


class BuyFirstBar(Strategy):
    """Buy one on the first bar; optionally set a time alert at start."""

    config_type = BuyFirstBarConfig
    config: BuyFirstBarConfig

    def on_start(self) -> None:
        self.bars = 0
        self.timers: list[TimerFired] = []
        self.woke = anyio.Event()
        self.subscribe_bars(BAR_TYPE)
        if self.config.alert_after_ns is not None:
            self.set_time_alert("wake", self.clock.timestamp_ns() + self.config.alert_after_ns)

    def on_bar(self, bar: Bar) -> None:
        self.bars += 1
        if self.bars == 1:
            self.market_order(INSTRUMENT_ID, OrderSide.BUY, 1)

    def on_timer(self, event: TimerFired) -> None:
        self.timers.append(event)
        self.woke.set()


class ListJournal:
    """The journal port at the edge: keeps (topic, message, is_input) in order."""

    def __init__(self) -> None:
        self.records: list[tuple[str, Any, bool]] = []

    def append(self, topic: str, message: Any, *, is_input: bool = False) -> int:
        self.records.append((topic, message, is_input))
        return len(self.records)

    def kinds(self, *, is_input: bool) -> list[str]:
        return [str(type(message).__struct_config__.tag) for _, message, flag in self.records
                if flag is is_input]


def build(config: BuyFirstBarConfig | None = None,
          clock: LiveClock | None = None) -> tuple[LiveRunner, ListJournal, BuyFirstBar]:
    clock = clock if clock is not None else LiveClock(origin_ns=START_NS)
    if not clock.is_held:
        clock.hold(START_NS)
    graph = TradingGraph(clock=clock, instruments=[make_instrument()],
                         portfolio=make_portfolio_config(), risk=RiskConfig())
    graph.add_venue(SimVenue(SimVenueConfig(), graph.instruments, cache=graph.cache))
    graph.add_bar_source(BAR_TYPE)
    strategy = BuyFirstBar("buyer", config or BuyFirstBarConfig())
    graph.add_strategy(strategy)
    graph.start()
    inbox = Inbox()
    inbox.add_lane(LANE, capacity=100)
    runner = LiveRunner(graph, inbox)
    journal = ListJournal()
    graph.bus.add_observer(runner.journal_observer(journal))
    return runner, journal, strategy


def put_bars(inbox: Inbox, bars: list[Bar]) -> None:
    for bar in bars:
        inbox.put_data(LANE, bar, topic_for(bar), INSTRUMENT_ID)


def handle_all(runner: LiveRunner) -> None:
    while (entry := runner.inbox.get_nowait()) is not None:
        runner.handle(entry)


def test_runner_handle_market_data_marks_only_the_data_as_input() -> None:
    runner, journal, strategy = build()
    bars = make_bars([100.0, 101.0, 102.0], start_ns=START_NS)
    put_bars(runner.inbox, bars)
    handle_all(runner)
    assert strategy.bars == 3
    inputs = [message for _, message, is_input in journal.records if is_input]
    assert inputs == bars
    derived = journal.kinds(is_input=False)
    assert "command.submit_order" in derived and "order.filled" in derived
    assert "bar" not in derived
    assert runner.statistics() == msgspec.convert(
        {"state": "starting", "entries_handled": 3, "data_handled": 3, "critical_handled": 0},
        type(runner.statistics()))


def test_runner_on_data_sees_each_market_data_item_handled() -> None:
    runner, _, _ = build()
    seen: list[Any] = []
    runner.on_data = seen.append
    bars = make_bars([100.0, 101.0], start_ns=START_NS)
    put_bars(runner.inbox, bars)
    runner.inbox.put_critical_nowait(accepted("not-data"), ORDERS_PROCESS)
    handle_all(runner)
    assert seen == bars


def test_runner_data_watchers_see_the_data_entries_handled_after_they_watch() -> None:
    runner, _, _ = build()
    first: list[Any] = []
    second: list[Any] = []
    bars = make_bars([100.0, 101.0, 102.0], start_ns=START_NS)
    runner.watch_data(first.append)
    put_bars(runner.inbox, bars[:1])
    handle_all(runner)

    runner.watch_data(second.append)
    put_bars(runner.inbox, bars[1:])
    runner.inbox.put_critical_nowait(accepted("not-data"), ORDERS_PROCESS)
    handle_all(runner)

    assert first == bars and second == bars[1:]


def test_a_data_watcher_that_raises_is_dropped_and_trading_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner, _, strategy = build()
    seen: list[Any] = []

    def broken(message: Any) -> None:
        raise RuntimeError("watcher bug")

    runner.watch_data(broken)
    runner.watch_data(seen.append)
    bars = make_bars([100.0, 101.0], start_ns=START_NS)
    put_bars(runner.inbox, bars)
    handle_all(runner)

    assert runner.poison is None and strategy.bars == 2
    assert seen == bars  # the other watcher still sees every entry
    assert "data watcher" in caplog.text


def accepted(client_order_id: str) -> OrderAccepted:
    return OrderAccepted(strategy_id="buyer", client_order_id=client_order_id,
                         instrument_id=INSTRUMENT_ID, venue_order_id="V-1",
                         ts_event=START_NS, ts_init=START_NS)


def test_runner_critical_entry_is_one_input_record_even_when_forwarded() -> None:
    runner, journal, _ = build()
    # An order the graph knows, then a venue fill for it arriving on the critical lane.
    runner.inject(submit("op-1"), RISK_EXECUTE)
    fill = OrderFilled(
        strategy_id="operator", client_order_id="op-1", instrument_id=INSTRUMENT_ID,
        venue_order_id="V-9", trade_id="T-9", side=OrderSide.BUY,
        last_quantity=Decimal(1), last_price=Decimal(100), commission=Decimal("0.1"),
        commission_currency="USDT", liquidity_side=LiquiditySide.TAKER,
        ts_event=START_NS, ts_init=START_NS,
    )
    runner.inbox.put_critical_nowait(fill, ORDERS_PROCESS)
    journal.records.clear()
    handle_all(runner)
    fills = [(topic, is_input) for topic, message, is_input in journal.records
             if message is fill]
    # Sent to the order manager (the input), then published to the strategy's order topic
    # by it (derived): replaying both would apply the fill twice.
    assert [is_input for _, is_input in fills] == [True, False]
    assert fills[0][0] == ORDERS_PROCESS
    assert runner.statistics().critical_handled == 1


def submit(client_order_id: str) -> SubmitOrder:
    return SubmitOrder(strategy_id="operator", client_order_id=client_order_id,
                       instrument_id=INSTRUMENT_ID, side=OrderSide.BUY,
                       order_type=OrderType.MARKET, quantity=Decimal(1),
                       ts_event=START_NS, ts_init=START_NS)


def test_runner_inject_marks_the_command_input_once() -> None:
    runner, journal, _ = build()
    put_bars(runner.inbox, make_bars([100.0], start_ns=START_NS))  # a price for risk
    handle_all(runner)
    journal.records.clear()
    command = submit("op-2")
    runner.inject(command, RISK_EXECUTE)
    # Stamped at its ts_init or, as here, the later time the bar before it was handled at.
    records = [(topic, is_input) for topic, message, is_input in journal.records
               if type(message) is SubmitOrder and message.client_order_id == "op-2"]
    # risk -> order manager -> venue forward the same object: only the first is the input.
    assert len(records) == 3
    assert records[0] == (RISK_EXECUTE, True)
    assert [is_input for _, is_input in records[1:]] == [False, False]
    assert "order.accepted" in journal.kinds(is_input=False)


def test_runner_publish_input_marks_the_marker_as_input() -> None:
    runner, journal, _ = build()
    marker = SessionStarted(session=2, ts_event=START_NS, ts_init=START_NS)
    runner.publish_input(system_topic("session"), marker)
    other = SessionStarted(session=3, ts_event=START_NS, ts_init=START_NS)
    runner.graph.bus.publish(system_topic("session"), other)  # not through the runner
    assert [(message, is_input) for _, message, is_input in journal.records] == [
        (marker, True), (other, False)]


@pytest.mark.anyio
async def test_runner_timer_fired_is_always_an_input() -> None:
    clock = LiveClock(origin_ns=START_NS, speed=1.0)
    clock.hold(START_NS)
    runner, journal, strategy = build(BuyFirstBarConfig(alert_after_ns=1_000_000), clock)
    async with anyio.create_task_group() as group:
        await group.start(clock.run)
        clock.release()
        with anyio.fail_after(5):
            await strategy.woke.wait()
        group.cancel_scope.cancel()
    timer_records = [(message, is_input) for _, message, is_input in journal.records
                     if type(message) is TimerFired]
    assert [(message.name, is_input) for message, is_input in timer_records] == [("wake", True)]


@pytest.mark.anyio
async def test_runner_run_handles_entries_until_stop_accepting() -> None:
    runner, journal, strategy = build()
    bars = make_bars([100.0, 101.0, 102.0, 103.0], start_ns=START_NS)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            await group.start(runner.run)
            assert runner.state is RunnerState.RUNNING
            put_bars(runner.inbox, bars[:2])
            await runner.inbox.wait_empty()
            await anyio.wait_all_tasks_blocked()
            assert strategy.bars == 2
            runner.stop_accepting()
            put_bars(runner.inbox, bars[2:])  # wakes the runner, which returns: the group ends
    assert strategy.bars == 2  # nothing after stop_accepting reached the graph
    assert [message for _, message, is_input in journal.records if is_input] == bars[:2]
    assert len(runner.inbox) == 1  # what was left stays: the next session's feed resends it
    assert runner.statistics().data_handled == 2


class ClockReader(Strategy):
    """Note the engine time each bar and timer is handled at."""

    def on_start(self) -> None:
        self.seen: list[tuple[str, int, int]] = []
        self.subscribe_bars(BAR_TYPE)
        self.set_timer("tick", 90_000_000_000)  # every 90 s: between the minute bars

    def on_bar(self, bar: Bar) -> None:
        self.seen.append(("bar", bar.ts_init, self.clock.timestamp_ns()))

    def on_timer(self, event: TimerFired) -> None:
        self.seen.append(("timer", event.ts_init, self.clock.timestamp_ns()))


def running_reader() -> tuple[LiveRunner, ListJournal, ClockReader, LiveClock]:
    # Flowing fast from the start: by the time a bar is handled, real time is far past it.
    clock = LiveClock(origin_ns=START_NS, speed=1_000_000.0)
    graph = TradingGraph(clock=clock, instruments=[make_instrument()],
                         portfolio=make_portfolio_config(), risk=RiskConfig())
    graph.add_bar_source(BAR_TYPE)
    reader = ClockReader("reader", StrategyConfig())
    graph.add_strategy(reader)
    clock.hold(START_NS)
    graph.start()
    clock.release()
    inbox = Inbox()
    inbox.add_lane(LANE, capacity=100)
    runner = LiveRunner(graph, inbox)
    journal = ListJournal()
    graph.bus.add_observer(runner.journal_observer(journal))
    return runner, journal, reader, clock


async def test_runner_handler_reads_the_input_time_though_real_time_moved_on() -> None:
    runner, _, reader, clock = running_reader()
    bars = make_bars([100.0, 101.0], start_ns=START_NS)
    put_bars(runner.inbox, bars)
    await anyio.sleep(0.01)  # ten real ms: three hours of engine time
    assert clock.timestamp_ns() > bars[-1].ts_init
    handle_all(runner)
    assert [(kind, at) for kind, ts, at in reader.seen if kind == "bar"] == [
        ("bar", bar.ts_init) for bar in bars]


def test_runner_fires_timers_due_before_a_data_item_first_as_inputs() -> None:
    runner, journal, reader, _ = running_reader()
    bars = make_bars([100.0, 101.0, 102.0, 103.0], start_ns=START_NS)  # closes at 1..4 min
    put_bars(runner.inbox, bars)
    handle_all(runner)
    minute = 60_000_000_000
    # Timers at 1.5 and 3 min: each before the first bar at or after it (3 min ties: the
    # timer first, as SimClock.advance_to), each handled at its own due time.
    assert [(kind, at - START_NS) for kind, _, at in reader.seen] == [
        ("bar", minute), ("timer", 90 * minute // 60), ("bar", 2 * minute),
        ("timer", 3 * minute), ("bar", 3 * minute), ("bar", 4 * minute)]
    inputs = [message for _, message, is_input in journal.records if is_input]
    assert [type(message).__name__ for message in inputs] == [
        "Bar", "TimerFired", "Bar", "TimerFired", "Bar", "Bar"]
    assert [m.ts_init for m in inputs if type(m) is TimerFired] == [
        START_NS + 90 * minute // 60, START_NS + 3 * minute]


def test_runner_restamps_an_input_that_would_go_back_with_the_last_pinned_time() -> None:
    runner, journal, reader, _ = running_reader()
    late, early = make_bars([100.0, 101.0], start_ns=START_NS)[::-1]
    put_bars(runner.inbox, [late, early])
    handle_all(runner)
    inputs = [message for _, message, is_input in journal.records
              if is_input and type(message) is Bar]
    assert [bar.ts_init for bar in inputs] == [late.ts_init, late.ts_init]
    assert inputs[1].ts_event == early.ts_event  # only the time it was handled at moved
    assert reader.seen[-1] == ("bar", late.ts_init, late.ts_init)
