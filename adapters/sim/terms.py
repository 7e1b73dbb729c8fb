"""The two values the simulated venue's matching speaks: an order's terms, and a match.

Apart from `adapters.sim.matching` so that the rule modules (`matching`, `trailing`)
can share them without importing each other; `matching` re-exports both.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from engine.domain.enums import LiquiditySide, OrderSide, OrderType, TrailingOffsetType, TriggerType

__all__ = ("Match", "OrderTerms")


class OrderTerms(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What matching needs to know about a working order (prices on the increment).

    `triggered` is True once a trigger was hit: a triggered stop-market,
    market-if-touched or trailing-stop-market then matches as a market order, a
    triggered stop-limit, limit-if-touched or trailing-stop-limit as a limit order. A
    trailing stop's `trigger_price` (and a trailing-stop-limit's `price`) are the
    venue's, moved after the market; None until the venue has seen a price.
    """

    side: OrderSide
    order_type: OrderType
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    triggered: bool = False
    post_only: bool = False
    trailing_offset: Decimal | None = None
    trailing_offset_type: TrailingOffsetType = TrailingOffsetType.PRICE
    limit_offset: Decimal | None = None
    trigger_type: TriggerType = TriggerType.DEFAULT


class Match(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What one item does to one order: trigger it, fill it at `price`, move it, or all.

    `price` None means no fill on this item (a stop-limit that triggered without its
    limit being marketable, a trailing stop whose trigger only moved). `at_open` says
    the event happened at the item's first instant (a bar's open), not somewhere inside
    it. For a trailing stop `trigger_price` (and `limit_price`, a trailing-stop-limit's
    limit) are its terms after the item.
    """

    price: Decimal | None = None
    liquidity_side: LiquiditySide = LiquiditySide.TAKER
    at_open: bool = False
    triggered: bool = False
    trigger_price: Decimal | None = None
    limit_price: Decimal | None = None
