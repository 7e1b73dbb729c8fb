"""The last market data seen per instrument: the graph's one cheap source of "the price now".

The kernel updates it before it publishes each item, so every actor handling that item
reads the same price. Portfolio marks to market from here lazily (only when asked), which
keeps per-bar work to one dict store.
"""

from __future__ import annotations

from engine.events.market import Bar, QuoteTick, TradeTick

__all__ = ("MarketCache",)


class MarketCache:
    """Last price and last bar by instrument id."""

    __slots__ = ("_bars", "_prices")

    def __init__(self) -> None:
        self._prices: dict[str, float] = {}
        self._bars: dict[str, Bar] = {}

    def update(self, message: Bar | TradeTick | QuoteTick) -> None:
        if type(message) is Bar:
            instrument_id = message.bar_type.instrument_id
            self._prices[instrument_id] = message.close
            self._bars[instrument_id] = message
        elif type(message) is TradeTick:
            self._prices[message.instrument_id] = message.price
        elif type(message) is QuoteTick:
            self._prices[message.instrument_id] = (message.bid_price + message.ask_price) / 2

    def set_price(self, instrument_id: str, price: float) -> None:
        self._prices[instrument_id] = price

    def last_price(self, instrument_id: str) -> float | None:
        return self._prices.get(instrument_id)

    def last_bar(self, instrument_id: str) -> Bar | None:
        return self._bars.get(instrument_id)
