"""Whatever a venue delivers (late, twice, out of order, or not at all), the books end
equal to what the venue really did once reconciliation has run, and no command leaves
while it runs.

A "true venue" is drawn first: orders, their trades and how each ended. The engine is
then told a random part of it, duplicated and shuffled (fills after cancels included),
and finally reconciles against the whole truth.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anyio
from hypothesis import HealthCheck, given, settings, strategies as st

from engine.clock import SimClock
from engine.domain.enums import LiquiditySide, OrderSide, OrderStatus, OrderType
from engine.domain.reports import FillReport, OrderStatusReport
from engine.events.base import Event
from engine.events.fills import OrderFilled
from engine.events.orders import (
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    SubmitOrder,
)
from engine.runtime.execution import ExecutionBridge, SendGate
from engine.runtime.reconciliation import reconcile
from engine.testing import INSTRUMENT_ID, ScriptedExecutionClient, make_graph
from engine.topics import ORDERS_PROCESS, RISK_EXECUTE

START = 1_700_000_000_000_000_000
D = Decimal
PRICE = D("100")
FEE = D("0.05")

true_order = st.fixed_dictionaries({
    "side": st.sampled_from([OrderSide.BUY, OrderSide.SELL]),
    "fills": st.lists(st.sampled_from([D("0.5"), D("1")]), max_size=3),
    "end": st.sampled_from(["open", "canceled", "expired"]),
})


def _truth(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Make each drawn order consistent: quantity 3, ended FILLED once its fills reach it."""
    for index, order in enumerate(orders):
        order["id"] = f"c{index}"
        order["venue_id"] = f"v{index}"
        order["trades"] = [(f"T{index}-{k}", quantity) for k, quantity in
                           enumerate(order["fills"])]
        if sum(order["fills"], D(0)) == D(3):
            order["end"] = "filled"
    return orders


def _events(order: dict[str, Any]) -> list[Event]:
    ids = {"strategy_id": "s1", "client_order_id": order["id"], "instrument_id": INSTRUMENT_ID,
           "ts_event": START, "ts_init": START}
    events: list[Event] = [OrderAccepted(**ids, venue_order_id=order["venue_id"])]
    for trade_id, quantity in order["trades"]:
        events.append(OrderFilled(
            **ids, venue_order_id=order["venue_id"], trade_id=trade_id, side=order["side"],
            last_quantity=quantity, last_price=PRICE, commission=FEE,
            commission_currency="USDT", liquidity_side=LiquiditySide.TAKER))
    if order["end"] == "canceled":
        events.append(OrderCanceled(**ids))
    elif order["end"] == "expired":
        events.append(OrderExpired(**ids))
    return events


_STATUS = {"open": OrderStatus.ACCEPTED, "canceled": OrderStatus.CANCELED,
           "expired": OrderStatus.EXPIRED, "filled": OrderStatus.FILLED}


def _report(order: dict[str, Any]) -> OrderStatusReport:
    filled = sum(order["fills"], D(0))
    status = _STATUS[order["end"]]
    if status is OrderStatus.ACCEPTED and filled:
        status = OrderStatus.PARTIALLY_FILLED
    return OrderStatusReport(
        venue="SIM", instrument_id=INSTRUMENT_ID, client_order_id=order["id"],
        venue_order_id=order["venue_id"], side=order["side"], order_type=OrderType.LIMIT,
        quantity=D(3), status=status, filled_quantity=filled,
        average_fill_price=PRICE if filled else None, price=PRICE, ts_event=START)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders=st.lists(true_order, min_size=1, max_size=4), data=st.data())
