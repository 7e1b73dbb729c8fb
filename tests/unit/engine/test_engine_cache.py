"""MarketCache: last items by instrument, and the L2 book built from the deltas."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from engine.cache import MarketCache
from engine.domain.enums import BookAction, OrderSide
from engine.domain.order_book import OrderBookState
from engine.events.market import BookDelta
from engine.instruments import InstrumentRegistry
from engine.testing.factories import INSTRUMENT_ID, make_bar, make_instrument

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def delta(side: OrderSide, action: BookAction, price: float = 0.0, size: float = 0.0,
          sequence: int = 0) -> BookDelta:
    return BookDelta(instrument_id=INSTRUMENT_ID, side=side, action=action, price=price,
                     size=size, sequence=sequence, ts_event=5, ts_init=5)


def test_a_snapshot_and_a_diff_build_the_instruments_book_keyed_by_its_increment() -> None:
    cache = MarketCache(InstrumentRegistry([make_instrument()]))

    for item in (delta(BUY, BookAction.CLEAR, sequence=7), delta(BUY, BookAction.ADD, 99.5, 2.0, 7),
                 delta(SELL, BookAction.ADD, 100.5, 1.0, 7),
                 delta(SELL, BookAction.UPDATE, 100.25, 3.0, 8)):
        cache.update(item)

    book = cache.order_book(INSTRUMENT_ID)
    assert book is not None and book.price_increment == Decimal("0.01")
    assert book.best_bid() == (99.5, 2.0)
    assert book.best_ask() == (100.25, 3.0)
    assert book.sequence == 8


def test_book_deltas_set_no_last_item_but_price_an_instrument_with_only_a_book() -> None:
    cache = MarketCache()
    cache.update(delta(BUY, BookAction.ADD, 99.0, 1.0))
    cache.update(delta(SELL, BookAction.ADD, 101.0, 1.0))

    assert cache.last == {}
    assert cache.last_price(INSTRUMENT_ID) == 100.0
    cache.update(make_bar(105.0, ts_event=10))
    assert cache.last_price(INSTRUMENT_ID) == 105.0  # a bar, trade or quote comes first


def test_book_states_restore_the_same_books() -> None:
    cache = MarketCache(InstrumentRegistry([make_instrument()]))
    cache.update(delta(BUY, BookAction.ADD, 99.99, 1.5, 3))
    cache.update(delta(SELL, BookAction.ADD, 100.01, 0.5, 4))
    cache.update(delta(SELL, BookAction.ADD, 100.01, 0.7, 5))  # an ADD of a level it has
    restored = MarketCache()
    encoded = msgspec.msgpack.encode(cache.book_states())

    restored.restore_books(msgspec.msgpack.decode(encoded, type=list[OrderBookState]))

    book, again = cache.order_book(INSTRUMENT_ID), restored.order_book(INSTRUMENT_ID)
    assert book is not None and again is not None
    assert again.depth(5) == book.depth(5)
    assert again.statistics() == book.statistics()
    assert msgspec.msgpack.encode(restored.book_states()) == encoded  # int tick keys stay ints
