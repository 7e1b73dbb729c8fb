"""Order commands and the events of an order's lifecycle.

Commands flow strategy -> risk -> order manager -> venue. Every event an order goes
through is published by the order manager only after its state machine
(`engine.domain.lifecycle`) accepts it, on `events.order.<strategy_id>`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final, Literal, TypeVar

from engine.domain.enums import (
    ContingencyType,
    OrderSide,
    OrderType,
    TimeInForce,
    TradingState,
    TrailingOffsetType,
    TriggerType,
)
from engine.events.base import Command, Event

__all__ = (
    "EXTERNAL_STRATEGY_ID",
    "CancelOrder",
    "ExternalOrderAdopted",
    "ModifyOrder",
    "OrderAccepted",
    "OrderCancelRejected",
    "OrderCanceled",
    "OrderDenied",
    "OrderEmulated",
    "OrderEvent",
    "OrderExpired",
    "OrderModifyRejected",
    "OrderOutcomeUnknown",
    "OrderPendingCancel",
    "OrderPendingUpdate",
    "OrderRejected",
    "OrderReleased",
    "OrderSubmitted",
    "OrderTriggered",
    "OrderUpdated",
    "SetTradingState",
    "SubmitOrder",
    "command_rejected",
    "order_denied",
)


EXTERNAL_STRATEGY_ID: Final = "external"
"""The reserved strategy id of orders the engine did not place (adopted from a venue)."""


class SubmitOrder(Command, frozen=True, kw_only=True, gc=False, tag="command.submit_order"):
    """Place a new order.

    `price` is the limit of limit, stop-limit and limit-if-touched orders; `trigger_price`
    the trigger of stop and if-touched orders, and the optional first trigger of a
    trailing stop (the venue sets one from the market when it is None).
    `trailing_offset` (in `trailing_offset_type` units) is how far a trailing stop's
    trigger follows the market; `limit_offset` (same units) how far a triggered
    trailing-stop-limit's limit lies beyond its trigger. `trigger_type` says which prices
    a trigger watches. The fields after `post_only` came later: their defaults keep
    older journals decoding.
    """

    strategy_id: str
    client_order_id: str
    instrument_id: str
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    expire_ns: int | None = None
    reduce_only: bool = False
    post_only: bool = False
    trailing_offset: Decimal | None = None
    trailing_offset_type: TrailingOffsetType = TrailingOffsetType.PRICE
    limit_offset: Decimal | None = None
    trigger_type: TriggerType = TriggerType.DEFAULT
    contingency: ContingencyType | None = None
    """Set by the contingency actor on the orders of an order list, with the two ids below."""
    order_list_id: str | None = None
    parent_order_id: str | None = None


class CancelOrder(Command, frozen=True, kw_only=True, gc=False, tag="command.cancel_order"):
    strategy_id: str
    client_order_id: str
    instrument_id: str


class ModifyOrder(Command, frozen=True, kw_only=True, gc=False, tag="command.modify_order"):
    """Change an open order; fields left as None keep their value.

    `trailing_offset` and `limit_offset` change a trailing stop's distances, in the
    order's `trailing_offset_type` units (the venue then sets its trigger again from
    the market at the new distance). They came later: their defaults keep older
    journals decoding.
    """

    strategy_id: str
    client_order_id: str
    instrument_id: str
    quantity: Decimal | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    trailing_offset: Decimal | None = None
    limit_offset: Decimal | None = None

    def offsets_over(self, trailing_offset: Decimal | None, limit_offset: Decimal | None
                     ) -> tuple[Decimal | None, Decimal | None]:
        """A trailing stop's (trailing_offset, limit_offset) once this modify applies over
        the ones it has: each given here replaces its own, the other stays."""
        return (trailing_offset if self.trailing_offset is None else self.trailing_offset,
                limit_offset if self.limit_offset is None else self.limit_offset)


class SetTradingState(
    Command, frozen=True, kw_only=True, gc=False, tag="command.set_trading_state"
):
    """Switch the risk actor to ACTIVE, REDUCING or HALTED (the kill switch)."""

    state: TradingState
    reason: str = ""


class OrderEvent(Event, frozen=True, kw_only=True, gc=False):
    """A step in one order's lifecycle."""

    strategy_id: str
    client_order_id: str
    instrument_id: str


class OrderDenied(OrderEvent, frozen=True, kw_only=True, gc=False, tag="order.denied"):
    """Risk refused the order before it left; it carries the order so nothing is lost."""

    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    reason: str
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    trailing_offset: Decimal | None = None
    trailing_offset_type: TrailingOffsetType = TrailingOffsetType.PRICE
    limit_offset: Decimal | None = None
    trigger_type: TriggerType = TriggerType.DEFAULT
    contingency: ContingencyType | None = None
    order_list_id: str | None = None
    parent_order_id: str | None = None


def order_denied(command: SubmitOrder, reason: str, ts_ns: int) -> OrderDenied:
    """Deny `command` at `ts_ns`, copying the order it carries so the denial records it."""
    return OrderDenied(
        strategy_id=command.strategy_id,
        client_order_id=command.client_order_id,
        instrument_id=command.instrument_id,
        side=command.side,
        order_type=command.order_type,
        quantity=command.quantity,
        price=command.price,
        trigger_price=command.trigger_price,
        reason=reason,
        time_in_force=command.time_in_force,
        reduce_only=command.reduce_only,
        trailing_offset=command.trailing_offset,
        trailing_offset_type=command.trailing_offset_type,
        limit_offset=command.limit_offset,
        trigger_type=command.trigger_type,
        contingency=command.contingency,
        order_list_id=command.order_list_id,
        parent_order_id=command.parent_order_id,
        ts_event=ts_ns,
        ts_init=ts_ns,
    )


