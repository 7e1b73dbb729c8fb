"""Order lifecycle properties: whatever a venue sends, published events obey the state
machine, no fill is booked twice, and every fill the venue made reaches the books."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, strategies as st

from engine.actors.orders import OrderManager
from engine.bus import MessageBus
from engine.clock import SimClock
from engine.domain.enums import LiquiditySide, OrderSide, OrderStatus, OrderType
from engine.domain.lifecycle import next_status, status_after_fill
from engine.events.base import Message
from engine.events.fills import OrderFilled
from engine.events.orders import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderModifyRejected,
    OrderOutcomeUnknown,
    OrderPendingCancel,
    OrderPendingUpdate,
    OrderRejected,
    OrderSubmitted,
    OrderTriggered,
    OrderUpdated,
    SubmitOrder,
)
from engine.events.system import OrderTransitionRejected
from engine.topics import ALL_EVENTS, ALL_SYSTEM, ORDERS_EXECUTE, ORDERS_PROCESS, venue_endpoint

INSTRUMENT = "BTC/USDT.SIM"
ORDER: dict[str, Any] = {"strategy_id": "s1", "client_order_id": "c1", "instrument_id": INSTRUMENT}

quantities = st.one_of(
    st.integers(min_value=0, max_value=6).map(Decimal),
    st.decimals(min_value=0, max_value=6, places=1),
)


def _fill(quantity: Decimal, price: Decimal, trade: int) -> OrderFilled:
    return OrderFilled(
        **ORDER, venue_order_id="v1", trade_id=f"t{trade}", side=OrderSide.BUY,
        last_quantity=quantity, last_price=price, commission=Decimal(0), commission_currency="USDT",
        liquidity_side=LiquiditySide.TAKER, ts_event=0, ts_init=0,
    )


TS = {"ts_event": 0, "ts_init": 0}
order_events = st.one_of(
    st.just(OrderAccepted(**ORDER, venue_order_id="v1", **TS)),
    st.just(OrderRejected(**ORDER, reason="no", **TS)),
    st.just(OrderTriggered(**ORDER, **TS)),
    st.just(OrderCanceled(**ORDER, **TS)),
    st.just(OrderExpired(**ORDER, **TS)),
    st.just(OrderModifyRejected(**ORDER, reason="no", **TS)),
    st.just(OrderCancelRejected(**ORDER, reason="no", **TS)),
    st.just(OrderSubmitted(**ORDER, venue="SIM", **TS)),
    st.just(OrderDenied(**ORDER, side=OrderSide.BUY, order_type=OrderType.LIMIT,
                        quantity=Decimal(1), reason="late", **TS)),
    quantities.map(lambda q: OrderUpdated(**ORDER, quantity=q, **TS)),
    st.just(OrderPendingCancel(**ORDER, **TS)),
    st.just(OrderPendingUpdate(**ORDER, **TS)),
    st.sampled_from(["submit", "cancel", "modify"]).map(
        lambda op: OrderOutcomeUnknown(**ORDER, operation=op, reason="timeout", **TS)),
    # Few trade ids, so the same fill often arrives twice.
    st.builds(_fill, quantities, st.decimals(min_value=1, max_value=1000, places=2),
              st.integers(min_value=0, max_value=4)),
)
_PENDING = (OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_UPDATE, OrderStatus.IN_DOUBT)


def _tag(event: Message) -> str:
    return str(type(event).__struct_config__.tag)


@given(
    quantity=st.integers(min_value=1, max_value=6).map(Decimal),
    venue_exists=st.booleans(),
    fed=st.lists(order_events, max_size=25),
)
def test_order_manager_published_sequence_obeys_transitions(
    quantity: Decimal, venue_exists: bool, fed: list[OrderEvent]
) -> None:
    bus = MessageBus()
    clock = SimClock()
    manager = OrderManager()
    manager.register(bus, clock)
    published: list[Message] = []
    surfaced: list[Message] = []
    bus.subscribe(ALL_EVENTS, published.append)
    bus.subscribe(ALL_SYSTEM, surfaced.append)
    if venue_exists:
        bus.register_endpoint(venue_endpoint("SIM"), lambda command: None)
    manager.start()
    bus.send(ORDERS_EXECUTE, SubmitOrder(**ORDER, side=OrderSide.BUY,
                                         order_type=OrderType.LIMIT, quantity=quantity,
                                         price=Decimal(100), **TS))
    for event in fed:
        bus.send(ORDERS_PROCESS, event)

    # Replay what strategies saw through the table: every step must be legal.
    status, previous = OrderStatus.INITIALIZED, None
    filled, order_quantity = Decimal(0), quantity
    trade_ids: list[str] = []
    for event in published:
        after = next_status(status, _tag(event), previous)
        assert after is not None, f"{_tag(event)} published in state {status}"
        if isinstance(event, OrderFilled):
            assert event.last_quantity > 0
            trade_ids.append(event.trade_id)
            filled += event.last_quantity
            assert filled <= order_quantity
            after = status_after_fill(after, filled == order_quantity)
            if after in _PENDING:
                previous = OrderStatus.PARTIALLY_FILLED
        elif isinstance(event, OrderUpdated):
            order_quantity = event.quantity
            assert order_quantity > 0 and order_quantity >= filled
        if after in _PENDING and status not in _PENDING:
            previous = status
        elif after not in _PENDING:
            previous = None
        status = after
    # No fill is booked twice.
    assert len(trade_ids) == len(set(trade_ids))

    order = manager.order("c1")
    assert order is not None
    assert (order.status, order.filled_quantity, order.quantity) == (status, filled,
                                                                     order_quantity)
    stats = manager.statistics()
    # The submit plus every fed event: each one was published, or refused and counted.
    refused = (stats.illegal_transitions + stats.duplicate_fills + stats.duplicate_events
               + stats.invalid_events)
    assert len(published) + refused == 1 + len(fed)
    rejections = [m for m in surfaced if isinstance(m, OrderTransitionRejected)]
    assert len(rejections) == stats.illegal_transitions + stats.invalid_events
    assert stats.fills == sum(isinstance(e, OrderFilled) for e in published)
    assert stats.unknown_order_events == 0
    assert stats.open_orders == (1 if order.is_open else 0)
    # Every well-formed, new fill that fits the order was booked, whatever state the
    # order was in when it arrived (a fill after a cancel included), once it had left.
    if venue_exists:
        fitting = Decimal(0)
        seen: set[str] = set()
        for event in fed:
            if (isinstance(event, OrderFilled) and event.trade_id not in seen
                    and event.last_quantity > 0):
                seen.add(event.trade_id)
                fitting += event.last_quantity
        if fitting <= min(quantity, order_quantity) and not any(
            isinstance(e, OrderUpdated) for e in fed
        ):
            assert filled == fitting
