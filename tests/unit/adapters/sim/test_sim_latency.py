"""The simulated venue's latency model: commands and answers held in simulated time.

The harness is test_sim_venue's: a venue on a real bus and SimClock, bars handed to it
as the kernel does (the clock advanced first, so timers due before a bar fire first).
"""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from adapters.sim import SimVenue, SimVenueConfig
from adapters.sim.latency import DelayLine
from api.compose.sim import SimVenueEntry
from engine.cache import MarketCache
from engine.clock import SimClock
from engine.domain.enums import LiquiditySide, OrderSide, OrderType
from engine.events.fills import OrderFilled
from engine.events.orders import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    SubmitOrder,
)
from engine.graph import TradingGraph
from engine.instruments import InstrumentRegistry
from engine.replay import ReplayDriver, ReplaySource
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    ScriptAction,
    ScriptedStrategy,
    make_bar,
    make_graph,
)
from engine.topics import bars_topic
from tests.unit.adapters.sim.test_sim_venue import (
    T0,
    Harness,
    fills,
    kinds,
    make_instrument,
)

D = Decimal
SECOND = 1_000_000_000
TAKER = LiquiditySide.TAKER
BUY = OrderSide.BUY
START = 1_700_000_000_000_000_000
MINUTE_NS = 60 * SECOND


def test_a_submit_reaches_the_venue_after_the_command_latency() -> None:
    harness = Harness(SimVenueConfig(command_latency_ns=30 * SECOND))
    harness.submit()
    on_its_way = harness.take()

    harness.bar(1, 100.0, 101.0, 99.0, 100.5)  # the order arrived at T0 + 30 s
    sent = harness.take()

    assert on_its_way == []
    assert kinds(sent) == [OrderAccepted, OrderFilled]
    assert sent[0].ts_event == T0 + 30 * SECOND
    assert fills(sent) == [(D("100.00"), D(1), T0 + 30 * SECOND, TAKER)]


def test_a_submit_slower_than_a_bar_misses_it_and_fills_on_the_next() -> None:
    harness = Harness(SimVenueConfig(command_latency_ns=90 * SECOND))
    harness.submit()

    harness.bar(1, 100.0, 101.0, 99.0, 100.5)  # the order is still on its way
    missed = harness.take()
    harness.bar(2, 102.0, 103.0, 101.0, 102.5)
    filled = harness.take()

    assert missed == []
    assert fills(filled) == [(D("102.00"), D(1), T0 + 90 * SECOND, TAKER)]


def test_answers_reach_the_engine_after_the_event_latency_stamped_when_received() -> None:
    harness = Harness(SimVenueConfig(event_latency_ns=5 * SECOND))
    harness.submit()
    at_once = harness.take()

    harness.clock.advance_to(T0 + 5 * SECOND)
    received = harness.take()

    assert at_once == []
    [accepted] = received
    assert isinstance(accepted, OrderAccepted)
    assert (accepted.ts_event, accepted.ts_init) == (T0, T0 + 5 * SECOND)


def test_a_cancel_still_on_its_way_when_the_order_fills_is_rejected_as_live() -> None:
    harness = Harness(SimVenueConfig(command_latency_ns=30 * SECOND))
    harness.submit(order_type=OrderType.LIMIT, price=D("99.50"))
    harness.clock.advance_to(T0 + 40 * SECOND)  # accepted at T0 + 30 s
    harness.cancel()  # sent at T0 + 40 s, arrives at T0 + 70 s

    harness.bar(1, 100.0, 101.0, 99.0, 100.5)  # the limit fills at T0 + 60 s
    filled = harness.take()
    harness.clock.advance_to(T0 + 70 * SECOND)
    too_late = harness.take()

    assert kinds(filled) == [OrderAccepted, OrderFilled]
    assert kinds(too_late) == [OrderCancelRejected]
    assert harness.statistics().orders_canceled == 0


def test_commands_arrive_in_the_order_sent() -> None:
    harness = Harness(SimVenueConfig(command_latency_ns=10 * SECOND))
    harness.submit(order_type=OrderType.LIMIT, price=D("90.00"))
    harness.clock.advance_to(T0 + 3 * SECOND)
    harness.cancel()

    harness.clock.advance_to(T0 + 13 * SECOND)
    sent = harness.take()

    assert kinds(sent) == [OrderAccepted, OrderCanceled]
    assert [m.ts_event for m in sent] == [T0 + 10 * SECOND, T0 + 13 * SECOND]


