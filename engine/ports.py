"""What the edges implement and what actors may read of each other.

Venue adapters are actors registered at `venue_endpoint(venue)`: they take SubmitOrder,
CancelOrder and ModifyOrder and answer with order events sent to `ORDERS_PROCESS`. A
simulated venue also implements `MarketDrivenVenue`: the kernel hands it each market
data item *before* publishing it, so an order placed at bar t fills at bar t+1's open and
the fill is handled before any strategy sees bar t+1 (the order a real market has).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Protocol

from engine.domain.order import Order
from engine.events.market import Bar, BookDelta, QuoteTick, TradeTick

__all__ = ("MarketDataSource", "MarketDrivenVenue", "OpenOrdersView", "PositionsView")

MarketData = Bar | TradeTick | QuoteTick | BookDelta


class MarketDrivenVenue(Protocol):
    """A venue whose matching is driven by the market data the graph sees."""

    def process_market_data(self, message: MarketData) -> None: ...


class MarketDataSource(Protocol):
    """Recorded market data, yielded in `ts_init` order (the replay driver merges sources)."""

    def __iter__(self) -> Iterator[MarketData]: ...


class PositionsView(Protocol):
    """Read-only positions, for risk checks."""

    def net_quantity(self, instrument_id: str, strategy_id: str | None = None) -> Decimal: ...


class OpenOrdersView(Protocol):
    """Read-only open orders, for risk checks and strategies."""

    def open_orders(
        self, *, strategy_id: str | None = None, instrument_id: str | None = None
    ) -> list[Order]: ...

    def order(self, client_order_id: str) -> Order | None: ...

    def open_order_count(self) -> int: ...
