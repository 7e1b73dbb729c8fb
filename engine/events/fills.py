"""Fills, positions and account state: the events money moves by.

All amounts are Decimal. A position is netted per (strategy, instrument): quantities are
signed (long > 0, short < 0).
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from engine.domain.enums import LiquiditySide, OrderSide, PositionSide
from engine.events.base import Event
from engine.events.orders import OrderEvent

__all__ = (
    "AccountBalance",
    "AccountState",
    "AccountUpdated",
    "Balance",
    "FundingPayment",
    "OrderFilled",
    "PositionChanged",
    "PositionClosed",
    "PositionEvent",
    "PositionOpened",
)


class OrderFilled(OrderEvent, frozen=True, kw_only=True, gc=False, tag="order.filled"):
    """Part or all of an order traded. The order manager tells partial from full."""

    venue_order_id: str
    trade_id: str
    side: OrderSide
    last_quantity: Decimal
    last_price: Decimal
    commission: Decimal
    commission_currency: str
    liquidity_side: LiquiditySide
    inferred: bool = False
    """True for a fill reconciliation found in the venue's history (missed by the stream)."""


class PositionEvent(Event, frozen=True, kw_only=True, gc=False):
    """The state of one netted position right after a fill changed it."""

    strategy_id: str
    instrument_id: str
    side: PositionSide
    quantity: Decimal
    average_entry_price: Decimal
    realized_pnl: Decimal
    fees: Decimal
    opened_ns: int
    last_fill_price: Decimal
    last_fill_quantity: Decimal


class PositionOpened(PositionEvent, frozen=True, kw_only=True, gc=False, tag="position.opened"):
    pass


class PositionChanged(
    PositionEvent, frozen=True, kw_only=True, gc=False, tag="position.changed"
):
    pass


class PositionClosed(PositionEvent, frozen=True, kw_only=True, gc=False, tag="position.closed"):
    """The position went flat (or flipped: a PositionOpened for the new side follows)."""

    closed_ns: int
    average_exit_price: Decimal
    peak_quantity: Decimal


class Balance(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    currency: str
    total: Decimal


class AccountUpdated(Event, frozen=True, kw_only=True, gc=False, tag="account.updated"):
    """Balances per currency after a fill, and equity in the account currency."""

    account_id: str
    balances: tuple[Balance, ...]
    equity: Decimal
    currency: str


class AccountBalance(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One currency as the venue reports it: `total` = `free` + `locked`."""

    currency: str
    total: Decimal
    free: Decimal
    locked: Decimal = Decimal(0)


class AccountState(Event, frozen=True, kw_only=True, gc=False, tag="account.state"):
    """Balances and margin as the venue reports them (a stream push or reconciliation).

    The portfolio takes `total` as the truth for each currency listed (a correction is
    logged and counted) and keeps `free` for the risk actor's balance check.
    """

    venue: str
    account_id: str
    balances: tuple[AccountBalance, ...]
    margin_used: Decimal | None = None
    margin_available: Decimal | None = None


class FundingPayment(Event, frozen=True, kw_only=True, gc=False, tag="account.funding"):
    """A perpetual position paid (`amount` < 0) or received (> 0) funding at `ts_event`:
    `amount` = -`quantity` x `mark_price` x `rate`, in `currency` (the settlement currency).

    The venue sends it to `PORTFOLIO_PROCESS`; the portfolio books it on the balance and
    publishes it on the strategy's position topic (`on_funding_payment`).
    """

    strategy_id: str
    instrument_id: str
    venue: str
    currency: str
    amount: Decimal
    rate: Decimal
    mark_price: Decimal
    quantity: Decimal
