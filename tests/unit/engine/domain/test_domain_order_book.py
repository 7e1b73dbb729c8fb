"""The L2 order book: hand-written scenarios, then properties against a dict-and-sort model."""

from __future__ import annotations

import math
from collections import Counter
from decimal import Decimal as D

import pytest
from hypothesis import given, strategies as st

from engine.domain import BookAction, OrderBook, OrderSide
from engine.events import BookDelta

INSTRUMENT = "BTC/USDT.SIM"
BUY, SELL = OrderSide.BUY, OrderSide.SELL
ADD, UPDATE, DELETE, CLEAR = BookAction.ADD, BookAction.UPDATE, BookAction.DELETE, BookAction.CLEAR


def delta(
    side: OrderSide, action: BookAction, price: float, size: float, sequence: int = 0,
    ts: int = 1,
) -> BookDelta:
    return BookDelta(instrument_id=INSTRUMENT, side=side, action=action, price=price, size=size,
                     sequence=sequence, ts_event=ts, ts_init=ts)


def snapshot_book(sequence: int = 0) -> OrderBook:
    """Bids 100.00 x 1, 99.99 x 2, 99.97 x 4; asks 100.02 x 1.5, 100.03 x 3, 100.05 x 1."""
    book = OrderBook(INSTRUMENT, price_increment=D("0.01"))
    for item in (
        delta(BUY, CLEAR, 0.0, 0.0, sequence),
        delta(BUY, ADD, 100.0, 1.0, sequence),
        delta(BUY, ADD, 99.99, 2.0, sequence),
        delta(BUY, ADD, 99.97, 4.0, sequence),
        delta(SELL, ADD, 100.02, 1.5, sequence),
        delta(SELL, ADD, 100.03, 3.0, sequence),
        delta(SELL, ADD, 100.05, 1.0, sequence),
    ):
        assert book.apply(item)
    return book


# -- building and reading -------------------------------------------------------------------


def test_order_book_snapshot_gives_best_spread_mid_and_depth() -> None:
    book = snapshot_book()

    assert book.best_bid() == (100.0, 1.0)
    assert book.best_ask() == (100.02, 1.5)
    assert book.spread() == 0.02
    assert book.mid() == 100.01
    assert book.depth(2) == ([(100.0, 1.0), (99.99, 2.0)], [(100.02, 1.5), (100.03, 3.0)])
    assert book.depth(10).bids == [(100.0, 1.0), (99.99, 2.0), (99.97, 4.0)]
    assert book.level_count(BUY) == 3
    assert book.level_count(SELL) == 3
    assert book.statistics().snapshots == 1


def test_order_book_empty_reads_none() -> None:
    book = OrderBook(INSTRUMENT)

    assert (book.best_bid(), book.best_ask(), book.spread(), book.mid()) == (None,) * 4
    assert book.depth(5) == ([], [])
    assert not book.is_crossed
    assert not book.is_locked
    assert book.take(BUY, 1.0).average_price is None


def test_order_book_update_sets_size_and_zero_size_deletes() -> None:
    book = snapshot_book()

    book.apply(delta(BUY, UPDATE, 100.0, 0.25, ts=7))
    book.apply(delta(SELL, UPDATE, 100.02, 0.0, ts=8))

    assert book.best_bid() == (100.0, 0.25)
    assert book.best_ask() == (100.03, 3.0)
    assert book.ts_event == 8
    assert book.size_at(SELL, 100.02) == 0.0
    assert book.size_at(BUY, 99.99) == 2.0


def test_order_book_delete_of_missing_level_is_counted_not_raised() -> None:
    book = snapshot_book()

    applied = book.apply(delta(BUY, DELETE, 99.98, 0.0))

    assert applied
    assert book.statistics().missing_level_deletes == 1
    assert book.levels(BUY) == [(100.0, 1.0), (99.99, 2.0), (99.97, 4.0)]
    assert not book.stale


