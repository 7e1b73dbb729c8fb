"""`Order`: the order manager's frozen record of one order, replaced on every transition.

Readers (strategies, risk, the API) get these snapshots; only the order manager makes
new ones, so nobody else can change an order.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

import msgspec

from engine.domain.enums import (
    ContingencyType,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
    TriggerType,
)

__all__ = ("OPEN_STATUSES", "Order")

OPEN_STATUSES: Final = frozenset(
    status for status in OrderStatus
    if status is not OrderStatus.INITIALIZED and not status.is_closed)
"""The statuses of an order that can still trade (`Order.is_open`); the order manager
tests them directly on every event (one set lookup, no property call)."""


class Order(msgspec.Struct, frozen=True, kw_only=True):
    client_order_id: str
    strategy_id: str
    instrument_id: str
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    status: OrderStatus = OrderStatus.INITIALIZED
    venue_order_id: str | None = None
    filled_quantity: Decimal = Decimal(0)
    average_fill_price: Decimal | None = None
    ts_created: int = 0
    ts_last: int = 0
    reason: str = ""
    previous_status: OrderStatus | None = None
    """The state before the current pending or in-doubt one (what a rejection restores)."""
    trailing_offset: Decimal | None = None
    trailing_offset_type: TrailingOffsetType = TrailingOffsetType.PRICE
    limit_offset: Decimal | None = None
    trigger_type: TriggerType = TriggerType.DEFAULT
    contingency: ContingencyType | None = None
    """The kind of order list the order belongs to (None: a plain order)."""
    order_list_id: str | None = None
    """The order list it belongs to (`engine.actors.contingency`)."""
    parent_order_id: str | None = None
    """The order whose fills released it (an OTO child, a bracket's stop-loss or take-profit)."""
    released_from: OrderType | None = None
    """The type the strategy placed, when the order emulator held it and released it as
    this plain `order_type` order (`engine.actors.emulator`); None for every other order."""

    @property
    def leaves_quantity(self) -> Decimal:
        """What is still to fill."""
        return self.quantity - self.filled_quantity

    @property
    def is_open(self) -> bool:
        """True while the order can still trade (submitted and not closed)."""
        return self.status in OPEN_STATUSES