def test_what_is_in_flight_is_in_the_snapshot_and_a_venue_without_latency_refuses_it() -> None:
    harness = Harness(SimVenueConfig(command_latency_ns=30 * SECOND))
    harness.submit()

    snapshot = harness.venue.snapshot_state()
    same = SimVenue(SimVenueConfig(command_latency_ns=30 * SECOND),
                    InstrumentRegistry([make_instrument()]))
    same.restore_state(snapshot)
    without = SimVenue(SimVenueConfig(), InstrumentRegistry([make_instrument()]))

    assert snapshot.inbound is not None
    [(arrives, command)] = snapshot.inbound.in_flight
    assert arrives == T0 + 30 * SECOND and isinstance(command, SubmitOrder)
    assert same.snapshot_state().inbound == snapshot.inbound
    with pytest.raises(ValueError, match="1 messages in flight.*no command_latency_ns"):
        without.restore_state(snapshot)


def test_delay_line_is_a_fifo_that_names_the_timer_to_arm() -> None:
    line: DelayLine[str] = DelayLine(10)

    assert line.send("a", 0) == 10  # the head: arm a timer for it
    assert line.send("b", 4) is None  # behind it
    assert line.arrived(9) == [] and line.arrived(10) == ["a"]
    assert line.next_arrival() == 14
    assert line.arrived(20) == ["b"] and line.next_arrival() is None


def test_negative_latency_is_a_config_error_naming_the_field() -> None:
    with pytest.raises(msgspec.ValidationError, match="event_latency_ns -1: must be >= 0"):
        msgspec.convert({"event_latency_ns": -1}, SimVenueConfig)


def test_the_paper_daemon_refuses_latency_naming_the_field() -> None:
    with pytest.raises(msgspec.ValidationError, match="command_latency_ns: a backtest model"):
        msgspec.convert({"kind": "sim", "command_latency_ns": 1}, SimVenueEntry)


def run_graph(config: SimVenueConfig, script: dict[int, ScriptAction], count: int
              ) -> tuple[ScriptedStrategy, TradingGraph]:
    """Bars 100, 101, 102, ... a minute apart through a backtest graph with the venue."""
    cache = MarketCache()
    clock = SimClock()
    graph = make_graph(clock=clock, cache=cache, fail_fast=True)
    graph.add_bar_source(BAR_TYPE)
    graph.add_venue(SimVenue(config, graph.instruments, cache=cache))
    strategy = ScriptedStrategy("s1", script)
    graph.add_strategy(strategy)
    data = [make_bar(100.0 + i, open=100.0 + i, high=100.5 + i, low=99.5 + i,
                     ts_event=START + (i + 1) * MINUTE_NS) for i in range(count)]
    ReplayDriver(graph, clock, [ReplaySource(data, bars_topic(INSTRUMENT_ID, "1m"),
                                             INSTRUMENT_ID)]).run(start=graph.start)
    return strategy, graph


def test_in_a_backtest_an_order_slower_than_a_bar_fills_a_bar_later_and_the_same_each_run() -> None:
    buy: dict[int, ScriptAction] = {0: lambda s, _: s.market_order(INSTRUMENT_ID, BUY, 1)}

    at_once, _ = run_graph(SimVenueConfig(), buy, 4)
    slow, _ = run_graph(SimVenueConfig(command_latency_ns=90 * SECOND,
                                       event_latency_ns=2 * SECOND), buy, 4)
    again, _ = run_graph(SimVenueConfig(command_latency_ns=90 * SECOND,
                                        event_latency_ns=2 * SECOND), buy, 4)

    assert [f.last_price for f in at_once.events(OrderFilled)] == [D("101.00")]
    [fill] = slow.events(OrderFilled)
    assert fill.last_price == D("102.00")  # bar 1 passed while the order was on its way
    # Made when the venue saw bar 2 (3 minutes in), received 2 s later; at the venue's
    # time of the order's arrival (a bar's open is its first instant).
    assert (fill.ts_event, fill.ts_init) == (START + MINUTE_NS + 90 * SECOND,
                                             START + 3 * MINUTE_NS + 2 * SECOND)
    assert again.events(OrderFilled) == slow.events(OrderFilled)

