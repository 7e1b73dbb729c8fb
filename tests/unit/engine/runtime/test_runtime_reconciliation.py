"""Reconciliation scenarios: a real graph (order manager, portfolio, risk) against a
scripted venue that was trading while the engine was down or deaf."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from engine.clock import SimClock
from engine.domain.enums import LiquiditySide, OrderSide, OrderStatus, OrderType
from engine.domain.reports import (
    AccountReport,
    BalanceReport,
    FillReport,
    OrderStatusReport,
    PositionReport,
)
from engine.events.base import Event
from engine.events.orders import (
    EXTERNAL_STRATEGY_ID,
    CancelOrder,
    OrderAccepted,
    OrderOutcomeUnknown,
    SubmitOrder,
)
from engine.graph import TradingGraph
from engine.runtime.execution import ExecutionBridge, SendGate
from engine.runtime.reconciliation import ReconciliationReport, reconcile
from engine.testing import INSTRUMENT_ID, ScriptedExecutionClient, make_graph
from engine.topics import ORDERS_PROCESS, RISK_EXECUTE

START = 1_700_000_000_000_000_000
D = Decimal


class World:
    """A started graph whose SIM venue is a scripted client behind an execution bridge."""

    def __init__(self, order_types: frozenset[OrderType] | None = None) -> None:
        self.clock = SimClock(start_ns=START)
        self.graph: TradingGraph = make_graph(clock=self.clock)
        self.venue = ScriptedExecutionClient("SIM")
        self.bridge = ExecutionBridge(self.venue, deliver=self.inject_event,
                                      orders=self.graph.orders, gate=SendGate())
        if order_types is not None:  # the venue's capability flags, read by add_venue
            self.venue.order_types = order_types
        self.graph.add_venue(self.bridge, self.venue)
        self.graph.start()
        self.injected: list[Event] = []

    def inject_event(self, event: Event) -> None:
        self.graph.bus.send(ORDERS_PROCESS, event)

    def inject(self, event: Event, endpoint: str) -> None:
        self.injected.append(event)
        self.graph.bus.send(endpoint, event)

    def submit(self, client_order_id: str, quantity: str = "3", price: str = "100",
               side: OrderSide = OrderSide.BUY) -> None:
        now = self.clock.timestamp_ns()
        self.graph.bus.send(RISK_EXECUTE, SubmitOrder(
            strategy_id="s1", client_order_id=client_order_id, instrument_id=INSTRUMENT_ID,
            side=side, order_type=OrderType.LIMIT, quantity=D(quantity), price=D(price),
            ts_event=now, ts_init=now))

    def accept(self, client_order_id: str) -> None:
        now = self.clock.timestamp_ns()
        self.inject_event(OrderAccepted(strategy_id="s1", client_order_id=client_order_id,
                                        instrument_id=INSTRUMENT_ID,
                                        venue_order_id=f"v-{client_order_id}",
                                        ts_event=now, ts_init=now))

    def order(self, client_order_id: str) -> Any:
        order = self.graph.orders.order(client_order_id)
        assert order is not None
        return order

    async def reconcile(self) -> ReconciliationReport:
        self.clock.advance_to(self.clock.timestamp_ns() + 1_000_000)
        return await reconcile(self.venue, self.graph, since_ns=0,
                               now_ns=self.clock.timestamp_ns(), inject=self.inject)


def report(client_order_id: str | None, venue_order_id: str, status: OrderStatus, *,
           quantity: str = "3", filled: str = "0", average: str | None = None,
           price: str = "100", side: OrderSide = OrderSide.BUY) -> OrderStatusReport:
    return OrderStatusReport(
        venue="SIM", instrument_id=INSTRUMENT_ID, client_order_id=client_order_id,
        venue_order_id=venue_order_id, side=side, order_type=OrderType.LIMIT,
        quantity=D(quantity), status=status, filled_quantity=D(filled),
        average_fill_price=None if average is None else D(average), price=D(price),
        ts_event=START + 500)


def trade(client_order_id: str | None, venue_order_id: str, trade_id: str, quantity: str,
          price: str = "100", side: OrderSide = OrderSide.BUY) -> FillReport:
    return FillReport(
        venue="SIM", instrument_id=INSTRUMENT_ID, client_order_id=client_order_id,
        venue_order_id=venue_order_id, trade_id=trade_id, side=side,
        last_quantity=D(quantity), last_price=D(price), commission=D("0.1"),
        commission_currency="USDT", liquidity_side=LiquiditySide.MAKER, ts_event=START + 400)


@pytest.fixture
def world() -> World:
    return World()


async def assert_agrees_now(world: World) -> None:
    """Reconciling again finds nothing: the plan's events really made the books match."""
    before = len(world.injected)
    again = await world.reconcile()
    assert again.agrees, again
    assert len(world.injected) == before


