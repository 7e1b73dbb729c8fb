"""OrderTracker: the adapter's memory of its orders, turning exchange news into order events.

News about an order comes from three places, in any order and any number of times: the
answer to a REST request, the private stream (`watch_orders`, `watch_my_trades`) and
the backstop's REST queries. The tracker makes one consistent story of them:

- OrderAccepted once, before any fill (a fill that comes first brings it forward);
- OrderFilled once per trade id, never inferred from a cumulative quantity (a fill
  known only by quantity waits for its trade, which the backstop fetches);
- OrderCanceled / OrderExpired / OrderRejected once, and a cancel only after every
  fill the exchange counted for the order has been delivered;
- a trade of an order not known yet (its submit answer still on the way) is held
  until the order is, so no fill is dropped;
- an order this session did not place (placed before a restart, or by hand) is tracked
  from its first news, so its later fills and cancel are delivered too; its earlier
  fills are left to reconciliation (never backfilled here, which could book a fill that
  reconciliation already inferred under another trade id).

An engine order may be several exchange orders ("legs"): a modify is a cancel-replace,
so the tracker keeps every leg's venue order id, ignores the cancel of a replaced leg,
delivers OrderUpdated when the new leg is first seen (before any of its fills, from
whichever source sees it first) and adds up fills across legs. It is synchronous and
does no I/O; the execution client feeds it and asks it what to check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from adapters.ccxt.ids import engine_client_id
from adapters.ccxt.parsing import decimal, fill_report
from engine.domain.enums import OrderSide, OrderType
from engine.events.base import Event
from engine.events.fills import OrderFilled
from engine.events.market import Instrument
from engine.events.orders import (
    EXTERNAL_STRATEGY_ID,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    OrderUpdated,
    SubmitOrder,
)

__all__ = ("OrderTracker", "TrackedOrder")

logger = logging.getLogger(__name__)

_HELD_ORDERS = 10_000
"""Orders whose trades may wait for their order news at once; the oldest go beyond."""


@dataclass
class TrackedOrder:
    """One engine order and what the adapter has delivered about it."""

    strategy_id: str
    client_order_id: str
    instrument: Instrument
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    exchange_client_ids: list[str]
    venue_order_id: str | None = None
    venue_order_ids: list[str] = field(default_factory=list)
    replaced: set[str] = field(default_factory=set)
    accepted: bool = False
    closed: bool = False
    trades: dict[str, tuple[Decimal, Decimal, str]] = field(default_factory=dict)
    """Trade id -> (quantity, price, venue order id of the leg) of every fill delivered."""
    leg_filled: dict[str, Decimal] = field(default_factory=dict)
    """Per venue order id, the filled quantity the exchange reported (may run ahead)."""
    pending_close: str | None = None
    in_doubt_since: float | None = None
    adopted: bool = False
    """Not placed in this session (before a restart, or by hand): its news is delivered
    from when it was first seen, earlier fills are reconciliation's to book."""
    new_terms: tuple[Decimal, Decimal | None, float] | None = None
    """A cancel-replace under way: (quantity, price, when it was sent, monotonic s).
    The new leg's first news delivers OrderUpdated with them."""

    @property
    def filled(self) -> Decimal:
        return sum((quantity for quantity, _, _ in self.trades.values()), Decimal(0))

    @property
    def average(self) -> Decimal | None:
        filled = self.filled
        if not filled:
            return None
        return sum((q * p for q, p, _ in self.trades.values()), Decimal(0)) / filled

    def filled_before(self, venue_order_id: str) -> Decimal:
        """What the legs other than `venue_order_id` filled (delivered fills)."""
        return sum((q for q, _, leg in self.trades.values() if leg != venue_order_id),
                   Decimal(0))

    @property
    def fills_missing(self) -> bool:
        """The exchange counted more fills than trades were delivered (never for an
        adopted order: its earlier fills are not this session's to deliver)."""
        return not self.adopted and sum(self.leg_filled.values(), Decimal(0)) > self.filled


