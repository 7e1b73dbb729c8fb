"""The request Structs: what a client may send, decoded and validated by msgspec.

The same Structs give the OpenAPI schema (`api.http.openapi`), so the documentation
cannot drift from what the server accepts. Unknown fields are refused: a misspelled
field is an error naming it, not a silently ignored option.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from engine.domain.enums import (
    OrderSide,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
    TriggerType,
)

__all__ = (
    "BacktestRequest",
    "MANUAL_STRATEGY_ID",
    "ClientMessage",
    "OrderRequest",
    "StopStrategyRequest",
    "Subscribe",
    "TradingStateRequest",
    "Unsubscribe",
)

MANUAL_STRATEGY_ID = "manual"
"""The reserved strategy id of orders placed through the API."""

Pattern = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class OrderRequest(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """A manual order, of any type a strategy can place. Quantities, prices and offsets
    are decimal strings ("0.5") or numbers.

    `price` is required for the limit types (limit, stop-limit, limit-if-touched),
    `trigger_price` for the stop and if-touched types, `trailing_offset` for the
    trailing stops (in `trailing_offset_type` units; a trailing-stop-limit also needs
    `limit_offset`, and its first trigger is optional: the venue sets and moves it),
    `expire_ns` (engine time, epoch nanoseconds) for GTD. Risk and the venue check the
    rest exactly as for a strategy's order; the response says what they decided.
    """

    instrument_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    side: OrderSide
    quantity: Decimal
    order_type: OrderType = OrderType.MARKET
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    expire_ns: Annotated[int, msgspec.Meta(ge=0)] | None = None
    reduce_only: bool = False
    post_only: bool = False
    trailing_offset: Decimal | None = None
    trailing_offset_type: TrailingOffsetType = TrailingOffsetType.PRICE
    limit_offset: Decimal | None = None
    trigger_type: TriggerType = TriggerType.DEFAULT


class TradingStateRequest(
    msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True
):
    """The kill switch: ACTIVE lets everything through, REDUCING only what shrinks a
    position, HALTED nothing (cancels still go through)."""

    state: Literal["ACTIVE", "REDUCING", "HALTED", "active", "reducing", "halted"]
    reason: Annotated[str, msgspec.Meta(max_length=200)] = "operator"


class StopStrategyRequest(
    msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True
):
    """Stop one strategy; `cancel_open_orders` cancels its open orders first (they stay
    working otherwise, and the strategy is told of the canceled ones when it starts)."""

    cancel_open_orders: bool = False


class BacktestRequest(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """A backtest job: `config` is a backtest config file on the daemon's machine (what
    `tradebus backtest CONFIG` takes); null runs the bundled demo."""

    config: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)] | None = None


class Subscribe(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True,
                tag_field="op", tag="subscribe"):
    """WebSocket: receive events published on topics matching these patterns."""

    patterns: Annotated[list[Pattern], msgspec.Meta(min_length=1, max_length=32)]


class Unsubscribe(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True,
                  tag_field="op", tag="unsubscribe"):
    """WebSocket: stop receiving these patterns (each one as it was subscribed)."""

    patterns: Annotated[list[Pattern], msgspec.Meta(min_length=1, max_length=32)]


ClientMessage = Subscribe | Unsubscribe
"""What a WebSocket client sends, told apart by `op`."""
