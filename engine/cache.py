"""The last market data item seen per instrument: the graph's one source of "the price now".

The kernel stores each item here before it publishes it, so every actor handling that
item reads the same price. Storing is one dict assignment; prices are derived only when
someone asks (risk valuing an order, the portfolio marking to market), which keeps the
per-bar cost of a backtest at that one store. Order book deltas are not prices (a level
added far from the touch says nothing about where the market trades): `update` ignores
them, so the last price stays that of the last bar, trade or quote.
"""

from __future__ import annotations

from engine.events.market import Bar, BookDelta, QuoteTick, TradeTick

__all__ = ("MarketCache",)

MarketData = Bar | TradeTick | QuoteTick


class MarketCache:
    """Last item, and so last price, by instrument id."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last: dict[str, MarketData] = {}
        """Instrument id -> last item. The replay driver writes it directly (hot path)."""

    def update(self, message: MarketData | BookDelta) -> None:
        """Remember `message` as its instrument's last item; ignore book deltas (no price)."""
        if type(message) is Bar:
            self.last[message.bar_type.instrument_id] = message
        elif type(message) is TradeTick or type(message) is QuoteTick:
            self.last[message.instrument_id] = message
        # a BookDelta carries no price: ignored

    def set_price(self, instrument_id: str, price: float, ts_ns: int = 0) -> None:
        """Record a price seen outside a data stream (a mark price, a test) as a trade."""
        self.last[instrument_id] = TradeTick(
            instrument_id=instrument_id, price=price, size=0.0, ts_event=ts_ns, ts_init=ts_ns
        )

    def last_price(self, instrument_id: str) -> float | None:
        """The close of the last bar, the last trade's price or the last quote's mid."""
        item = self.last.get(instrument_id)
        if item is None:
            return None
        if type(item) is Bar:
            return item.close
        if type(item) is TradeTick:
            return item.price
        return (item.bid_price + item.ask_price) / 2  # type: ignore[union-attr]

    def last_bar(self, instrument_id: str) -> Bar | None:
        item = self.last.get(instrument_id)
        return item if type(item) is Bar else None
