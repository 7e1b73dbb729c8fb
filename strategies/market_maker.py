"""A market maker on an L2 book: quote a bid and an ask around the mid, within an
inventory limit. The example of a strategy that reads the book, and the workload of the
book benchmark (tests/bench/book_backtest.py).

Rules: on each book delta that ends a venue message (`delta.last`), read the book's
mid. While both quotes rest and the mid is within `requote_ticks` of the mid they were
placed around, do nothing (most deltas change levels away from the touch). Otherwise
place (or move, by cancel-replace) a post-only bid `half_spread_ticks` below the mid and
an ask as far above it, rounded away from the mid onto the tick, each of `quantity`.
With a long position of `max_inventory` or more it quotes no bid, with a short one that
large no ask, so the position stays within the limit plus one quote (a quote resting
when the limit is reached is canceled). A stale or one-sided book makes it pull both
quotes: it does not quote a market it cannot see.

Across a restart it keeps the mid it quoted around and whether an order event is still
to be looked at (`on_save`); the quotes themselves are orders, which the order manager
keeps.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from engine.domain.enums import OrderSide
from engine.domain.order import Order
from engine.events.fills import OrderFilled
from engine.events.market import BookDelta
from engine.events.orders import (
    OrderCanceled,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderModifyRejected,
    OrderRejected,
)
from engine.strategy import Strategy, StrategyConfig

__all__ = ("MarketMaker", "MarketMakerConfig")

_BUY = OrderSide.BUY
_LOOK_AGAIN = frozenset({OrderFilled, OrderCanceled, OrderDenied, OrderExpired,
                         OrderModifyRejected, OrderRejected})


class MarketMakerConfig(StrategyConfig, kw_only=True, frozen=True):
    instrument_id: str
    quantity: Decimal = Decimal("0.01")
    half_spread_ticks: int = 1
    requote_ticks: int = 4
    max_inventory: Decimal = Decimal("0.1")

    def __post_init__(self) -> None:
        # Checked at config load, so a bad file fails before anything runs.
        if self.quantity <= 0:
            raise ValueError(f"quantity {self.quantity}: must be > 0")
        if self.half_spread_ticks < 1:
            raise ValueError(f"half_spread_ticks {self.half_spread_ticks}: must be >= 1")
        if self.requote_ticks < 1:
            raise ValueError(f"requote_ticks {self.requote_ticks}: must be >= 1")
        if self.max_inventory <= 0:
            raise ValueError(f"max_inventory {self.max_inventory}: must be > 0")


class MarketMaker(Strategy):
    """Quote both sides around the book's mid, inventory-limited."""

    config_type = MarketMakerConfig
    config: MarketMakerConfig

    def on_start(self) -> None:
        config = self.config
        increment = self.instruments.require(config.instrument_id).price_increment
        self._increment = increment
        self._tick = float(increment)
        self._band = config.requote_ticks * self._tick
        self._quoted_mid: float | None = None
        self._dirty = True  # an order event since the last quote: look at the orders again
        self.subscribe_order_book(config.instrument_id)

    def on_save(self) -> dict[str, Any]:
        return {"quoted_mid": self._quoted_mid, "dirty": self._dirty}

    def on_load(self, state: dict[str, Any]) -> None:
        self._quoted_mid = state["quoted_mid"]
        self._dirty = state["dirty"]

    def on_book_delta(self, delta: BookDelta) -> None:
        if not delta.last:
            return  # part of a venue message: the book is consistent after its last delta
        book = self.order_book(delta.instrument_id)
        mid = None if book is None or book.stale else book.mid()
        quoted = self._quoted_mid
        if (mid is not None and quoted is not None and not self._dirty
                and abs(mid - quoted) < self._band):
            return
        self._requote(mid)

    def on_order_event(self, event: OrderEvent) -> None:
        # A fill, a cancel, a denial... may leave a side without its quote, or the
        # position at its limit: the next delta looks again (an acceptance changes neither).
        if type(event) in _LOOK_AGAIN:
            self._dirty = True

    def _requote(self, mid: float | None) -> None:
        config = self.config
        instrument_id = config.instrument_id
        bid: Order | None = None
        ask: Order | None = None
        for order in self.open_orders(instrument_id):
            if order.side is _BUY and bid is None:
                bid = order
            elif order.side is not _BUY and ask is None:
                ask = order
            else:
                self.cancel_order(order.client_order_id)  # one quote a side
        self._dirty = False
        if mid is None:
            for order in (bid, ask):
                if order is not None:
                    self.cancel_order(order.client_order_id)
            self._quoted_mid = None
            return
        position = self.net_quantity(instrument_id)
        steps = mid / self._tick
        bid_price = Decimal(math.floor(steps - config.half_spread_ticks + 1e-9)) * self._increment
        ask_price = Decimal(math.ceil(steps + config.half_spread_ticks - 1e-9)) * self._increment
        self._quote(bid, OrderSide.BUY, bid_price, position < config.max_inventory)
        self._quote(ask, OrderSide.SELL, ask_price, -position < config.max_inventory)
        self._quoted_mid = mid

    def _quote(self, order: Order | None, side: OrderSide, price: Decimal, wanted: bool) -> None:
        if not wanted:
            if order is not None:
                self.cancel_order(order.client_order_id)
            return
        if order is None:
            self.limit_order(self.config.instrument_id, side, self.config.quantity, price,
                             post_only=True)
        elif order.price != price:
            self.modify_order(order.client_order_id, price=price)