async def test_fills_missed_while_down_are_booked_once(world: World) -> None:
    world.submit("c1")
    world.accept("c1")
    world.venue.open = [report("c1", "v-c1", OrderStatus.PARTIALLY_FILLED, filled="1",
                               average="100")]
    world.venue.fills = [trade("c1", "v-c1", "T1", "1")]

    result = await world.reconcile()

    assert (result.matched, result.inferred_fills, result.events) == (1, 1, 1)
    order = world.order("c1")
    assert (order.status, order.filled_quantity) == (OrderStatus.PARTIALLY_FILLED, D("1"))
    assert world.graph.portfolio.net_quantity(INSTRUMENT_ID) == D("1")
    assert world.graph.portfolio.balance("USDT") == D(100_000) - D(100) - D("0.1")
    [fill] = world.graph.portfolio.fills()
    assert fill.inferred and fill.trade_id == "T1"
    await assert_agrees_now(world)


async def test_order_canceled_at_the_venue_while_down_is_closed(world: World) -> None:
    world.submit("c1")
    world.accept("c1")
    world.venue.statuses = {"c1": report("c1", "v-c1", OrderStatus.CANCELED)}

    result = await world.reconcile()

    assert (result.closed_at_venue, result.inferred_fills) == (1, 0)
    assert world.order("c1").status is OrderStatus.CANCELED
    assert world.graph.orders.open_order_count() == 0
    await assert_agrees_now(world)


async def test_order_filled_while_down_without_trade_history_gets_a_synthesized_fill(
    world: World,
) -> None:
    world.submit("c1")
    world.accept("c1")
    world.venue.statuses = {"c1": report("c1", "v-c1", OrderStatus.FILLED, filled="3",
                                         average="99.5")}

    result = await world.reconcile()

    order = world.order("c1")
    assert (order.status, order.filled_quantity, order.average_fill_price) == (
        OrderStatus.FILLED, D("3"), D("99.5"))
    assert result.inferred_fills == 1
    assert world.graph.portfolio.net_quantity(INSTRUMENT_ID) == D("3")
    await assert_agrees_now(world)


async def test_external_orders_and_their_trades_are_adopted(world: World) -> None:
    world.venue.open = [report(None, "X-1", OrderStatus.ACCEPTED, side=OrderSide.SELL,
                               price="120")]
    world.venue.fills = [trade("web-7", "X-2", "T9", "2", price="101")]

    result = await world.reconcile()

    assert result.external_orders == 2
    working = world.graph.orders.order_by_venue_id("X-1")
    done = world.graph.orders.order_by_venue_id("X-2")
    assert working is not None and done is not None
    assert (working.strategy_id, working.status) == (EXTERNAL_STRATEGY_ID, OrderStatus.ACCEPTED)
    assert (done.strategy_id, done.status, done.filled_quantity) == (
        EXTERNAL_STRATEGY_ID, OrderStatus.FILLED, D("2"))
    assert world.graph.portfolio.net_quantity(INSTRUMENT_ID, EXTERNAL_STRATEGY_ID) == D("2")
    await assert_agrees_now(world)


async def test_a_balance_that_moved_is_corrected_from_the_venue(world: World) -> None:
    world.venue.balances = AccountReport(venue="SIM", account_id="acc", balances=(
        BalanceReport(currency="USDT", total=D("99000"), free=D("98000"), locked=D("1000")),))

    result = await world.reconcile()

    assert result.balance_corrections == 1
    portfolio = world.graph.portfolio
    assert portfolio.balance("USDT") == D("99000")
    assert portfolio.venue_free_balance("USDT") == D("98000")
    assert portfolio.statistics().balance_corrections == 1
    await assert_agrees_now(world)


async def test_balances_that_only_reflect_missed_fills_need_no_correction(world: World) -> None:
    world.submit("c1")
    world.accept("c1")
    world.venue.statuses = {"c1": report("c1", "v-c1", OrderStatus.FILLED, filled="3",
                                         average="100")}
    world.venue.fills = [trade("c1", "v-c1", "T1", "3")]
    world.venue.balances = AccountReport(venue="SIM", account_id="acc", balances=(
        BalanceReport(currency="USDT", total=D(100_000) - D(300) - D("0.1"), free=D(0)),
        BalanceReport(currency="BTC", total=D(3), free=D(3))))

    result = await world.reconcile()

    assert (result.inferred_fills, result.balance_corrections) == (1, 0)
    await assert_agrees_now(world)