def test_order_book_add_of_existing_and_update_of_missing_are_applied_and_counted() -> None:
    book = snapshot_book()

    book.apply(delta(BUY, ADD, 100.0, 5.0))
    book.apply(delta(SELL, UPDATE, 100.04, 2.0))

    statistics = book.statistics()
    assert (statistics.existing_level_adds, statistics.missing_level_updates) == (1, 1)
    assert book.best_bid() == (100.0, 5.0)
    assert book.levels(SELL, 3) == [(100.02, 1.5), (100.03, 3.0), (100.04, 2.0)]


def test_order_book_crossed_and_locked_are_detected() -> None:
    book = snapshot_book()

    book.apply(delta(BUY, ADD, 100.02, 1.0))
    locked = (book.is_locked, book.is_crossed, book.spread())
    book.apply(delta(BUY, ADD, 100.03, 1.0))

    assert locked == (True, False, 0.0)
    assert (book.is_locked, book.is_crossed) == (False, True)
    assert book.spread() == -0.01


def test_order_book_for_another_instrument_raises() -> None:
    book = OrderBook(INSTRUMENT)
    other = BookDelta(instrument_id="ETH/USDT.SIM", side=BUY, action=ADD, price=1.0, size=1.0,
                      ts_event=0, ts_init=0)

    with pytest.raises(ValueError, match="instrument_id 'ETH/USDT.SIM'"):
        book.apply(other)


@pytest.mark.parametrize("increment", ["0", "-0.01", "NaN", "Infinity"])
def test_order_book_bad_increment_raises(increment: str) -> None:
    with pytest.raises(ValueError, match="price_increment"):
        OrderBook(INSTRUMENT, price_increment=D(increment))


@pytest.mark.parametrize(
    ("increment", "price"),
    [("0.05", 1.15), ("0.25", 30000.75), ("5", 4995.0), ("1E+1", 120.0), ("0.00000001", 0.12345678),
     ("0.00000001", 98765.43210987)],
)
def test_order_book_ticks_read_back_the_price_the_feed_printed(
    increment: str, price: float
) -> None:
    book = OrderBook(INSTRUMENT, price_increment=D(increment))

    book.apply(delta(BUY, ADD, price, 1.0))

    assert book.best_bid() == (price, 1.0)
    assert book.statistics().rejected == 0


# -- bad data and sequence gaps -------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "size"),
    [(100.0, -1.0), (100.0, math.nan), (100.0, math.inf), (math.nan, 1.0), (math.inf, 1.0),
     (100.005, 1.0), (1e20, 1.0)],
)
def test_order_book_bad_delta_is_rejected_and_makes_the_book_stale(price: float,
                                                                   size: float) -> None:
    book = snapshot_book()

    applied = book.apply(delta(BUY, UPDATE, price, size))
    later = book.apply(delta(BUY, UPDATE, 100.0, 1.0))

    statistics = book.statistics()
    assert (applied, later) == (False, False)
    assert (statistics.rejected, statistics.skipped_while_stale, statistics.stale) == (1, 1, True)
    assert book.best_bid() is None
    assert book.depth(5) == ([], [])


def test_order_book_sequence_gap_empties_until_the_next_snapshot() -> None:
    book = snapshot_book(sequence=10)
    book.apply(delta(BUY, UPDATE, 100.0, 2.0, sequence=11))

    gapped = book.apply(delta(BUY, UPDATE, 100.0, 3.0, sequence=13))
    skipped = book.apply(delta(SELL, UPDATE, 100.02, 3.0, sequence=14))
    stale_reads = (book.stale, book.best_bid(), book.take(SELL, 1.0).filled)
    book.apply(delta(BUY, CLEAR, 0.0, 0.0, sequence=20))
    book.apply(delta(BUY, ADD, 99.5, 1.0, sequence=20))

    assert (gapped, skipped) == (False, False)
    assert stale_reads == (True, None, 0.0)
    assert not book.stale
    assert book.best_bid() == (99.5, 1.0)
    assert book.sequence == 20
    statistics = book.statistics()
    assert (statistics.gaps, statistics.skipped_while_stale, statistics.snapshots) == (1, 1, 2)


