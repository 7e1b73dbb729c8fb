"""The simulated venue's records of orders (working, closed), and the checks on order commands.

Checks return the rejection reason ("" when the command is fine) rather than raising:
a rejected order is an expected outcome, sent back as an event.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Final

import msgspec

from adapters.sim.matching import LIMIT_ONCE_TRIGGERED, TRAILING, OrderTerms
from engine.actors.risk_checks import check_trailing_terms
from engine.domain.enums import (
    LIMIT_PRICED_TYPES,
    TRIGGER_PRICED_TYPES,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TriggerType,
)
from engine.domain.money import ZERO, is_on_increment, to_decimal
from engine.domain.triggers import DAY_NS, day_end_ns
from engine.events.market import Instrument
from engine.events.orders import ModifyOrder, SubmitOrder

__all__ = (
    "DAY_NS",
    "ClosedOrder",
    "WorkingOrder",
    "day_end_ns",
    "modify_rejection",
    "reduce_only_rejection",
    "submit_rejection",
)

_PRICED: Final = LIMIT_PRICED_TYPES
_TRIGGERED: Final = TRIGGER_PRICED_TYPES
_DEFAULT_TRIGGER: Final = TriggerType.DEFAULT
class WorkingOrder:
    """An accepted order still able to trade. Owned and changed by the venue only.

    A plain slotted object, not a Struct: the matching loop reads and writes its fields
    on every item, and slot access is the fastest Python has. When the order can no
    longer trade, the venue keeps a `ClosedOrder` in its place.
    """

    __slots__ = (
        "accepted_ns",
        "command",
        "expire_ns",
        "fill_or_kill",
        "filled",
        "once",
        "quantity",
        "terms",
        "updated_ns",
        "venue_order_id",
        "working",
    )

    def __init__(self, command: SubmitOrder, venue_order_id: str, accepted_ns: int) -> None:
        time_in_force = command.time_in_force
        self.command = command
        self.venue_order_id = venue_order_id
        self.accepted_ns = accepted_ns
        # Venue time of the last change but a fill (acceptance, modify, trigger): fills
        # are left to the fill history, so the fill path does no report bookkeeping.
        self.updated_ns = accepted_ns
        self.quantity = command.quantity
        self.filled = ZERO
        order_type = command.order_type
        if order_type in TRAILING:
            self.terms = OrderTerms(
                side=command.side, order_type=order_type, trigger_price=command.trigger_price,
                post_only=command.post_only, trailing_offset=command.trailing_offset,
                trailing_offset_type=command.trailing_offset_type,
                limit_offset=command.limit_offset, trigger_type=command.trigger_type,
            )
        else:
            self.terms = OrderTerms(
                side=command.side,
                order_type=order_type,
                price=command.price if order_type in _PRICED else None,
                trigger_price=command.trigger_price if order_type in _TRIGGERED else None,
                post_only=command.post_only,
            )
            if command.trigger_type is not _DEFAULT_TRIGGER:  # a keyword more costs ~400 ns
                self.terms = msgspec.structs.replace(self.terms, trigger_type=command.trigger_type)
        if time_in_force is TimeInForce.DAY:
            self.expire_ns: int | None = day_end_ns(accepted_ns)
        else:
            self.expire_ns = command.expire_ns if time_in_force is TimeInForce.GTD else None
        self.once = time_in_force is TimeInForce.IOC or time_in_force is TimeInForce.FOK
        self.fill_or_kill = time_in_force is TimeInForce.FOK
        self.working = True

    @property
    def leaves(self) -> Decimal:
        return self.quantity - self.filled

    @property
    def status(self) -> OrderStatus:
        """The status a venue would report for this working order now."""
        if self.filled > ZERO:
            return OrderStatus.PARTIALLY_FILLED
        if self.terms.triggered and self.terms.order_type in LIMIT_ONCE_TRIGGERED:
            return OrderStatus.TRIGGERED
        return OrderStatus.ACCEPTED


class ClosedOrder(msgspec.Struct, frozen=True, gc=False):
    """The venue's record of an order that can no longer trade: filled, canceled, expired.

    Kept for good (in a backtest; a daemon's retention lets old ones go), so the status
    queries can answer for it and its client order id is never used twice. Frozen and
    untracked by the garbage collector (it refers to no container, so it is in no
    cycle): a backtest keeps one per order, and tracked records would make every
    collection walk them all. Built, positionally, by the venue on the order's last event.
    """

    command: SubmitOrder
    venue_order_id: str
    quantity: Decimal
    filled: Decimal
    terms: OrderTerms
    status: OrderStatus
    updated_ns: int
    """Venue time of the order's last change: its close, or its last fill."""
    reason: str = ""


def submit_rejection(
    command: SubmitOrder,
    instrument: Instrument | None,
    *,
    venue: str,
    last_price: float | None,
    now_ns: int,
    order_types: frozenset[OrderType] | None = None,
) -> str:
    """Return why `venue` rejects `command`, or "" when it accepts it.

    `order_types`: the types the venue places (None: every type).
    """
    instrument_id = command.instrument_id
    if instrument is None:
        return f"instrument {instrument_id!r}: not known to venue {venue}"
    if instrument.venue != venue:
        return f"instrument {instrument_id!r}: trades on venue {instrument.venue}, not {venue}"
    order_type = command.order_type
    if order_types is not None and order_type not in order_types:
        return (f"order_type {order_type}: not placed by venue {venue} (it places "
                f"{', '.join(sorted(order_types))})")
    reason = _quantity_rejection(command.quantity, instrument)
    if not reason and order_type in _PRICED:
        reason = _price_rejection("price", command.price, order_type, instrument)
    if not reason and order_type in _TRIGGERED:
        reason = _price_rejection("trigger_price", command.trigger_price, order_type, instrument)
    if not reason and order_type in TRAILING:
        reason = _trailing_rejection(command, instrument)
    if not reason and command.trigger_type is TriggerType.MARK:
        return "trigger_type mark: the simulated venue has no mark-price data to trigger on"
    if reason:
        return reason
    if command.post_only:
        if order_type not in _PRICED:
            return f"post_only True: a {order_type} order cannot be post-only"
        if order_type is OrderType.LIMIT and command.price is not None:
            reason = _post_only_rejection(command.side, command.price, last_price)
    if not reason and command.time_in_force is TimeInForce.GTD:  # DAY: the venue sets it
        if command.expire_ns is None:
            return "expire_ns None: a GTD order needs an expiry time"
        if command.expire_ns <= now_ns:
            return f"expire_ns {command.expire_ns}: not after the venue's time {now_ns}"
    return reason


def modify_rejection(
    order: WorkingOrder, command: ModifyOrder, instrument: Instrument, *, last_price: float | None
) -> str:
    """Return why the venue refuses to apply `command` to `order`, or "" to apply it."""
    terms = order.terms
    order_type = terms.order_type
    if command.quantity is not None:
        reason = _quantity_rejection(command.quantity, instrument)
        if reason:
            return reason
        if command.quantity <= order.filled:
            return f"quantity {command.quantity}: not above the filled quantity {order.filled}"
    if command.price is not None:
        if order_type not in _PRICED:
            return f"price {command.price}: a {order_type} order has no limit price"
        reason = _price_rejection("price", command.price, order_type, instrument)
        if reason:
            return reason
        if terms.post_only and order_type is OrderType.LIMIT:
            reason = _post_only_rejection(terms.side, command.price, last_price)
            if reason:
                return reason
    if order_type in TRAILING:
        for name, value in (("price", command.price), ("trigger_price", command.trigger_price)):
            if value is not None:
                return (f"{name} {value}: a {order_type} order's prices follow the market "
                        "(the venue moves them)")
    if command.trailing_offset is not None or command.limit_offset is not None:
        if terms.triggered:
            return "trailing_offset: the order has already triggered"
        # The same rule as at submit and in risk (one implementation), on the new offsets.
        trailing_offset, limit_offset = command.offsets_over(terms.trailing_offset,
                                                             terms.limit_offset)
        refusal = check_trailing_terms(
            order_type, trailing_offset, terms.trailing_offset_type, limit_offset,
            terms.trigger_type, instrument.price_increment)
        if refusal:
            return refusal
    if command.trigger_price is not None:
        if order_type not in _TRIGGERED:
            return f"trigger_price {command.trigger_price}: a {order_type} order has no trigger"
        if terms.triggered:
            return f"trigger_price {command.trigger_price}: the order has already triggered"
        return _price_rejection("trigger_price", command.trigger_price, order_type, instrument)
    return ""


def reduce_only_rejection(side: OrderSide, position: Decimal) -> str:
    """Return why a reduce-only order on `side` is refused against the net `position`.

    It must face a position on the other side: against a flat one, or one on its own
    side, any fill would open or increase a position.
    """
    if position == ZERO or (position > ZERO) is (side is OrderSide.BUY):
        return (
            f"reduce_only True: a {side} order would open or increase the net position "
            f"{position} at the venue"
        )
    return ""


def _trailing_rejection(command: SubmitOrder, instrument: Instrument) -> str:
    if command.price is not None:
        return (f"price {command.price}: a {command.order_type} order's limit is set by the "
                "venue from its limit_offset")
    if command.trigger_price is not None:
        reason = _price_rejection("trigger_price", command.trigger_price, command.order_type,
                                  instrument)
        if reason:
            return reason
    # The same rule as the risk actor's (one implementation), in its words.
    return check_trailing_terms(
        command.order_type, command.trailing_offset, command.trailing_offset_type,
        command.limit_offset, command.trigger_type, instrument.price_increment,
    ) or ""


def _quantity_rejection(quantity: Decimal, instrument: Instrument) -> str:
    if not quantity.is_finite() or not quantity > ZERO:
        return f"quantity {quantity}: must be > 0"
    increment = instrument.size_increment
    if not is_on_increment(quantity, increment):
        return f"quantity {quantity}: not a multiple of the size increment {increment}"
    if quantity < instrument.min_quantity:
        return f"quantity {quantity}: below the minimum quantity {instrument.min_quantity}"
    return ""


def _price_rejection(
    name: str, value: Decimal | None, order_type: OrderType, instrument: Instrument
) -> str:
    if value is None:
        return f"{name} None: a {order_type} order needs one"
    if not value.is_finite() or not is_on_increment(value, instrument.price_increment):
        return f"{name} {value}: not a multiple of the price increment {instrument.price_increment}"
    return ""


def _post_only_rejection(side: OrderSide, price: Decimal, last_price: float | None) -> str:
    if last_price is None or not math.isfinite(last_price):
        return ""  # nothing known to trade against: the order can only rest
    last = to_decimal(last_price)
    if side is OrderSide.BUY and price >= last:
        return f"price {price}: a post-only buy at or above the last price {last} would take"
    if side is OrderSide.SELL and price <= last:
        return f"price {price}: a post-only sell at or below the last price {last} would take"
    return ""
