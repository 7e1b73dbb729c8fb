"""The order manager: the one owner of every order's state.

Commands arrive from risk at `ORDERS_EXECUTE` and are routed to the venue named in the
instrument id; events arrive from venues and risk at `ORDERS_PROCESS` and are applied
through the lifecycle table (`engine.domain.lifecycle`). Only an event the table allows
is applied and published on `events.order.<strategy>`; anything else is counted,
surfaced as `OrderTransitionRejected` and dropped. So a strategy never sees an order
move in a way the state machine forbids, whatever a venue sends.

What real venues send, and what this actor does with it:

- Malformed events (a NaN or negative quantity, an unknown instrument) are counted,
  logged and dropped where they enter (`order_validation`); none raises.
- The same fill twice (the private stream and the REST backstop both report it): fills
  are de-duplicated by trade id per order; a duplicate is counted and never booked.
- A fill after a cancel or an expiry is booked (see the lifecycle module).
- Events that name an order by its venue order id only are matched through an index of
  venue order ids (both ways; a cancel-replace links the old id to the new one).
- Orders and fills the engine did not place are adopted under the strategy id
  `external` (`ExternalOrderAdopted`, or a fill of an order nobody knows), so the books
  match the venue. A fill-only adoption does not know the order's size: its quantity
  follows its fills.
- Events of an order that belongs to an order list (`Order.order_list_id`) are also
  sent to `CONTINGENCY_PROCESS` (an execution algorithm's children to `ALGOS_PROCESS`),
  after they are published: those actors act on them (`engine.actors.contingency`,
  `engine.algos`); plain orders are sent nowhere else.
- Cancels and modifies are marked pending (`OrderPendingCancel`, `OrderPendingUpdate`)
  when they leave, so the order is never believed canceled before the venue says so.
- An order of a type its instrument's venue does not place (`emulate`, from the venue's
  capability flags) is recorded EMULATED and sent to `EMULATOR_EXECUTE` instead of the
  venue, and so are its cancels and modifies while it is held there. The emulator's
  `OrderReleased` turns the record into the plain order it releases, and the released
  `SubmitOrder` (same client order id) then goes to the venue like any other.

Every order is kept unless a retention policy is given (`retain`, the daemon's): then
open orders are always kept and closed ones within the policy's window, with the trade
ids of their fills; a fill of an order no longer held, at or before the latest fill time
of an evicted order, is refused as stale (the bound and why: `engine.actors.retention`).
"""

from __future__ import annotations

import logging
from collections import deque
from decimal import Decimal
from typing import Any, ClassVar, Final

import msgspec

from engine.actor import Actor
from engine.actors.order_validation import invalid_amounts, invalid_reason
from engine.actors.retention import RetentionConfig
from engine.domain.enums import (
    ContingencyType,
    OrderStatus,
    OrderType,
    TrailingOffsetType,
    TriggerType,
)
from engine.domain.ids import split_instrument_id
from engine.domain.lifecycle import RESTORE, TRANSITIONS, restored_status, status_after_fill
from engine.domain.order import OPEN_STATUSES, Order
from engine.events.codec import TAGS
from engine.events.fills import OrderFilled
from engine.events.orders import (
    EXTERNAL_STRATEGY_ID,
    CancelOrder,
    ExternalOrderAdopted,
    ModifyOrder,
    OrderAccepted,
    OrderCancelRejected,
    OrderDenied,
    OrderEmulated,
    OrderEvent,
    OrderModifyRejected,
    OrderOutcomeUnknown,
    OrderPendingCancel,
    OrderPendingUpdate,
    OrderRejected,
    OrderReleased,
    OrderSubmitted,
    OrderUpdated,
    SubmitOrder,
    command_rejected,
    order_denied,
)
from engine.events.system import OrderTransitionRejected
from engine.instruments import InstrumentRegistry
from engine.snapshot import counters_of, set_counters
from engine.topics import (
    ALGOS_PROCESS,
    CONTINGENCY_PROCESS,
    EMULATOR_EXECUTE,
    ORDERS_EXECUTE,
    ORDERS_PROCESS,
    order_topic,
    system_topic,
    venue_endpoint,
)

__all__ = (
    "OrderManager",
    "OrderManagerSnapshot",
    "OrderManagerStatistics",
    "adopted_order_record",
    "order_record",
)

logger = logging.getLogger(__name__)