def test_order_book_deltas_of_one_message_share_a_sequence_and_older_ones_are_dropped() -> None:
    book = snapshot_book(sequence=5)

    shared = book.apply(delta(BUY, UPDATE, 100.0, 2.0, sequence=5))
    older = book.apply(delta(BUY, UPDATE, 100.0, 9.0, sequence=4))
    unsequenced = book.apply(delta(BUY, UPDATE, 99.99, 7.0, sequence=0))

    assert (shared, older, unsequenced) == (True, False, True)
    assert book.levels(BUY, 2) == [(100.0, 2.0), (99.99, 7.0)]
    assert book.statistics().out_of_order == 1
    assert not book.stale


# -- taking liquidity -------------------------------------------------------------------------


def test_order_book_take_walks_levels_and_averages_by_volume() -> None:
    book = snapshot_book()

    estimate = book.take(BUY, 3.0)

    assert book.walk(BUY, 3.0) == [(100.02, 1.5), (100.03, 1.5)]
    assert estimate.complete
    assert (estimate.filled, estimate.remaining, estimate.levels) == (3.0, 0.0, 2)
    assert estimate.average_price == pytest.approx((100.02 * 1.5 + 100.03 * 1.5) / 3.0)
    assert estimate.worst_price == 100.03


def test_order_book_take_of_exactly_the_touch_stops_there() -> None:
    book = snapshot_book()

    estimate = book.take(BUY, 1.5)

    assert book.walk(BUY, 1.5) == [(100.02, 1.5)]
    assert (estimate.complete, estimate.levels, estimate.average_price) == (True, 1, 100.02)


def test_order_book_take_beyond_liquidity_fills_part() -> None:
    book = snapshot_book()

    estimate = book.take(SELL, 10.0)

    assert not estimate.complete
    assert (estimate.filled, estimate.remaining, estimate.worst_price) == (7.0, 3.0, 99.97)
    assert estimate.average_price == pytest.approx((100.0 + 99.99 * 2 + 99.97 * 4) / 7.0)


def test_order_book_take_stops_at_the_limit_price_inclusive() -> None:
    book = snapshot_book()

    buy = book.walk(BUY, 10.0, limit_price=100.03)
    sell = book.walk(SELL, 10.0, limit_price=99.98)
    none = book.take(BUY, 1.0, limit_price=100.01)

    assert buy == [(100.02, 1.5), (100.03, 3.0)]
    assert sell == [(100.0, 1.0), (99.99, 2.0)]
    assert (none.filled, none.average_price, none.remaining) == (0.0, None, 1.0)


@pytest.mark.parametrize("quantity", [0.0, -1.0, math.nan, math.inf])
def test_order_book_take_of_bad_quantity_raises(quantity: float) -> None:
    with pytest.raises(ValueError, match="quantity"):
        snapshot_book().take(BUY, quantity)


@pytest.mark.parametrize("limit_price", [math.nan, math.inf, -math.inf])
def test_order_book_walk_with_bad_limit_price_raises(limit_price: float) -> None:
    with pytest.raises(ValueError, match="limit_price"):
        snapshot_book().walk(SELL, 1.0, limit_price)


def test_order_book_negative_depth_raises() -> None:
    with pytest.raises(ValueError, match="count -1"):
        snapshot_book().depth(-1)


# -- properties against a dict-and-sort model ----------------------------------------------