class OrderSubmitted(OrderEvent, frozen=True, kw_only=True, gc=False, tag="order.submitted"):
    venue: str


class OrderEmulated(OrderEvent, frozen=True, kw_only=True, gc=False, tag="order.emulated"):
    """The venue does not place this order's type (its capability flags say so): the
    order emulator holds it in the engine, watching the market, and releases a plain
    market or limit order when its trigger is reached (`engine.actors.emulator`)."""


class OrderReleased(OrderEvent, frozen=True, kw_only=True, gc=False, tag="order.released"):
    """An emulated order's trigger was reached: it goes to the venue, under the same
    client order id, as a plain `order_type` order (market, or limit at `price`).

    `trigger_price` is the trigger it was released at (a trailing stop's, where the
    market had moved it); `released_price` the market price that reached it (in a gap,
    past the trigger).
    """

    order_type: OrderType
    price: Decimal | None = None
    trigger_price: Decimal
    released_price: Decimal


class OrderAccepted(OrderEvent, frozen=True, kw_only=True, gc=False, tag="order.accepted"):
    venue_order_id: str


class OrderRejected(OrderEvent, frozen=True, kw_only=True, gc=False, tag="order.rejected"):
    reason: str


class OrderTriggered(OrderEvent, frozen=True, kw_only=True, gc=False, tag="order.triggered"):
    """A stop-limit, limit-if-touched or trailing-stop-limit order's trigger was hit; it
    now rests as a limit order."""


class OrderUpdated(OrderEvent, frozen=True, kw_only=True, gc=False, tag="order.updated"):
    """The venue applied a modify, or moved a trailing stop's trigger (and a
    trailing-stop-limit's limit) after the market. `venue_order_id` is set when the
    venue did a modify as a cancel-replace under a new id; the order manager links the
    old id to the new one."""

    quantity: Decimal
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    venue_order_id: str | None = None
    trailing_offset: Decimal | None = None
    """A trailing stop's distances after a modify of them (None: unchanged)."""
    limit_offset: Decimal | None = None


class OrderPendingCancel(
    OrderEvent, frozen=True, kw_only=True, gc=False, tag="order.pending_cancel"
):
    """A cancel left for the venue; the order may still fill until the venue answers."""


class OrderPendingUpdate(
    OrderEvent, frozen=True, kw_only=True, gc=False, tag="order.pending_update"
):
    """A modify left for the venue; the old terms hold until the venue answers."""


class OrderOutcomeUnknown(
    OrderEvent, frozen=True, kw_only=True, gc=False, tag="order.outcome_unknown"
):
    """A submit, cancel or modify got no answer (timeout, connection lost mid-request).

    The order may or may not be working at the venue. Only a venue report or query
    settles it (reconciliation turns the answer into the matching event); the engine
    never resubmits to find out, which could place the order twice.
    """

    operation: Literal["submit", "cancel", "modify"]
    reason: str


class ExternalOrderAdopted(
    OrderEvent, frozen=True, kw_only=True, gc=False, tag="order.external_adopted"
):
    """An order the engine did not place, found working (or done) at a venue.

    Adopted under `EXTERNAL_STRATEGY_ID` (or the strategy the client id names, when it
    is one of ours from a lost journal) so the books match the venue; its fills follow
    as ordinary `OrderFilled` events. A venue's `liquidation` order (margin ran out: it
    closes a strategy's position) is adopted under the strategy it names, whose position
    it closes.
    """

    venue_order_id: str
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    trailing_offset: Decimal | None = None
    trailing_offset_type: TrailingOffsetType = TrailingOffsetType.PRICE
    limit_offset: Decimal | None = None
    trigger_type: TriggerType = TriggerType.DEFAULT
    liquidation: bool = False


class OrderModifyRejected(
    OrderEvent, frozen=True, kw_only=True, gc=False, tag="order.modify_rejected"
):
    reason: str


class OrderCancelRejected(
    OrderEvent, frozen=True, kw_only=True, gc=False, tag="order.cancel_rejected"
):
    reason: str


class OrderCanceled(OrderEvent, frozen=True, kw_only=True, gc=False, tag="order.canceled"):
    """The order no longer works. `reason` says why when the venue canceled it on its
    own (a reduce-only remainder that would open a position); empty for a requested cancel."""

    reason: str = ""


class OrderExpired(OrderEvent, frozen=True, kw_only=True, gc=False, tag="order.expired"):
    pass


_Rejection = TypeVar("_Rejection", bound=OrderCancelRejected | OrderModifyRejected)


def command_rejected(
    rejection_type: type[_Rejection],
    command: CancelOrder | ModifyOrder,
    reason: str,
    ts_ns: int,
) -> _Rejection:
    """Refuse a cancel or modify `command` at `ts_ns` with the event of `rejection_type`."""
    return rejection_type(
        strategy_id=command.strategy_id,
        client_order_id=command.client_order_id,
        instrument_id=command.instrument_id,
        reason=reason,
        ts_event=ts_ns,
        ts_init=ts_ns,
    )
