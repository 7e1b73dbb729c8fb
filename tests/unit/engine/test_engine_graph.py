"""The kernel: fault isolation, fail-fast, lifecycle order, instruments, risk in the path."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.sim.venue import SimVenue, SimVenueConfig
from engine.actor import Actor, ActorState
from engine.actors.risk import RiskConfig
from engine.cache import MarketCache
from engine.clock import SimClock
from engine.domain.enums import OrderSide, OrderStatus, TradingState
from engine.events.base import Message
from engine.events.fills import OrderFilled, PositionClosed
from engine.events.market import Bar, Instrument
from engine.events.orders import (
    OrderCanceled,
    OrderDenied,
    SetTradingState,
    SubmitOrder,
)
from engine.events.system import (
    ActorFaulted,
    ActorStarted,
    ActorStopped,
    StartStrategy,
    StopStrategy,
    TradingStateChanged,
)
from engine.graph import TradingGraph
from engine.replay import ReplayDriver, ReplaySource
from engine.strategy import Strategy
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    ScriptedStrategy as Scripted,
    make_bars,
    make_graph,
    make_instrument,
)
from engine.topics import (
    ORDERS_PROCESS,
    RISK_EXECUTE,
    STRATEGIES_CONTROL,
    bars_topic,
    instrument_topic,
    system_topic,
    venue_endpoint,
)

MINUTE = 60_000_000_000
T0 = 19_700 * 86_400_000_000_000
D = Decimal
ID = INSTRUMENT_ID
BARS = make_bars([100.0 + i for i in range(10)], start_ns=T0)

class FailingStart(Scripted):
    def on_start(self) -> None:
        self.subscribe_bars(BAR_TYPE)
        raise ValueError("bad parameter")


def boom(strategy: Scripted, bar: Bar) -> None:
    raise RuntimeError("boom")


def build(
    strategies: list[Strategy],
    *,
    fail_fast: bool = False,
    risk: RiskConfig | None = None,
    venue: Actor | None = None,
    instruments: list[Instrument] | None = None,
) -> tuple[TradingGraph, SimClock, list[Message]]:
    """A graph with a SimVenue (or `venue`), `strategies`, and a recorder of system.actor."""
    cache = MarketCache()
    clock = SimClock()
    graph = make_graph(clock=clock, cache=cache, fail_fast=fail_fast, risk=risk,
                       instruments=instruments)
    graph.add_bar_source(BAR_TYPE)
    graph.add_venue(venue or SimVenue(SimVenueConfig(), graph.instruments, cache=cache))
    for strategy in strategies:
        graph.add_strategy(strategy)
    system: list[Message] = []
    graph.bus.subscribe(system_topic("actor"), system.append)
    return graph, clock, system


def replay(graph: TradingGraph, clock: SimClock, bars: list[Bar] = BARS) -> None:
    source = ReplaySource(bars, bars_topic(ID, "1m"), ID)
    ReplayDriver(graph, clock, [source]).run(start=graph.start)
    graph.stop()


def trader(strategy_id: str = "good") -> Scripted:
    return Scripted(strategy_id, {
        0: lambda s, _: s.market_order(ID, OrderSide.BUY, 1),
        8: lambda s, _: s.close_position(ID),
    })


# -- fault isolation ------------------------------------------------------------------------


def test_strategy_raising_in_on_bar_is_faulted_while_another_trades_to_the_end() -> None:
    bad = Scripted("bad", {0: lambda s, _: s.limit_order(ID, OrderSide.BUY, 1, 50), 2: boom})
    good = trader()
    graph, clock, system = build([bad, good])

    replay(graph, clock)

    faults = [m for m in system if type(m) is ActorFaulted]
    assert [(f.actor_id, f.error_type, f.error, f.message_kind) for f in faults] == [
        ("bad", "RuntimeError", "boom", "bar")]
    assert faults[0].ts_event == BARS[2].ts_event
    assert graph.faults == 1
    assert graph.bus.statistics().handler_errors == 1
    assert bad.state is ActorState.FAULTED
    assert bad.bar_count == 3  # nothing reaches it after the fault
    assert good.bar_count == len(BARS)
    assert len(good.events(OrderFilled)) == 2
    assert len(good.events(PositionClosed)) == 1
    assert good.state is ActorState.STOPPED


def test_strategy_raising_in_on_start_is_isolated_and_receives_nothing() -> None:
    bad = FailingStart("bad")
    good = trader()
    graph, clock, system = build([bad, good])

    replay(graph, clock)

    [fault] = [m for m in system if type(m) is ActorFaulted]
    assert (fault.actor_id, fault.error_type, fault.error) == ("bad", "ValueError",
                                                               "bad parameter")
    assert "bad" not in [m.actor_id for m in system if type(m) is ActorStarted]
    assert bad.state is ActorState.FAULTED
    assert bad.bar_count == 0
    assert good.bar_count == len(BARS)
    assert graph.faults == 1


def test_fail_fast_graph_lets_a_strategy_exception_out_of_the_run() -> None:
    graph, clock, _ = build([Scripted("bad", {3: boom})], fail_fast=True)

    with pytest.raises(RuntimeError, match="boom"):
        replay(graph, clock)

    assert graph.faults == 0


def test_fail_fast_graph_lets_an_on_start_exception_out_of_start() -> None:
    graph, clock, _ = build([FailingStart("bad")], fail_fast=True)

    with pytest.raises(ValueError, match="bad parameter"):
        replay(graph, clock)


class BrokenVenue(Actor):
    """A venue adapter with a bug: core and adapter actors fail fast, whatever the graph."""

    def __init__(self) -> None:
        super().__init__("broken_venue")

    def on_start(self) -> None:
        self.register_endpoint(venue_endpoint("SIM"))

    def on_submit_order(self, command: SubmitOrder) -> None:
        raise RuntimeError("venue bug")


def test_exception_in_a_non_strategy_actor_propagates_even_without_fail_fast() -> None:
    graph, clock, _ = build([trader()], venue=BrokenVenue())

    with pytest.raises(RuntimeError, match="venue bug"):
        replay(graph, clock)

    assert graph.faults == 0


def test_exception_in_a_core_actor_propagates() -> None:
    graph, clock, _ = build([])
    graph.start()

    def broken(message: object) -> None:
        raise RuntimeError("portfolio bug")

    graph.bus.subscribe("system.probe", broken, owner=graph.portfolio.id)
    with pytest.raises(RuntimeError, match="portfolio bug"):
        graph.bus.publish("system.probe", BARS[0])


def test_malformed_venue_event_reaches_no_core_actor_as_an_exception() -> None:
    graph, clock, _ = build([])
    graph.start()

    graph.bus.send(ORDERS_PROCESS, BARS[0])  # not an order event: counted, not raised

    assert graph.orders.statistics().invalid_events == 1


# -- lifecycle -----------------------------------------------------------------------------------


class SendsOnStop(Scripted):
    def on_stop(self) -> None:
        self.limit_order(ID, OrderSide.BUY, 1, 50)


def test_stop_stops_strategies_first_then_venues_then_core_in_reverse() -> None:
    first, second = SendsOnStop("s1"), Scripted("s2")
    graph, clock, system = build([first, second])

    replay(graph, clock)

    stopped = [m.actor_id for m in system if type(m) is ActorStopped]
    assert stopped == ["s1", "s2", "venue_sim", "emulator", "algos", "contingency", "risk",
                       "portfolio", "orders", "data"]
    started = [m.actor_id for m in system if type(m) is ActorStarted]
    assert started == ["data", "orders", "portfolio", "risk", "contingency", "algos",
                       "emulator", "venue_sim", "s1", "s2"]
    # The order sent from on_stop still reached a running venue.
    assert graph.orders.order("s1-1").status is OrderStatus.ACCEPTED  # type: ignore[union-attr]


def test_start_twice_raises() -> None:
    graph, _, _ = build([])
    graph.start()

    with pytest.raises(RuntimeError, match="already started"):
        graph.start()


def test_add_strategy_with_a_used_id_raises() -> None:
    graph, _, _ = build([Scripted("s1")])

    with pytest.raises(ValueError, match="'s1': already in this graph"):
        graph.add_strategy(Scripted("s1"))


class WatchesInstruments(Scripted):
    def on_start(self) -> None:
        self.subscribe(instrument_topic(ID))
        self.subscribe(instrument_topic("ETH/USDT.SIM"))


def test_instruments_are_published_at_start_in_id_order_stamped_by_the_clock() -> None:
    eth = make_instrument(instrument_id="ETH/USDT.SIM", symbol="ETH/USDT", base_currency="ETH",
                          ts_event=5, ts_init=7)
    watcher = WatchesInstruments("watch")
    graph, clock, _ = build([watcher], instruments=[eth, make_instrument()])

    replay(graph, clock)

    seen = watcher.events(Instrument)
    assert [(i.instrument_id, i.ts_event, i.ts_init) for i in seen] == [
        ("BTC/USDT.SIM", BARS[0].ts_init, BARS[0].ts_init),  # unstamped: the start time
        ("ETH/USDT.SIM", 5, 7),  # stamped by its source: kept
    ]
    assert seen[0].price_increment == make_instrument().price_increment


# -- risk in the path --------------------------------------------------------------------------


def test_risk_denial_reaches_the_strategy_as_order_denied() -> None:
    strategy = Scripted(script={0: lambda s, _: s.market_order(ID, OrderSide.BUY, 1)})
    graph, clock, _ = build([strategy], risk=RiskConfig(max_order_notional=D(50)))

    replay(graph, clock)

    [denied] = strategy.events(OrderDenied)
    assert denied.client_order_id == "s1-1"
    assert denied.reason.startswith("max_order_notional:")
    assert strategy.events(OrderFilled) == []
    assert graph.risk.statistics().denied_by_reason == {"max_order_notional": 1}
    assert graph.orders.statistics().denied == 1


def halt(strategy: Scripted, bar: Bar) -> None:
    now = strategy.clock.timestamp_ns()
    strategy.send(RISK_EXECUTE, SetTradingState(state=TradingState.HALTED, reason="kill switch",
                                                ts_event=now, ts_init=now))


def test_kill_switch_halted_denies_the_next_order_but_lets_cancels_through() -> None:
    def cancel_and_buy(strategy: Scripted, bar: Bar) -> None:
        strategy.cancel_order("s1-1")
        strategy.market_order(ID, OrderSide.BUY, 1)

    strategy = Scripted(script={
        0: lambda s, _: s.limit_order(ID, OrderSide.BUY, 1, 50),
        1: halt,
        2: cancel_and_buy,
    })
    graph, clock, _ = build([strategy])
    changes: list[Message] = []
    graph.bus.subscribe(system_topic("risk"), changes.append)

    replay(graph, clock)

    assert [(c.state, c.reason) for c in changes if type(c) is TradingStateChanged] == [
        (TradingState.HALTED, "kill switch")]
    assert [e.client_order_id for e in strategy.events(OrderCanceled)] == ["s1-1"]
    [denied] = strategy.events(OrderDenied)
    assert (denied.client_order_id, denied.reason) == (
        "s1-2", "trading_state: halted, orders can only be canceled")
    assert graph.risk.trading_state is TradingState.HALTED


# -- process: the live door -----------------------------------------------------------------------


def test_process_fills_working_orders_before_publishing_the_item() -> None:
    strategy = Scripted(script={0: lambda s, _: s.market_order(ID, OrderSide.BUY, 1)})
    graph, clock, _ = build([strategy])
    clock.advance_to(BARS[0].ts_init)
    graph.start()
    topic = bars_topic(ID, "1m")

    for item in BARS[:3]:
        clock.advance_to(item.ts_init)
        graph.process(item, topic)

    kinds = [type(m).__name__ for m in strategy.seen]
    assert kinds[kinds.index("OrderFilled") + 2] == "Bar"  # fill, position, then the bar
    assert graph.cache.last_bar(ID) == BARS[2]
    assert strategy.net_quantity(ID) == 1


# -- operator start / stop ----------------------------------------------------------------


def test_strategies_control_stops_and_starts_one_strategy_leaving_the_other() -> None:
    one, other = trader("one"), trader("other")
    graph, _, system = build([one, other])
    graph.start()

    graph.bus.send(STRATEGIES_CONTROL, StopStrategy(strategy_id="one", ts_event=1, ts_init=1))
    stopped = (one.state, other.state)
    graph.bus.send(STRATEGIES_CONTROL, StopStrategy(strategy_id="one", ts_event=2, ts_init=2))
    graph.bus.send(STRATEGIES_CONTROL, StartStrategy(strategy_id="one", ts_event=3, ts_init=3))
    graph.bus.send(STRATEGIES_CONTROL, StartStrategy(strategy_id="nope", ts_event=4, ts_init=4))

    assert stopped == (ActorState.STOPPED, ActorState.RUNNING)
    assert (one.state, other.state) == (ActorState.RUNNING, ActorState.RUNNING)
    assert [type(m).__name__ for m in system if getattr(m, "actor_id", "") == "one"] == [
        "ActorStarted", "ActorStopped", "ActorStarted"]