class NaiveBook:
    """The documented semantics written the slow, obvious way: a dict per side, sorted on
    every read, keyed by the integer tick the test generated the price from."""

    def __init__(self) -> None:
        self.sides: dict[OrderSide, dict[int, float]] = {BUY: {}, SELL: {}}
        self.sequence = 0
        self.stale = False
        self.counts: Counter[str] = Counter()

    def _invalidate(self) -> None:
        self.sides = {BUY: {}, SELL: {}}
        self.stale = True

    def apply(self, item: BookDelta, tick: int) -> bool:
        if item.action == CLEAR:
            self.sides = {BUY: {}, SELL: {}}
            self.stale = False
            self.sequence = item.sequence
            self.counts.update(["deltas_applied", "snapshots"])
            return True
        if item.sequence:
            if self.sequence and item.sequence not in (self.sequence, self.sequence + 1):
                if item.sequence < self.sequence:
                    self.counts["out_of_order"] += 1
                    return False
                self.sequence = item.sequence
                self.counts["gaps"] += 1
                self._invalidate()
                return False
            self.sequence = item.sequence
        if self.stale:
            self.counts["skipped_while_stale"] += 1
            return False
        if not (math.isfinite(item.size) and item.size >= 0):
            self.counts["rejected"] += 1
            self._invalidate()
            return False
        levels = self.sides[item.side]
        if item.action == DELETE or item.size == 0:
            if tick in levels:
                del levels[tick]
            else:
                self.counts["missing_level_deletes"] += 1
        else:
            if tick in levels and item.action == ADD:
                self.counts["existing_level_adds"] += 1
            if tick not in levels and item.action == UPDATE:
                self.counts["missing_level_updates"] += 1
            levels[tick] = item.size
        self.counts["deltas_applied"] += 1
        return True

    def levels(self, side: OrderSide) -> list[tuple[float, float]]:
        ordered = sorted(self.sides[side].items(), reverse=side is BUY)
        return [(tick / 100, size) for tick, size in ordered]

    def walk(self, aggressor: OrderSide, quantity: float,
             limit_tick: int | None) -> tuple[list[tuple[float, float]], float]:
        taken: list[tuple[float, float]] = []
        remaining = quantity
        book_side = SELL if aggressor is BUY else BUY
        for tick, size in sorted(self.sides[book_side].items(), reverse=book_side is BUY):
            if limit_tick is not None and (tick > limit_tick if aggressor is BUY
                                           else tick < limit_tick):
                break
            if size >= remaining:
                taken.append((tick / 100, remaining))
                return taken, 0.0
            taken.append((tick / 100, size))
            remaining -= size
        return taken, remaining


TICKS = st.integers(min_value=9_990, max_value=10_010)
SIZES = st.one_of(st.sampled_from([0.0, 0.001, 0.5, 1.0, 2.5]),
                  st.floats(min_value=0.0, max_value=10.0, allow_nan=False))
STEPS = st.sampled_from([0, 1, 1, 1, 1, 2, -1])
"""Sequence steps: 0 the same message, 1 the next, 2 a gap, -1 an older message."""


@st.composite
def delta_runs(draw: st.DrawFn, *, bad_sizes: bool = False) -> list[tuple[BookDelta, int]]:
    """A run of (delta, tick): usually a snapshot first, then any actions near one price."""
    sequenced = draw(st.booleans())
    sequence = 1 if sequenced else 0
    sizes = st.one_of(SIZES, st.sampled_from([-1.0, math.nan, math.inf])) if bad_sizes else SIZES
    run: list[tuple[BookDelta, int]] = []
    if draw(st.booleans()):
        run.append((delta(BUY, CLEAR, 0.0, 0.0, sequence), 0))
    for _ in range(draw(st.integers(min_value=0, max_value=60))):
        if sequenced:
            sequence = max(sequence + draw(STEPS), 1)
        action = draw(st.sampled_from([ADD, UPDATE, UPDATE, DELETE, ADD, UPDATE]) if not
                      draw(st.integers(0, 40)) == 0 else st.just(CLEAR))
        tick = draw(TICKS)
        side = draw(st.sampled_from([BUY, SELL]))
        run.append((delta(side, action, tick / 100, draw(sizes), sequence), tick))
    return run