class OrderTracker:
    """See the module docstring. `deliver` takes each event; `now_ns` stamps `ts_init`."""

    def __init__(self, venue: str, deliver: Callable[[Event], None],
                 now_ns: Callable[[], int],
                 instrument_for: Callable[[str], Instrument | None] = lambda symbol: None,
                 ) -> None:
        self._venue = venue
        self._deliver = deliver
        self._now_ns = now_ns
        self._instrument_for = instrument_for
        self._orders: dict[str, TrackedOrder] = {}
        self._by_venue_id: dict[str, str] = {}
        self._by_exchange_id: dict[str, str] = {}
        self._held: dict[str, list[dict[str, Any]]] = {}
        self.duplicate_trades = 0
        self.foreign_updates = 0
        self.adopted = 0
        self.held_dropped = 0

    # -- what the client registers -------------------------------------------------------

    def track(self, command: SubmitOrder, instrument: Instrument,
              exchange_client_id: str) -> TrackedOrder:
        order = TrackedOrder(
            strategy_id=command.strategy_id, client_order_id=command.client_order_id,
            instrument=instrument, side=command.side, order_type=command.order_type,
            quantity=command.quantity, price=command.price,
            exchange_client_ids=[exchange_client_id],
        )
        self._orders[command.client_order_id] = order
        self._by_exchange_id[exchange_client_id] = command.client_order_id
        return order

    def add_leg(self, order: TrackedOrder, exchange_client_id: str) -> None:
        """A cancel-replace's new leg: its news counts for `order`."""
        order.exchange_client_ids.append(exchange_client_id)
        self._by_exchange_id[exchange_client_id] = order.client_order_id

    def get(self, client_order_id: str) -> TrackedOrder | None:
        return self._orders.get(client_order_id)

    def find(self, *, venue_order_id: str | None = None,
             exchange_client_id: str | None = None) -> TrackedOrder | None:
        client_order_id = None
        if venue_order_id is not None:
            client_order_id = self._by_venue_id.get(venue_order_id)
        if client_order_id is None and exchange_client_id is not None:
            client_order_id = self._by_exchange_id.get(exchange_client_id)
        return None if client_order_id is None else self._orders.get(client_order_id)

    def in_flight(self) -> list[TrackedOrder]:
        """Orders still working or in doubt, or whose fills are not all delivered."""
        return [o for o in self._orders.values() if not o.closed or o.fills_missing]

    # -- news ------------------------------------------------------------------------------

    def on_order(self, raw: dict[str, Any]) -> TrackedOrder | None:
        """A ccxt order (REST answer, stream update or backstop query)."""
        venue_order_id = None if raw.get("id") is None else str(raw["id"])
        order = self.find(venue_order_id=venue_order_id,
                          exchange_client_id=raw.get("clientOrderId"))
        if order is None and venue_order_id is not None:
            order = self._adopt(raw, venue_order_id)
        if order is None or venue_order_id is None:
            self.foreign_updates += 1
            return None
        self._link(order, venue_order_id, raw.get("clientOrderId"))
        status = raw.get("status")
        if status == "rejected" and not order.accepted:
            self.reject(order, f"rejected by {self._venue}: {raw.get('info', {})}")
            return order
        self._accept(order, venue_order_id, raw.get("timestamp"))
        reported = decimal(raw.get("filled"), order.instrument.size_increment)
        if reported > order.leg_filled.get(venue_order_id, Decimal(0)):
            order.leg_filled[venue_order_id] = reported
        for trade in raw.get("trades") or ():
            if trade.get("id") is not None:
                # a REST answer's fills carry no side, time or role: the order's, a taker's
                self.on_trade({**trade, "order": venue_order_id,
                               "side": trade.get("side") or raw.get("side"),
                               "timestamp": trade.get("timestamp") or raw.get("timestamp"),
                               "takerOrMaker": trade.get("takerOrMaker") or "taker"})
        if status in ("canceled", "expired") and venue_order_id not in order.replaced:
            if venue_order_id == order.venue_order_id:
                order.pending_close = status
        if status == "closed" and order.adopted:
            order.closed = True  # filled: the fills before adoption were not ours to count
        self.settle(order)
        return order

    def on_trade(self, raw: dict[str, Any]) -> None:
        """A ccxt trade of ours (REST answer fills, `watch_my_trades`, `fetch_my_trades`)."""
        venue_order_id = None if raw.get("order") is None else str(raw["order"])
        if venue_order_id is None:
            self.foreign_updates += 1
            return
        order = self.find(venue_order_id=venue_order_id,
                          exchange_client_id=raw.get("clientOrderId"))
        if order is None:
            self._hold(venue_order_id, raw)
            return
        self._link(order, venue_order_id)
        trade_id = str(raw.get("id"))
        if trade_id in order.trades:
            self.duplicate_trades += 1
            return
        self._accept(order, venue_order_id, raw.get("timestamp"))
        report = fill_report(raw, order.instrument, order.client_order_id)
        order.trades[trade_id] = (report.last_quantity, report.last_price, venue_order_id)
        on_leg = sum((q for q, _, leg in order.trades.values() if leg == venue_order_id),
                     Decimal(0))
        if on_leg > order.leg_filled.get(venue_order_id, Decimal(0)):
            order.leg_filled[venue_order_id] = on_leg
        self._deliver(OrderFilled(
            strategy_id=order.strategy_id, client_order_id=order.client_order_id,
            instrument_id=order.instrument.instrument_id, venue_order_id=venue_order_id,
            trade_id=trade_id, side=report.side, last_quantity=report.last_quantity,
            last_price=report.last_price, commission=report.commission,
            commission_currency=report.commission_currency,
            liquidity_side=report.liquidity_side,
            ts_event=report.ts_event or self._now_ns(), ts_init=self._now_ns(),
        ))
        if order.filled >= order.quantity:
            order.closed = True
        self.settle(order)

    def reject(self, order: TrackedOrder, reason: str) -> None:
        """The submit was refused (or never arrived): OrderRejected, once."""
        if order.closed or order.accepted:
            return
        order.closed = True
        order.in_doubt_since = None
        now = self._now_ns()
        self._deliver(OrderRejected(
            strategy_id=order.strategy_id, client_order_id=order.client_order_id,
            instrument_id=order.instrument.instrument_id, reason=reason,
            ts_event=now, ts_init=now,
        ))

    def abandon(self, order: TrackedOrder) -> None:
        """The submit was refused unprocessed and the caller reports it: closed, nothing
        delivered here."""
        order.closed = True
        order.in_doubt_since = None

    def begin_replace(self, order: TrackedOrder, exchange_client_id: str, quantity: Decimal,
                      price: Decimal | None, now: float) -> None:
        """A cancel-replace: the working leg is being canceled; the new leg, under
        `exchange_client_id`, carries the new terms (OrderUpdated when it is first seen)."""
        if order.venue_order_id is not None:
            order.replaced.add(order.venue_order_id)
        self.add_leg(order, exchange_client_id)
        order.new_terms = (quantity, price, now)

    def undo_replace(self, order: TrackedOrder, venue_order_id: str) -> None:
        """The working leg could not be canceled: it stays the order's leg."""
        order.replaced.discard(venue_order_id)
        order.new_terms = None
        self._by_exchange_id.pop(order.exchange_client_ids.pop(), None)

    def close_replaced(self, order: TrackedOrder) -> None:
        """A cancel-replace canceled the old leg but its new leg was refused (or never
        arrived): the order is canceled."""
        order.new_terms = None
        order.pending_close = "canceled"
        if order.venue_order_id is not None:
            order.replaced.discard(order.venue_order_id)
        self.settle(order)

    # -- internals ----------------------------------------------------------------------------

    def _adopt(self, raw: dict[str, Any], venue_order_id: str) -> TrackedOrder | None:
        """Track an order this session did not place, from its first news (None when its
        market is not one of ours). Its client id is the engine's when the adapter made
        it before a restart; the order manager finds the strategy by it (or by the venue
        order id for an order reconciliation adopted), so `external` is a placeholder."""
        item = self._instrument_for(str(raw.get("symbol") or ""))
        if item is None or raw.get("side") not in ("buy", "sell"):
            return None
        exchange_id = str(raw.get("clientOrderId") or "")
        client_order_id = engine_client_id(exchange_id) or f"ext-{venue_order_id}"
        if client_order_id in self._orders:
            client_order_id = f"ext-{venue_order_id}"
        price = raw.get("price")
        order = TrackedOrder(
            strategy_id=EXTERNAL_STRATEGY_ID, client_order_id=client_order_id,
            instrument=item, side=OrderSide.BUY if raw["side"] == "buy" else OrderSide.SELL,
            order_type=OrderType.MARKET if raw.get("type") == "market" else OrderType.LIMIT,
            quantity=decimal(raw.get("amount"), item.size_increment),
            price=decimal(price, item.price_increment) if price else None,
            exchange_client_ids=[exchange_id], accepted=True, adopted=True,
        )
        self._orders[client_order_id] = order
        if exchange_id:
            self._by_exchange_id.setdefault(exchange_id, client_order_id)
        self.adopted += 1
        logger.info("venue %s: tracking order %s (%s), not placed in this session",
                    self._venue, venue_order_id, client_order_id)
        return order

    def _hold(self, venue_order_id: str, raw: dict[str, Any]) -> None:
        """Keep a trade of an order not known yet until its order news comes (bounded)."""
        self._held.setdefault(venue_order_id, []).append(raw)
        while len(self._held) > _HELD_ORDERS:
            oldest = next(iter(self._held))
            self.held_dropped += len(self._held.pop(oldest))
            logger.warning("venue %s: trades of order %s dropped unclaimed (no order news)",
                           self._venue, oldest)

    def _link(self, order: TrackedOrder, venue_order_id: str,
              exchange_client_id: str | None = None) -> None:
        if venue_order_id in self._by_venue_id:
            return
        self._by_venue_id[venue_order_id] = order.client_order_id
        order.venue_order_ids.append(venue_order_id)
        if order.venue_order_id is None or venue_order_id not in order.replaced:
            order.venue_order_id = venue_order_id
        if order.new_terms is not None and exchange_client_id == order.exchange_client_ids[-1]:
            quantity, price, _ = order.new_terms
            order.new_terms = None
            order.quantity, order.price = quantity, price
            now = self._now_ns()
            self._deliver(OrderUpdated(
                strategy_id=order.strategy_id, client_order_id=order.client_order_id,
                instrument_id=order.instrument.instrument_id, quantity=quantity, price=price,
                venue_order_id=venue_order_id, ts_event=now, ts_init=now,
            ))
        for trade in self._held.pop(venue_order_id, []):
            self.on_trade(trade)

    def _accept(self, order: TrackedOrder, venue_order_id: str, timestamp: Any) -> None:
        order.in_doubt_since = None
        if order.accepted:
            return
        order.accepted = True
        now = self._now_ns()
        self._deliver(OrderAccepted(
            strategy_id=order.strategy_id, client_order_id=order.client_order_id,
            instrument_id=order.instrument.instrument_id, venue_order_id=venue_order_id,
            ts_event=int(timestamp) * 1_000_000 if timestamp else now, ts_init=now,
        ))

    def settle(self, order: TrackedOrder) -> None:
        """Deliver a pending cancel or expiry once every counted fill is delivered."""
        if order.pending_close is None or order.fills_missing or order.closed:
            if order.closed:
                order.pending_close = None
            return
        kind = OrderCanceled if order.pending_close == "canceled" else OrderExpired
        order.pending_close = None
        order.closed = True
        now = self._now_ns()
        self._deliver(kind(
            strategy_id=order.strategy_id, client_order_id=order.client_order_id,
            instrument_id=order.instrument.instrument_id, ts_event=now, ts_init=now,
        ))
