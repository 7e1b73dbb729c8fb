"""The last market data item seen per instrument, and its L2 book: the graph's one view of
"the market now".

The kernel stores each item here before it publishes it, so every actor handling that
item reads the same price and the same book. Storing a bar, trade or quote is one dict
assignment; prices are derived only when someone asks (risk valuing an order, the
portfolio marking to market), which keeps the per-bar cost of a backtest at that one
store. A book delta is applied to its instrument's `OrderBook` (made on the first delta,
keyed by the instrument's price increment when the cache knows the instrument): a
snapshot arrives as CLEAR plus ADDs (the ccxt adapter sends it so, and so do
recordings), a diff as ADD/UPDATE/DELETE, and both go through `OrderBook.apply`.
Deltas are not prices (a level added far from the touch says nothing about where the
market trades), so the last price stays that of the last bar, trade or quote; only an
instrument that has none is priced at its book's mid.
"""

from __future__ import annotations

from engine.domain.order_book import OrderBook, OrderBookState
from engine.events.market import Bar, BookDelta, FundingRate, QuoteTick, TradeTick
from engine.instruments import InstrumentRegistry

__all__ = ("MarketCache",)

MarketData = Bar | TradeTick | QuoteTick


class MarketCache:
    """Last item, and so last price, by instrument id; the order book of each instrument
    that has book data.

    Args:
        instruments: where a new book finds its instrument's price increment (the graph
            binds its registry when none is given); an unknown instrument's book is
            keyed by float prices.
    """

    __slots__ = ("books", "instruments", "last")

    def __init__(self, instruments: InstrumentRegistry | None = None) -> None:
        self.last: dict[str, MarketData] = {}
        """Instrument id -> last item. The replay driver writes it directly (hot path)."""
        self.books: dict[str, OrderBook] = {}
        """Instrument id -> its book. Only the cache applies deltas; everyone else reads."""
        self.instruments = instruments

    def update(self, message: MarketData | BookDelta | FundingRate) -> None:
        """Remember `message` as its instrument's last item, or apply a book delta."""
        if type(message) is Bar:
            self.last[message.bar_type.instrument_id] = message
        elif type(message) is BookDelta:
            book = self.books.get(message.instrument_id)
            if book is None:
                book = self._new_book(message.instrument_id)
            book.apply(message)
        elif type(message) is FundingRate:
            return  # a rate, not a price: the venue applies it, the cache keeps prices
        else:
            self.last[message.instrument_id] = message  # type: ignore[union-attr,assignment]

    def _new_book(self, instrument_id: str) -> OrderBook:
        instrument = None if self.instruments is None else self.instruments.get(instrument_id)
        book = OrderBook(
            instrument_id,
            price_increment=None if instrument is None else instrument.price_increment,
        )
        self.books[instrument_id] = book
        return book

    def order_book(self, instrument_id: str) -> OrderBook | None:
        """The book of `instrument_id`; None until its first delta."""
        return self.books.get(instrument_id)

    def book_states(self) -> list[OrderBookState]:
        """Every book as plain values, by instrument id (a graph snapshot holds them)."""
        return [self.books[key].state() for key in sorted(self.books)]

    def restore_books(self, states: list[OrderBookState]) -> None:
        """Replace every book with the ones `book_states` returned."""
        self.books = {state.instrument_id: OrderBook.from_state(state) for state in states}

    def set_price(self, instrument_id: str, price: float, ts_ns: int = 0) -> None:
        """Record a price seen outside a data stream (a mark price, a test) as a trade."""
        self.last[instrument_id] = TradeTick(
            instrument_id=instrument_id, price=price, size=0.0, ts_event=ts_ns, ts_init=ts_ns
        )

    def last_price(self, instrument_id: str) -> float | None:
        """The close of the last bar, the last trade's price or the last quote's mid; for
        an instrument with only book data, its book's mid (None while one side is empty)."""
        item = self.last.get(instrument_id)
        if item is None:
            book = self.books.get(instrument_id)
            return None if book is None else book.mid()
        if type(item) is Bar:
            return item.close
        if type(item) is TradeTick:
            return item.price
        return (item.bid_price + item.ask_price) / 2  # type: ignore[union-attr]

    def last_bar(self, instrument_id: str) -> Bar | None:
        item = self.last.get(instrument_id)
        return item if type(item) is Bar else None