def test_books_equal_the_venue_after_any_delivery_and_reconciliation(
    orders: list[dict[str, Any]], data: st.DataObject
) -> None:
    truth = _truth(orders)
    clock = SimClock(start_ns=START)
    graph = make_graph(clock=clock)
    venue = ScriptedExecutionClient("SIM")
    gate = SendGate()
    bridge = ExecutionBridge(venue, deliver=lambda e: None, orders=graph.orders, gate=gate)
    graph.add_venue(bridge)
    graph.start()
    bridge.replaying = True  # these orders "left" before: only the later one is sent
    for order in truth:
        graph.bus.send(RISK_EXECUTE, SubmitOrder(
            strategy_id="s1", client_order_id=order["id"], instrument_id=INSTRUMENT_ID,
            side=order["side"], order_type=OrderType.LIMIT, quantity=D(3), price=PRICE,
            ts_event=START, ts_init=START))

    bridge.replaying = False
    # What the engine hears: some of it, some of it twice, in any order.
    everything = [event for order in truth for event in _events(order)]
    heard = data.draw(st.lists(st.sampled_from(everything), max_size=len(everything) * 2)
                      if everything else st.just([]))
    for event in heard:
        graph.bus.send(ORDERS_PROCESS, event)

    # The venue's whole truth, as its queries answer it.
    venue.open = [_report(o) for o in truth if o["end"] == "open"]
    venue.statuses = {o["id"]: _report(o) for o in truth}
    venue.fills = [FillReport(
        venue="SIM", instrument_id=INSTRUMENT_ID, client_order_id=o["id"],
        venue_order_id=o["venue_id"], trade_id=trade_id, side=o["side"],
        last_quantity=quantity, last_price=PRICE, commission=FEE, commission_currency="USDT",
        liquidity_side=LiquiditySide.TAKER, ts_event=START) for o in truth
        for trade_id, quantity in o["trades"]]

    async def reconcile_with_gate_closed() -> None:
        gate.close()  # as the node does: nothing may leave while it runs
        async with anyio.create_task_group() as group:
            await group.start(bridge.run)
            # A strategy's command in the middle of it waits at the gate.
            graph.bus.send(RISK_EXECUTE, SubmitOrder(
                strategy_id="s1", client_order_id="late", instrument_id=INSTRUMENT_ID,
                side=OrderSide.BUY, order_type=OrderType.LIMIT, quantity=D(1), price=PRICE,
                ts_event=START, ts_init=START))
            clock.advance_to(START + 1_000)
            await reconcile(venue, graph, since_ns=0, now_ns=clock.timestamp_ns(),
                            inject=lambda event, endpoint: graph.bus.send(endpoint, event),
                            unsent=bridge.unsent_order_ids())
            for _ in range(5):
                await anyio.lowlevel.checkpoint()
            assert venue.requests == []
            # Not taken for a lost submit: it had not left yet.
            late = graph.orders.order("late")
            assert late is not None and late.status is OrderStatus.SUBMITTED
            gate.open()
            for _ in range(5):
                await anyio.lowlevel.checkpoint()
            assert [r.client_order_id for r in venue.requests] == ["late"]
            group.cancel_scope.cancel()

    anyio.run(reconcile_with_gate_closed)

    # No fill booked twice, every fill the venue made booked (fills after cancels too).
    booked = [fill.trade_id for fill in graph.portfolio.fills()]
    assert len(booked) == len(set(booked))
    assert set(booked) == {trade_id for o in truth for trade_id, _ in o["trades"]}
    # Positions and balances are the sum of the venue's fills.
    net = sum((o["side"].sign * quantity for o in truth for _, quantity in o["trades"]), D(0))
    cash = sum((-o["side"].sign * quantity * PRICE - FEE
                for o in truth for _, quantity in o["trades"]), D(0))
    assert graph.portfolio.net_quantity(INSTRUMENT_ID) == net
    assert graph.portfolio.balance("USDT") == D(100_000) + cash
    assert graph.portfolio.balance("BTC") == net
    # Every order ends where the venue says it is.
    for order in truth:
        record = graph.orders.order(order["id"])
        assert record is not None
        assert record.filled_quantity == sum(order["fills"], D(0))
        expected = _STATUS[order["end"]]
        if order["end"] == "open":
            assert record.is_open
        else:
            assert record.status is expected, (record.status, order)
