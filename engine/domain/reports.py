"""What a venue says about itself when asked: the typed answers of the execution-client port.

Reports are not bus messages: an adapter returns them from a query (open orders, one
order's status, fills since a time, balances, positions) and reconciliation compares them
with the engine's state; only the differences become events, journaled as inputs. They
carry venue time (`ts_event`) where the venue gives one, else 0.

Ids: `client_order_id` is None when the venue knows no client id for the order (one
placed by hand in the exchange's web page, say); `venue_order_id` is always set.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from engine.domain.enums import LiquiditySide, OrderSide, OrderStatus, OrderType, TimeInForce

__all__ = (
    "AccountReport",
    "BalanceReport",
    "FillReport",
    "OrderStatusReport",
    "PositionReport",
)


class OrderStatusReport(msgspec.Struct, frozen=True, kw_only=True):
    """One order as the venue sees it now.

    `status` is one of ACCEPTED, TRIGGERED, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED,
    REJECTED: the venue's own word, mapped by the adapter.
    """

    venue: str
    instrument_id: str
    client_order_id: str | None
    venue_order_id: str
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    status: OrderStatus
    filled_quantity: Decimal = Decimal(0)
    average_fill_price: Decimal | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reason: str = ""
    ts_event: int = 0

    @property
    def is_open(self) -> bool:
        """True while the venue still works the order."""
        return not self.status.is_closed


class FillReport(msgspec.Struct, frozen=True, kw_only=True):
    """One trade of one order, as the venue's trade history lists it."""

    venue: str
    instrument_id: str
    client_order_id: str | None
    venue_order_id: str
    trade_id: str
    side: OrderSide
    last_quantity: Decimal
    last_price: Decimal
    commission: Decimal
    commission_currency: str
    liquidity_side: LiquiditySide
    ts_event: int


class PositionReport(msgspec.Struct, frozen=True, kw_only=True):
    """A venue-held position (derivatives); spot positions are balances.

    `quantity` is signed: long > 0, short < 0.
    """

    venue: str
    instrument_id: str
    quantity: Decimal
    average_entry_price: Decimal | None = None
    ts_event: int = 0


class BalanceReport(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One currency of an account: `total` = `free` + `locked` (held by open orders)."""

    currency: str
    total: Decimal
    free: Decimal
    locked: Decimal = Decimal(0)


class AccountReport(msgspec.Struct, frozen=True, kw_only=True):
    """Balances and margin of the account at the venue."""

    venue: str
    account_id: str
    balances: tuple[BalanceReport, ...]
    margin_used: Decimal | None = None
    margin_available: Decimal | None = None
    ts_event: int = 0
