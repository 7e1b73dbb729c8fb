"""The order manager: the one owner of every order's state.

Commands arrive from risk at `ORDERS_EXECUTE` and are routed to the venue named in the
instrument id; events arrive from venues and risk at `ORDERS_PROCESS` and are applied
through the lifecycle table. Only an event the table allows is applied and published on
`events.order.<strategy>`; anything else is counted, surfaced as
`OrderTransitionRejected` and dropped. So a strategy never sees an order move in a way
the state machine forbids, whatever a venue sends.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from engine.actor import Actor
from engine.domain.enums import OrderStatus, TimeInForce
from engine.domain.ids import split_instrument_id
from engine.domain.lifecycle import next_status
from engine.domain.order import Order
from engine.events.codec import TAGS
from engine.events.fills import OrderFilled
from engine.events.orders import (
    CancelOrder,
    ModifyOrder,
    OrderAccepted,
    OrderCancelRejected,
    OrderDenied,
    OrderEvent,
    OrderModifyRejected,
    OrderRejected,
    OrderSubmitted,
    OrderUpdated,
    SubmitOrder,
    command_rejected,
    order_denied,
)
from engine.events.system import OrderTransitionRejected
from engine.topics import ORDERS_EXECUTE, ORDERS_PROCESS, order_topic, system_topic, venue_endpoint

__all__ = ("OrderManager", "OrderManagerStatistics", "order_record")



class OrderManagerStatistics(msgspec.Struct, frozen=True, kw_only=True):
    orders: int
    open_orders: int
    submitted: int
    denied: int
    rejected: int
    fills: int
    illegal_transitions: int
    unknown_order_events: int


class OrderManager(Actor):
    """Keep the order book, apply the lifecycle, route commands to venues."""

    def __init__(self, actor_id: str = "orders") -> None:
        super().__init__(actor_id)
        self._orders: dict[str, Order] = {}
        self._open: dict[str, Order] = {}
        self._submitted = 0
        self._denied = 0
        self._rejected = 0
        self._fills = 0
        self._illegal = 0
        self._unknown = 0

    def on_start(self) -> None:
        self.register_endpoint(ORDERS_EXECUTE)
        self.register_endpoint(ORDERS_PROCESS, self._process)

    # -- read access ---------------------------------------------------------------------

    def order(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    def orders(self, *, strategy_id: str | None = None) -> list[Order]:
        """Every order this session, in creation order."""
        return [o for o in self._orders.values() if strategy_id in (None, o.strategy_id)]

    def open_orders(
        self, *, strategy_id: str | None = None, instrument_id: str | None = None
    ) -> list[Order]:
        """Open orders in creation order, optionally for one strategy or instrument."""
        return [
            o
            for o in self._open.values()
            if strategy_id in (None, o.strategy_id) and instrument_id in (None, o.instrument_id)
        ]

    def open_order_count(self) -> int:
        """How many orders are open (without building the list)."""
        return len(self._open)

    def statistics(self) -> OrderManagerStatistics:
        return OrderManagerStatistics(
            orders=len(self._orders),
            open_orders=len(self._open),
            submitted=self._submitted,
            denied=self._denied,
            rejected=self._rejected,
            fills=self._fills,
            illegal_transitions=self._illegal,
            unknown_order_events=self._unknown,
        )

    # -- commands (from risk) --------------------------------------------------------------

    def on_submit_order(self, command: SubmitOrder) -> None:
        existing = self._orders.get(command.client_order_id)
        if existing is not None:
            self._reject_transition(existing, "command.submit_order")
            return
        now = self.clock.timestamp_ns()
        self._orders[command.client_order_id] = order_record(command, ts_ns=now)
        try:
            _, venue = split_instrument_id(command.instrument_id)
        except ValueError as error:
            self._process(order_denied(command, f"no_venue: {error}", now))
            return
        endpoint = venue_endpoint(venue)
        if not self.bus.has_endpoint(endpoint):
            self._process(order_denied(command, f"no_venue: no adapter for venue {venue}", now))
            return
        self._process(
            OrderSubmitted(
                strategy_id=command.strategy_id,
                client_order_id=command.client_order_id,
                instrument_id=command.instrument_id,
                venue=venue,
                ts_event=now,
                ts_init=now,
            )
        )
        self.send(endpoint, command)

    def on_cancel_order(self, command: CancelOrder) -> None:
        self._route_to_open_order(command, OrderCancelRejected)

    def on_modify_order(self, command: ModifyOrder) -> None:
        self._route_to_open_order(command, OrderModifyRejected)

    def _route_to_open_order(
        self,
        command: CancelOrder | ModifyOrder,
        refusal_type: type[OrderCancelRejected] | type[OrderModifyRejected],
    ) -> None:
        """Send `command` to the venue of its open order, or tell the strategy it is not open."""
        order = self._open.get(command.client_order_id)
        if order is not None:
            self.send(venue_endpoint(split_instrument_id(order.instrument_id)[1]), command)
            return
        # No state changes, so this bypasses the lifecycle: the strategy is told directly.
        refusal = command_rejected(
            refusal_type, command, "order is not open", self.clock.timestamp_ns()
        )
        self.publish(order_topic(command.strategy_id), refusal)

    # -- events (from venues and risk) -------------------------------------------------------

    def _process(self, event: Any) -> None:
        if not isinstance(event, OrderEvent):
            raise TypeError(f"message {type(event).__name__}: {ORDERS_PROCESS} takes order events")
        order = self._orders.get(event.client_order_id)
        if order is None:
            if type(event) is not OrderDenied:
                self._unknown += 1
                self._surface(event.client_order_id, "unknown", TAGS[type(event)])
                return
            order = order_record(event, ts_ns=event.ts_init)
            self._orders[event.client_order_id] = order
        updated = self._apply(order, event)
        if updated is None:
            self._reject_transition(order, TAGS[type(event)])
            return
        self._orders[updated.client_order_id] = updated
        if updated.is_open:
            self._open[updated.client_order_id] = updated
        else:
            self._open.pop(updated.client_order_id, None)
        self.publish(order_topic(updated.strategy_id), event)

    def _apply(self, order: Order, event: OrderEvent) -> Order | None:
        """Return the order after `event`, or None when the lifecycle forbids it."""
        kind = TAGS[type(event)]
        status = next_status(order.status, kind)
        if status is None:
            return None
        changes: dict[str, Any] = {"status": status, "ts_last": event.ts_init}
        if type(event) is OrderFilled:
            filled = order.filled_quantity + event.last_quantity
            if event.last_quantity <= 0 or filled > order.quantity:
                return None
            previous_cost = (order.average_fill_price or Decimal(0)) * order.filled_quantity
            changes["average_fill_price"] = (
                previous_cost + event.last_price * event.last_quantity
            ) / filled
            changes["filled_quantity"] = filled
            changes["status"] = (
                OrderStatus.FILLED if filled == order.quantity else OrderStatus.PARTIALLY_FILLED
            )
            self._fills += 1
        elif type(event) is OrderAccepted:
            changes["venue_order_id"] = event.venue_order_id
        elif type(event) is OrderUpdated:
            # Down to the filled quantity would leave an open order with nothing to fill.
            if event.quantity <= 0 or event.quantity <= order.filled_quantity:
                return None
            changes.update(
                quantity=event.quantity,
                price=event.price if event.price is not None else order.price,
                trigger_price=event.trigger_price
                if event.trigger_price is not None
                else order.trigger_price,
            )
        elif type(event) is OrderSubmitted:
            self._submitted += 1
        elif type(event) is OrderDenied:
            self._denied += 1
            changes["reason"] = event.reason
        elif type(event) is OrderRejected:
            self._rejected += 1
            changes["reason"] = event.reason
        return msgspec.structs.replace(order, **changes)

    def _reject_transition(self, order: Order, event_kind: str) -> None:
        self._illegal += 1
        self._surface(order.client_order_id, str(order.status), event_kind)

    def _surface(self, client_order_id: str, from_state: str, event_kind: str) -> None:
        now = self.clock.timestamp_ns()
        self.publish(
            system_topic("orders"),
            OrderTransitionRejected(
                client_order_id=client_order_id,
                from_state=from_state,
                event_kind=event_kind,
                ts_event=now,
                ts_init=now,
            ),
        )


def order_record(
    source: SubmitOrder | OrderDenied,
    *,
    status: OrderStatus = OrderStatus.INITIALIZED,
    ts_ns: int = 0,
) -> Order:
    """Return the first record of the order `source` carries, created and last seen at `ts_ns`.

    A denial carries no time in force or reduce-only flag: its record has the defaults.
    """
    if type(source) is SubmitOrder:
        time_in_force, reduce_only = source.time_in_force, source.reduce_only
    else:
        time_in_force, reduce_only = TimeInForce.GTC, False
    return Order(
        client_order_id=source.client_order_id,
        strategy_id=source.strategy_id,
        instrument_id=source.instrument_id,
        side=source.side,
        order_type=source.order_type,
        quantity=source.quantity,
        price=source.price,
        trigger_price=source.trigger_price,
        time_in_force=time_in_force,
        reduce_only=reduce_only,
        status=status,
        ts_created=ts_ns,
        ts_last=ts_ns,
    )