def assert_same(book: OrderBook, naive: NaiveBook) -> None:
    bids, asks = naive.levels(BUY), naive.levels(SELL)
    assert book.levels(BUY) == bids
    assert book.levels(SELL) == asks
    assert book.depth(3) == (bids[:3], asks[:3])
    assert book.best_bid() == (bids[0] if bids else None)
    assert book.best_ask() == (asks[0] if asks else None)
    if bids and asks:
        assert book.spread() == pytest.approx(asks[0][0] - bids[0][0], abs=1e-9)
        assert book.mid() == pytest.approx((asks[0][0] + bids[0][0]) / 2)
        assert book.is_crossed == (bids[0][0] > asks[0][0])
        assert book.is_locked == (bids[0][0] == asks[0][0])
    else:
        assert (book.spread(), book.mid(), book.is_crossed, book.is_locked) == (
            None, None, False, False)
    statistics = book.statistics()
    for name, count in naive.counts.items():
        assert getattr(statistics, name) == count, name
    assert statistics.stale == naive.stale
    assert all(size > 0 for _, size in bids + asks)


@given(run=delta_runs(bad_sizes=True))
def test_order_book_matches_the_model_after_any_deltas(run: list[tuple[BookDelta, int]]) -> None:
    book = OrderBook(INSTRUMENT, price_increment=D("0.01"))
    naive = NaiveBook()

    results = [(book.apply(item), naive.apply(item, tick)) for item, tick in run]

    assert [mine for mine, _ in results] == [theirs for _, theirs in results]
    assert_same(book, naive)


@given(run=delta_runs(bad_sizes=True))
def test_order_book_matches_the_model_when_read_after_every_delta(
    run: list[tuple[BookDelta, int]]
) -> None:
    # reading in the middle of a snapshot sorts its levels early (see OrderBook._sort)
    book = OrderBook(INSTRUMENT, price_increment=D("0.01"))
    naive = NaiveBook()

    for item, tick in run:
        assert book.apply(item) == naive.apply(item, tick)
        assert_same(book, naive)


@given(
    run=delta_runs(),
    aggressor=st.sampled_from([BUY, SELL]),
    quantity=st.floats(min_value=0.001, max_value=30.0),
    limit=st.none() | TICKS,
)
def test_order_book_take_matches_the_model(
    run: list[tuple[BookDelta, int]], aggressor: OrderSide, quantity: float, limit: int | None
) -> None:
    book = OrderBook(INSTRUMENT, price_increment=D("0.01"))
    naive = NaiveBook()
    for item, tick in run:
        book.apply(item)
        naive.apply(item, tick)

    estimate = book.take(aggressor, quantity, None if limit is None else limit / 100)

    taken, remaining = naive.walk(aggressor, quantity, limit)
    assert book.walk(aggressor, quantity, None if limit is None else limit / 100) == taken
    assert estimate.remaining == remaining
    assert estimate.filled == pytest.approx(sum(size for _, size in taken))
    assert estimate.filled <= quantity
    assert estimate.levels == len(taken)
    if taken:
        notional = sum(price * size for price, size in taken)
        assert estimate.average_price == pytest.approx(notional / estimate.filled)
        assert estimate.worst_price == taken[-1][0]
    else:
        assert (estimate.average_price, estimate.worst_price) == (None, None)


@given(run=delta_runs())
def test_order_book_float_keys_agree_with_tick_keys(run: list[tuple[BookDelta, int]]) -> None:
    ticks = OrderBook(INSTRUMENT, price_increment=D("0.01"))
    floats = OrderBook(INSTRUMENT)

    for item, _ in run:
        ticks.apply(item)
        floats.apply(item)

    assert ticks.depth(100) == floats.depth(100)
    assert ticks.statistics() == floats.statistics()
    assert ticks.take(BUY, 5.0) == floats.take(BUY, 5.0)