async def test_submit_in_doubt_that_filled_is_resolved_to_filled(world: World) -> None:
    world.submit("c1")
    world.inject_event(OrderOutcomeUnknown(strategy_id="s1", client_order_id="c1",
                                           instrument_id=INSTRUMENT_ID, operation="submit",
                                           reason="timeout", ts_event=START, ts_init=START))
    assert world.order("c1").status is OrderStatus.IN_DOUBT
    world.venue.statuses = {"c1": report("c1", "v-c1", OrderStatus.FILLED, filled="3",
                                         average="100")}
    world.venue.fills = [trade("c1", "v-c1", "T1", "2"), trade("c1", "v-c1", "T2", "1")]

    result = await world.reconcile()

    assert (result.in_doubt_resolved, result.inferred_fills) == (1, 2)
    order = world.order("c1")
    assert (order.status, order.venue_order_id, order.filled_quantity) == (
        OrderStatus.FILLED, "v-c1", D("3"))
    assert world.venue.requests == []  # settled by asking, never by resubmitting
    await assert_agrees_now(world)


async def test_submit_in_doubt_that_never_arrived_is_rejected_not_resent(world: World) -> None:
    world.submit("c1")
    world.inject_event(OrderOutcomeUnknown(strategy_id="s1", client_order_id="c1",
                                           instrument_id=INSTRUMENT_ID, operation="submit",
                                           reason="connection lost", ts_event=START,
                                           ts_init=START))

    result = await world.reconcile()

    assert (result.never_arrived, result.in_doubt_resolved) == (1, 1)
    order = world.order("c1")
    assert order.status is OrderStatus.REJECTED and "never arrived" in order.reason
    assert world.venue.requests == []  # reconciliation asks, it never sends
    await assert_agrees_now(world)


async def test_pending_cancel_the_venue_still_works_returns_to_open(world: World) -> None:
    world.submit("c1")
    world.accept("c1")
    world.graph.bus.send(RISK_EXECUTE, CancelOrder(strategy_id="s1", client_order_id="c1",
                                                   instrument_id=INSTRUMENT_ID,
                                                   ts_event=START, ts_init=START))
    assert world.order("c1").status is OrderStatus.PENDING_CANCEL
    world.venue.open = [report("c1", "v-c1", OrderStatus.ACCEPTED)]

    await world.reconcile()

    assert world.order("c1").status is OrderStatus.ACCEPTED
    await assert_agrees_now(world)


async def test_a_venue_position_the_books_lack_is_adjusted_under_external(
    world: World,
) -> None:
    world.venue.position_reports = [PositionReport(venue="SIM", instrument_id=INSTRUMENT_ID,
                                                   quantity=D("-2"),
                                                   average_entry_price=D("105"))]

    result = await world.reconcile()

    assert result.position_adjustments == 1
    assert world.graph.portfolio.net_quantity(INSTRUMENT_ID) == D("-2")
    await assert_agrees_now(world)


async def test_an_accepted_order_the_venue_has_no_record_of_is_left_and_reported(
    world: World,
) -> None:
    world.submit("c1")
    world.accept("c1")

    result = await world.reconcile()

    assert (result.unresolved, result.events) == (1, 0) and not result.agrees
    assert world.order("c1").status is OrderStatus.ACCEPTED


async def test_a_trade_that_would_overfill_is_refused_not_booked(world: World) -> None:
    world.submit("c1", quantity="1")
    world.accept("c1")
    world.venue.open = [report("c1", "v-c1", OrderStatus.PARTIALLY_FILLED, quantity="1",
                               filled="0.5")]
    world.venue.fills = [trade("c1", "v-c1", "T1", "0.5"), trade("c1", "v-c1", "T2", "5")]

    result = await world.reconcile()

    assert result.unresolved == 1
    assert world.order("c1").filled_quantity == D("0.5")


async def test_an_order_the_emulator_holds_is_neither_asked_of_nor_closed_by_the_venue(
) -> None:
    world = World(order_types=frozenset({OrderType.MARKET, OrderType.LIMIT}))
    now = world.clock.timestamp_ns()
    world.graph.bus.send(RISK_EXECUTE, SubmitOrder(
        strategy_id="s1", client_order_id="c1", instrument_id=INSTRUMENT_ID,
        side=OrderSide.SELL, order_type=OrderType.STOP_MARKET, quantity=D(1),
        trigger_price=D(90), ts_event=now, ts_init=now))
    assert world.order("c1").status is OrderStatus.EMULATED

    result = await world.reconcile()

    # The venue never saw it: no status query, no "never arrived" rejection.
    assert result.agrees and result.events == 0 and result.never_arrived == 0
    assert world.venue.requests == []  # and nothing was sent
    assert world.order("c1").status is OrderStatus.EMULATED