_ZERO: Final = Decimal(0)
# Enum members as module constants: a class attribute lookup on an enum costs ten times more.
_FILLED: Final = OrderStatus.FILLED
_PARTIALLY_FILLED: Final = OrderStatus.PARTIALLY_FILLED
_DEFAULT_TRIGGER: Final = TriggerType.DEFAULT
_PRICE_OFFSET: Final = TrailingOffsetType.PRICE
_EMULATED: Final = OrderStatus.EMULATED
_RELEASED: Final = OrderStatus.RELEASED
_NO_TYPES: Final[frozenset[OrderType]] = frozenset()
_CLOSED: Final = frozenset(status for status in OrderStatus if status.is_closed)
_PENDING_OR_DOUBT = frozenset(
    {OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_UPDATE, OrderStatus.IN_DOUBT}
)
_MODIFIABLE = frozenset(
    {
        OrderStatus.ACCEPTED,
        OrderStatus.TRIGGERED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_UPDATE,
    }
)


_WITH_AMOUNTS: Final = frozenset({OrderFilled, OrderUpdated, ExternalOrderAdopted})
# What may repeat a fill of an evicted order when it names no order held: the fill itself,
# or reconciliation adopting the evicted order's trades as an external order's.
_MAY_REPEAT_EVICTED: Final = frozenset({OrderFilled, ExternalOrderAdopted})


class OrderManagerStatistics(msgspec.Struct, frozen=True, kw_only=True):
    orders: int
    """Orders this session, held or evicted by the retention policy."""
    open_orders: int
    submitted: int
    denied: int
    rejected: int
    fills: int
    illegal_transitions: int
    unknown_order_events: int
    duplicate_fills: int = 0
    duplicate_events: int = 0
    invalid_events: int = 0
    late_fills: int = 0
    external_orders: int = 0
    in_doubt: int = 0
    orders_evicted: int = 0
    """Closed orders the retention policy let go (their history is in the journal)."""
    stale_fills: int = 0
    """Fills (and adoptions) refused as stale: of an order not held, at or before the
    latest fill time of an evicted order (`engine.actors.retention`)."""


_COUNTERS = (
    "_submitted", "_denied", "_rejected", "_fills", "_illegal", "_unknown", "_duplicate_fills",
    "_duplicate_events", "_invalid", "_late_fills", "_external", "_in_doubt", "_evicted",
    "_stale",
)


class OrderManagerSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The order manager's state: orders in creation order, which are open, booked trades,
    and under a retention policy the closed ones in closing order, the latest fill time of
    each held order and the eviction watermark."""

    orders: list[Order]
    open: list[str]
    trades: list[tuple[str, str]]
    by_venue_id: dict[str, str]
    open_ended: list[str]
    counters: dict[str, int]
    closed: list[str] = []
    fill_times: dict[str, int] = {}
    watermark: int | None = None
    evicted_counts: list[tuple[str, OrderStatus, int]] = []


class OrderManager(Actor):
    """Keep the order book, apply the lifecycle, route commands to venues.

    Args:
        instruments: when given, events for instruments not in it are refused as
            malformed (the graph passes its registry).
    """

    def __init__(
        self, actor_id: str = "orders", *, instruments: InstrumentRegistry | None = None
    ) -> None:
        super().__init__(actor_id)
        self._instruments = instruments
        self._orders: dict[str, Order] = {}
        self._open: dict[str, Order] = {}
        # (client order id, trade id) of every fill booked: one set, not one per order.
        self._trades: set[tuple[str, str]] = set()
        self._by_venue_id: dict[str, str] = {}  # venue order id (old ones too) -> client id
        self._open_ended: set[str] = set()  # adopted from a fill: quantity follows fills
        # Retention (None: keep everything, as a backtest does). The rest is kept only
        # under a policy: closed orders in closing order, each held order's trade ids,
        # the latest venue time of its fills, the venue ids a cancel-replace retired.
        self._retention: RetentionConfig | None = None
        self._closed_cap = 0
        self._horizon_ns = 0
        self._closed: deque[str] = deque()
        self._order_trades: dict[str, list[str]] = {}
        self._fill_times: dict[str, int] = {}
        self._replaced_ids: dict[str, list[str]] = {}
        self._watermark: int | None = None
        # (instrument id, final status) -> orders let go: `order_counts` stays exact.
        self._evicted_counts: dict[tuple[str, OrderStatus], int] = {}
        self._evicted = 0
        self._stale = 0
        self._submitted = 0
        self._denied = 0
        self._rejected = 0
        self._fills = 0
        self._illegal = 0
        self._unknown = 0
        self._duplicate_fills = 0
        self._duplicate_events = 0
        self._invalid = 0
        self._late_fills = 0
        self._external = 0
        self._in_doubt = 0
        # instrument id -> the order types its venue does not place (held by the emulator)
        self._emulated: dict[str, frozenset[OrderType]] = {}

    def emulate(self, instrument_id: str, order_types: frozenset[OrderType]) -> None:
        """Send orders of `order_types` for `instrument_id` to the order emulator instead
        of the venue, which does not place them (set before the graph starts)."""
        if order_types:
            self._emulated[instrument_id] = order_types
        else:
            self._emulated.pop(instrument_id, None)

    def on_start(self) -> None:
        self.register_endpoint(ORDERS_EXECUTE)
        self.register_endpoint(ORDERS_PROCESS, self._process)

    def retain(self, policy: RetentionConfig) -> None:
        """Keep closed orders only within `policy`'s window from now on (the daemon's).

        A closed order goes once it is not among the `closed_orders` most recently closed
        and closed at least `late_fill_horizon_s` of engine time ago; its trade ids go
        with it (see `engine.actors.retention` for what guards a later duplicate).
        """
        self._retention = policy
        self._closed_cap = policy.closed_orders
        self._horizon_ns = policy.late_fill_horizon_ns

    # -- snapshots (engine.snapshot) ------------------------------------------------------

    snapshot_type: ClassVar[type[msgspec.Struct]] = OrderManagerSnapshot

    def snapshot_state(self) -> OrderManagerSnapshot:
        return OrderManagerSnapshot(
            orders=list(self._orders.values()),
            open=list(self._open),
            trades=sorted(self._trades),  # a set: sorted, so equal states encode alike
            by_venue_id=dict(self._by_venue_id),
            open_ended=sorted(self._open_ended),
            counters=counters_of(self, _COUNTERS),
            closed=list(self._closed),
            fill_times=dict(self._fill_times),
            watermark=self._watermark,
            evicted_counts=[(*key, count) for key, count in sorted(self._evicted_counts.items())],
        )

    def restore_state(self, state: OrderManagerSnapshot) -> None:
        self._orders = {order.client_order_id: order for order in state.orders}
        self._open = {client_id: self._orders[client_id] for client_id in state.open}
        self._trades = set(state.trades)
        self._by_venue_id = dict(state.by_venue_id)
        self._open_ended = set(state.open_ended)
        set_counters(self, state.counters, _COUNTERS)
        self._closed = deque(state.closed)
        self._fill_times = dict(state.fill_times)
        self._watermark = state.watermark
        self._evicted_counts = {(instrument_id, status): count
                                for instrument_id, status, count in state.evicted_counts}
        self._order_trades = {}
        self._replaced_ids = {}
        if self._retention is None:
            return
        if not state.closed:  # a snapshot made without retention: its closed orders, oldest first
            self._closed = deque(order.client_order_id for order in sorted(
                (o for o in self._orders.values() if o.status.is_closed),
                key=lambda o: o.ts_last))
        for client_id, trade_id in state.trades:  # sorted: each order's ids in one order
            self._order_trades.setdefault(client_id, []).append(trade_id)
        for venue_order_id, client_id in state.by_venue_id.items():
            order = self._orders.get(client_id)
            if order is not None and order.venue_order_id != venue_order_id:
                self._replaced_ids.setdefault(client_id, []).append(venue_order_id)

    # -- read access ---------------------------------------------------------------------

    def order(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    def order_by_venue_id(self, venue_order_id: str) -> Order | None:
        """The order a venue order id belongs to (a replaced order's old id included)."""
        client_order_id = self._by_venue_id.get(venue_order_id)
        return None if client_order_id is None else self._orders.get(client_order_id)

    def orders(self, *, strategy_id: str | None = None) -> list[Order]:
        """The orders held, in creation order: every order this session, or under a
        retention policy the open ones and the recently closed ones (`retain`)."""
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

    def has_trade(self, client_order_id: str, trade_id: str) -> bool:
        """True when the fill `trade_id` of the order is already booked."""
        return (client_order_id, trade_id) in self._trades

    def order_counts(self) -> dict[tuple[str, OrderStatus], int]:
        """How many orders this session are in each (instrument id, status), exactly: the
        held ones counted now, the ones retention let go by their final status."""
        counts = dict(self._evicted_counts)
        for order in self._orders.values():
            key = (order.instrument_id, order.status)
            counts[key] = counts.get(key, 0) + 1
        return counts

    def evicted_through(self) -> int | None:
        """The eviction watermark: the latest venue time of a fill of an order let go
        (None before any). A trade at or before it of an order not held may be one of
        those; the order manager refuses it as stale, so a reconciliation may skip it."""
        return self._watermark

    def is_retaining(self) -> bool:
        """True when a retention policy bounds the closed orders held (`retain`)."""
        return self._retention is not None

    def booked_trade_ids(self, client_order_id: str) -> tuple[str, ...]:
        """The trade ids booked for one order, sorted (a scan: for reports and tests)."""
        return tuple(sorted(t for c, t in self._trades if c == client_order_id))

    def statistics(self) -> OrderManagerStatistics:
        return OrderManagerStatistics(
            orders=len(self._orders) + self._evicted,
            open_orders=len(self._open),
            submitted=self._submitted,
            denied=self._denied,
            rejected=self._rejected,
            fills=self._fills,
            illegal_transitions=self._illegal,
            unknown_order_events=self._unknown,
            duplicate_fills=self._duplicate_fills,
            duplicate_events=self._duplicate_events,
            invalid_events=self._invalid,
            late_fills=self._late_fills,
            external_orders=self._external,
            in_doubt=self._in_doubt,
            orders_evicted=self._evicted,
            stale_fills=self._stale,
        )

    # -- commands (from risk) --------------------------------------------------------------

    def on_submit_order(self, command: SubmitOrder) -> None:
        existing = self._orders.get(command.client_order_id)
        if existing is not None:
            if existing.status is _RELEASED:  # the emulator's plain order, for the venue
                self._route(command, self._clock.timestamp_ns())
                return
            self._reject_transition(existing, "command.submit_order")
            return
        now = self._clock.timestamp_ns()
        self._orders[command.client_order_id] = order_record(command, ts_ns=now)
        if self._emulated and command.order_type in self._emulated.get(
                command.instrument_id, _NO_TYPES):
            self._hold(command, now)
            return
        self._route(command, now)

    def _route(self, command: SubmitOrder, now: int) -> None:
        """Send a recorded order to its venue (OrderSubmitted), or deny it: no venue."""
        try:
            _, venue = split_instrument_id(command.instrument_id)
        except ValueError as error:
            self._process(order_denied(command, f"no_venue: {error}", now))
            return
        endpoint = venue_endpoint(venue)
        if not self._bus.has_endpoint(endpoint):
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
        self._bus.send(endpoint, command)

    def _hold(self, command: SubmitOrder, now: int) -> None:
        """Hand an order its venue does not place to the order emulator (OrderEmulated)."""
        if not self._bus.has_endpoint(EMULATOR_EXECUTE):
            self._process(order_denied(
                command, f"no_emulator: venue of {command.instrument_id} does not place "
                         f"{command.order_type} orders and the graph has no order emulator",
                now))
            return
        self._process(OrderEmulated(
            strategy_id=command.strategy_id, client_order_id=command.client_order_id,
            instrument_id=command.instrument_id, ts_event=now, ts_init=now,
        ))
        self._bus.send(EMULATOR_EXECUTE, command)

    def on_cancel_order(self, command: CancelOrder) -> None:
        order = self._open.get(command.client_order_id)
        if order is None:
            self._refuse(command, OrderCancelRejected, "order is not open")
            return
        if order.status is _EMULATED:  # held in the engine: the emulator answers at once
            self._bus.send(EMULATOR_EXECUTE, command)
            return
        self._mark_pending(OrderPendingCancel, order)
        self._bus.send(venue_endpoint(split_instrument_id(order.instrument_id)[1]), command)

    def on_modify_order(self, command: ModifyOrder) -> None:
        order = self._open.get(command.client_order_id)
        if order is None:
            self._refuse(command, OrderModifyRejected, "order is not open")
            return
        if order.status is _EMULATED:
            self._bus.send(EMULATOR_EXECUTE, command)
            return
        if order.status not in _MODIFIABLE:
            self._refuse(command, OrderModifyRejected,
                         f"order is {order.status}: only an accepted order can be modified")
            return
        self._mark_pending(OrderPendingUpdate, order)
        self._bus.send(venue_endpoint(split_instrument_id(order.instrument_id)[1]), command)

    def _mark_pending(
        self, event_type: type[OrderPendingCancel] | type[OrderPendingUpdate], order: Order
    ) -> None:
        now = self._clock.timestamp_ns()
        self._process(event_type(
            strategy_id=order.strategy_id, client_order_id=order.client_order_id,
            instrument_id=order.instrument_id, ts_event=now, ts_init=now,
        ))

    def _refuse(
        self,
        command: CancelOrder | ModifyOrder,
        refusal_type: type[OrderCancelRejected] | type[OrderModifyRejected],
        reason: str,
    ) -> None:
        # No state changes, so this bypasses the lifecycle: the strategy is told directly.
        refusal = command_rejected(refusal_type, command, reason, self._clock.timestamp_ns())
        self._bus.publish(order_topic(command.strategy_id), refusal)

    # -- events (from venues and risk) -------------------------------------------------------

    def _process(self, event: Any) -> None:
        if not isinstance(event, OrderEvent):
            self._invalid += 1
            logger.warning("%s: %s is not an order event; dropped", ORDERS_PROCESS,
                           type(event).__name__)
            return
        order = self._orders.get(event.client_order_id)
        if order is None:
            reason = invalid_reason(event, self._instruments)
            if reason is not None:
                self._refuse_invalid(event, reason)
                return
            order, event = self._resolve_unknown(event)
            if order is None:
                return
        else:
            # A known order's instrument was checked when it was made: the event must name
            # the same one. Amounts are checked only on the types that carry them.
            if event.instrument_id != order.instrument_id:
                self._refuse_invalid(event, f"instrument {event.instrument_id!r}: the order "
                                            f"is for {order.instrument_id!r}")
                return
            if type(event) in _WITH_AMOUNTS:
                reason = invalid_amounts(event)
                if reason is not None:
                    self._refuse_invalid(event, reason)
                    return
            if event.strategy_id != order.strategy_id:
                # Known by client id, but the venue (or reconciliation) does not know whose.
                event = msgspec.structs.replace(event, strategy_id=order.strategy_id)
        kind = type(event)
        if kind is OrderFilled:
            trade = (order.client_order_id, event.trade_id)
            if trade in self._trades:
                self._duplicate_fills += 1
                logger.info("fill %s of %s: duplicate, not booked again", event.trade_id,
                            order.client_order_id)
                return
            filled = order.filled_quantity + event.last_quantity
            if filled > order.quantity and order.client_order_id not in self._open_ended:
                self._refuse_invalid(event, f"overfill: {filled} > quantity {order.quantity}")
                return
        updated = self._apply(order, event)
        if updated is None:
            if _is_repeat(order, event):
                self._duplicate_events += 1
                return
            self._reject_transition(order, TAGS[type(event)])
            return
        if kind is OrderFilled:
            self._trades.add(trade)
            if self._retention is not None:
                self._note_fill(trade, event.ts_event)
        self._orders[updated.client_order_id] = updated
        if updated.status in OPEN_STATUSES:
            self._open[updated.client_order_id] = updated
        else:
            self._open.pop(updated.client_order_id, None)
            if self._retention is not None and not order.status.is_closed:
                self._closed.append(updated.client_order_id)  # it closed just now
                self._evict()
        self._bus.publish(order_topic(updated.strategy_id), event)
        if updated.order_list_id is not None:  # one test per event: plain orders pay no more
            self._send_linked(updated, event)

    def _send_linked(self, order: Order, event: OrderEvent) -> None:
        endpoint = (ALGOS_PROCESS if order.contingency is ContingencyType.EXEC_ALGORITHM
                    else CONTINGENCY_PROCESS)
        # Absent only in a graph without that actor, or once it has stopped.
        if self._bus.has_endpoint(endpoint):
            self._bus.send(endpoint, event)

    def _resolve_unknown(self, event: OrderEvent) -> tuple[Order | None, Any]:
        """Find or make the order an event with an unknown client id belongs to."""
        venue_order_id = getattr(event, "venue_order_id", None)
        if venue_order_id:
            known = self.order_by_venue_id(venue_order_id)
            if known is not None and type(event) is ExternalOrderAdopted:
                self._duplicate_events += 1  # adopted before (a second reconciliation)
                return None, event
            if known is not None:
                return known, msgspec.structs.replace(
                    event, strategy_id=known.strategy_id, client_order_id=known.client_order_id
                )
        watermark = self._watermark
        if (watermark is not None and event.ts_event <= watermark
                and type(event) in _MAY_REPEAT_EVICTED):
            self._refuse_stale(event, watermark)
            return None, event
        if isinstance(event, OrderDenied):
            order = order_record(event, ts_ns=event.ts_init)
        elif isinstance(event, ExternalOrderAdopted):
            # A venue's liquidation closes the position of the strategy it names: adopted
            # under that strategy. Anything else the engine did not place is `external`'s.
            owned = event.liquidation and bool(event.client_order_id and event.strategy_id)
            if not owned and (not event.client_order_id
                              or event.strategy_id != EXTERNAL_STRATEGY_ID):
                event = msgspec.structs.replace(
                    event, strategy_id=EXTERNAL_STRATEGY_ID,
                    client_order_id=event.client_order_id or f"ext-{event.venue_order_id}")
            order = self._adopt(event)
            self._bus.publish(order_topic(order.strategy_id), event)
            return None, event
        elif isinstance(event, OrderFilled) and venue_order_id:
            return self._adopt_from_fill(event)
        else:
            self._unknown += 1
            self._surface(event.client_order_id, "unknown", TAGS[type(event)])
            return None, event
        self._orders[event.client_order_id] = order
        return order, event

    def _adopt(self, event: ExternalOrderAdopted) -> Order:
        order = adopted_order_record(event)
        self._external += 1
        self._orders[order.client_order_id] = order
        self._open[order.client_order_id] = order
        self._by_venue_id[event.venue_order_id] = order.client_order_id
        logger.warning("adopted %s order %s (venue order %s) of %s",
                       "the liquidation" if event.liquidation else "external",
                       order.client_order_id, event.venue_order_id, order.instrument_id)
        return order

    def _adopt_from_fill(self, fill: OrderFilled) -> tuple[Order | None, Any]:
        """A fill of an order nobody knows: adopt the order first, then book the fill."""
        client_order_id = fill.client_order_id
        if not client_order_id or client_order_id in self._orders:
            client_order_id = f"ext-{fill.venue_order_id}"
        adopted = ExternalOrderAdopted(
            strategy_id=EXTERNAL_STRATEGY_ID,
            client_order_id=client_order_id,
            instrument_id=fill.instrument_id,
            venue_order_id=fill.venue_order_id,
            side=fill.side,
            order_type=OrderType.MARKET,
            quantity=fill.last_quantity,
            ts_event=fill.ts_event,
            ts_init=fill.ts_init,
        )
        order = self._adopt(adopted)
        self._open_ended.add(client_order_id)
        self._bus.publish(order_topic(order.strategy_id), adopted)
        return order, msgspec.structs.replace(
            fill, strategy_id=order.strategy_id, client_order_id=client_order_id
        )

    def _apply(self, order: Order, event: OrderEvent) -> Order | None:
        """Return the order after `event`, or None when the lifecycle forbids it.

        Dispatch is by exact type (`type(event) is X`): every order event is one concrete
        Struct, and this runs for every event of every order.
        """
        kind = type(event)
        tag = TAGS[kind]
        current = order.status
        if current is _FILLED and order.client_order_id in self._open_ended:
            current = OrderStatus.PARTIALLY_FILLED  # its size was a guess: more may trade
        status = TRANSITIONS.get((current, tag))
        if status is None:
            return None
        if status is RESTORE:
            status = restored_status(order.previous_status)
        changes: dict[str, Any] = {"status": status, "ts_last": event.ts_init}
        if order.previous_status is None:
            if status in _PENDING_OR_DOUBT and current not in _PENDING_OR_DOUBT:
                changes["previous_status"] = current
        elif status not in _PENDING_OR_DOUBT:
            changes["previous_status"] = None
        if kind is OrderFilled:
            fill: OrderFilled = event  # type: ignore[assignment]  # by the type test above
            filled = order.filled_quantity + fill.last_quantity
            quantity = order.quantity
            if filled > quantity:  # only an order adopted from a fill (checked by _process)
                quantity = changes["quantity"] = filled
            previous_cost = (order.average_fill_price or _ZERO) * order.filled_quantity
            changes["average_fill_price"] = (
                previous_cost + fill.last_price * fill.last_quantity) / filled
            changes["filled_quantity"] = filled
            complete = filled == quantity
            changes["status"] = status_after_fill(status, complete)
            if status in _PENDING_OR_DOUBT and not complete:
                changes["previous_status"] = _PARTIALLY_FILLED
            elif status in _CLOSED:
                self._late_fills += 1
                logger.warning("fill %s of %s after it was %s: booked", fill.trade_id,
                               order.client_order_id, status)
            if order.venue_order_id is None and fill.venue_order_id:
                changes["venue_order_id"] = fill.venue_order_id
                self._by_venue_id[fill.venue_order_id] = order.client_order_id
            self._fills += 1
        elif kind is OrderAccepted:
            accepted: OrderAccepted = event  # type: ignore[assignment]
            known = order.venue_order_id
            if known is not None and known != accepted.venue_order_id and (
                self._by_venue_id.get(accepted.venue_order_id) != order.client_order_id
            ):
                return None  # accepted again under another venue's id: not this order
            changes["venue_order_id"] = accepted.venue_order_id
            self._by_venue_id[accepted.venue_order_id] = order.client_order_id
            if self._retention is not None and known not in (None, accepted.venue_order_id):
                self._replaced_ids.setdefault(order.client_order_id, []).append(known)
        elif kind is OrderSubmitted:
            self._submitted += 1
        elif kind is OrderReleased:
            released: OrderReleased = event  # type: ignore[assignment]
            changes.update(order_type=released.order_type, price=released.price,
                           trigger_price=released.trigger_price,
                           released_from=order.order_type)
        elif kind is OrderUpdated:
            updated: OrderUpdated = event  # type: ignore[assignment]
            # Down to the filled quantity would leave an open order with nothing to fill.
            if updated.quantity <= order.filled_quantity:
                return None
            changes.update(
                quantity=updated.quantity,
                price=updated.price if updated.price is not None else order.price,
                trigger_price=updated.trigger_price
                if updated.trigger_price is not None
                else order.trigger_price,
            )
            if updated.trailing_offset is not None:
                changes["trailing_offset"] = updated.trailing_offset
            if updated.limit_offset is not None:
                changes["limit_offset"] = updated.limit_offset
            if updated.venue_order_id and updated.venue_order_id != order.venue_order_id:
                # Cancel-replace: the old id stays in the index, linked to this order.
                changes["venue_order_id"] = updated.venue_order_id
                self._by_venue_id[updated.venue_order_id] = order.client_order_id
                if self._retention is not None and order.venue_order_id is not None:
                    self._replaced_ids.setdefault(order.client_order_id, []).append(
                        order.venue_order_id)
        elif kind is OrderDenied or kind is OrderRejected:
            refusal: OrderDenied | OrderRejected = event  # type: ignore[assignment]
            if kind is OrderDenied:
                self._denied += 1
            else:
                self._rejected += 1
            changes["reason"] = refusal.reason
        elif kind is OrderOutcomeUnknown:
            unknown: OrderOutcomeUnknown = event  # type: ignore[assignment]
            self._in_doubt += 1
            changes["reason"] = f"{unknown.operation} outcome unknown: {unknown.reason}"
            logger.warning("order %s in doubt: %s", order.client_order_id, changes["reason"])
        return msgspec.structs.replace(order, **changes)

    # -- retention ---------------------------------------------------------------------------

    def _note_fill(self, trade: tuple[str, str], ts_event: int) -> None:
        client_id, trade_id = trade
        self._order_trades.setdefault(client_id, []).append(trade_id)
        if ts_event > self._fill_times.get(client_id, ts_event - 1):
            self._fill_times[client_id] = ts_event

    def _evict(self) -> None:
        """Let go of the oldest-closed orders beyond the window (see `retain`)."""
        closed = self._closed
        if len(closed) <= self._closed_cap:
            return
        oldest_kept = self._clock.timestamp_ns() - self._horizon_ns
        while len(closed) > self._closed_cap:
            order = self._orders.get(closed[0])
            if order is not None and (order.is_open or order.ts_last > oldest_kept):
                return  # closed too recently (a late fill renews it): kept for now
            closed.popleft()
            if order is not None:
                self._forget(order)

    def _forget(self, order: Order) -> None:
        client_id = order.client_order_id
        del self._orders[client_id]
        for trade_id in self._order_trades.pop(client_id, ()):
            self._trades.discard((client_id, trade_id))
        latest_fill = self._fill_times.pop(client_id, None)
        if latest_fill is not None and (self._watermark is None
                                        or latest_fill > self._watermark):
            self._watermark = latest_fill
        for venue_order_id in (order.venue_order_id, *self._replaced_ids.pop(client_id, ())):
            if venue_order_id is not None and self._by_venue_id.get(venue_order_id) == client_id:
                del self._by_venue_id[venue_order_id]
        self._open_ended.discard(client_id)
        self._evicted += 1
        key = (order.instrument_id, order.status)
        self._evicted_counts[key] = self._evicted_counts.get(key, 0) + 1

    def _refuse_stale(self, event: OrderEvent, watermark: int) -> None:
        self._stale += 1
        kind = TAGS[type(event)]
        logger.warning("%s of order %s (venue order %s) at %d refused as stale: no such order "
                       "is held, and it is not after %d, the latest fill of an evicted order "
                       "(it may repeat one; the venue's account state settles the balances)",
                       kind, event.client_order_id, getattr(event, "venue_order_id", None),
                       event.ts_event, watermark)
        self._surface(event.client_order_id, "stale", kind)

    def _refuse_invalid(self, event: OrderEvent, reason: str) -> None:
        self._invalid += 1
        kind = TAGS[type(event)]
        logger.warning("%s of order %s refused: %s", kind, event.client_order_id, reason)
        self._surface(event.client_order_id, "invalid", kind)

    def _reject_transition(self, order: Order, event_kind: str) -> None:
        self._illegal += 1
        self._surface(order.client_order_id, str(order.status), event_kind)

    def _surface(self, client_order_id: str, from_state: str, event_kind: str) -> None:
        now = self._clock.timestamp_ns()
        self._bus.publish(
            system_topic("orders"),
            OrderTransitionRejected(
                client_order_id=client_order_id,
                from_state=from_state,
                event_kind=event_kind,
                ts_event=now,
                ts_init=now,
            ),
        )


_REPEATS: Final = frozenset({
    (OrderStatus.CANCELED, "order.canceled"),
    (OrderStatus.EXPIRED, "order.expired"),
    (OrderStatus.REJECTED, "order.rejected"),
    (OrderStatus.FILLED, "order.accepted"),
    (OrderStatus.CANCELED, "order.accepted"),
    (OrderStatus.CANCELED, "order.cancel_rejected"),
    (OrderStatus.FILLED, "order.canceled"),
})


def _is_repeat(order: Order, event: OrderEvent) -> bool:
    """True when `event` only repeats what made the order's closed state (a second
    cancel confirmation from the REST backstop): harmless, counted apart from illegal."""
    return (order.status, TAGS[type(event)]) in _REPEATS


def adopted_order_record(event: ExternalOrderAdopted) -> Order:
    """The first record of an adopted order: working (ACCEPTED) at the venue, by its terms."""
    return Order(
        client_order_id=event.client_order_id,
        strategy_id=event.strategy_id,
        instrument_id=event.instrument_id,
        side=event.side,
        order_type=event.order_type,
        quantity=event.quantity,
        price=event.price,
        trigger_price=event.trigger_price,
        time_in_force=event.time_in_force,
        status=OrderStatus.ACCEPTED,
        venue_order_id=event.venue_order_id,
        ts_created=event.ts_init,
        ts_last=event.ts_init,
        trailing_offset=event.trailing_offset,
        trailing_offset_type=event.trailing_offset_type,
        limit_offset=event.limit_offset,
        trigger_type=event.trigger_type,
        reason="liquidation: the venue closed the position, margin ran out"
        if event.liquidation else "",
    )


def order_record(
    source: SubmitOrder | OrderDenied,
    *,
    status: OrderStatus = OrderStatus.INITIALIZED,
    ts_ns: int = 0,
) -> Order:
    """Return the first record of the order `source` carries, created and last seen at `ts_ns`.

    A denial copies the order's terms (one decoded from an older journal has the defaults).
    """
    record = Order(
        client_order_id=source.client_order_id,
        strategy_id=source.strategy_id,
        instrument_id=source.instrument_id,
        side=source.side,
        order_type=source.order_type,
        quantity=source.quantity,
        price=source.price,
        trigger_price=source.trigger_price,
        time_in_force=source.time_in_force,
        reduce_only=source.reduce_only,
        status=status,
        ts_created=ts_ns,
        ts_last=ts_ns,
    )
    # The trailing terms and the order list links are set on few orders: each keyword
    # more costs msgspec about 400 ns on the path of every order, so they are copied
    # only when one is not its default.
    if (source.trailing_offset is not None or source.limit_offset is not None
            or source.trigger_type is not _DEFAULT_TRIGGER
            or source.trailing_offset_type is not _PRICE_OFFSET):
        record = msgspec.structs.replace(
            record, trailing_offset=source.trailing_offset,
            trailing_offset_type=source.trailing_offset_type,
            limit_offset=source.limit_offset, trigger_type=source.trigger_type)
    if source.order_list_id is not None or source.parent_order_id is not None:
        record = msgspec.structs.replace(
            record, contingency=source.contingency, order_list_id=source.order_list_id,
            parent_order_id=source.parent_order_id)
    return record
