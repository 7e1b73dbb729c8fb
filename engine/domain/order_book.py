"""An L2 order book for one instrument, built from `BookDelta`s: what strategies read and
the simulated venue matches against.

Contract with the feed (BookDelta's design):
- A snapshot is a CLEAR followed by one ADD per level. CLEAR empties both sides, ends any
  staleness and sets the sequence base to its own `sequence`.
- ADD and UPDATE set a level's size (absolute, never an increment); a size of 0 deletes
  the level. DELETE removes it. An ADD of a level that exists, an UPDATE of one that does
  not (both applied: the venue's size is the truth) and a DELETE of a missing level (no
  change) are counted in `statistics()`, never raised.
- `sequence` (0: the venue sends none, not checked) is consecutive per venue message:
  deltas of one message share its number, the next message has number + 1. A jump is a
  gap: the book empties itself and is `stale` until the next CLEAR, so nothing reads or
  matches a book that may be wrong; an older number is dropped and counted. A delta with a
  non-finite price, a negative or non-finite size, or a price off the increment grid is
  rejected, counted, and marks the book stale the same way (its level is now unknown).

Representation: each side is a dict key -> size plus a sorted list of keys with the best
level at the end (bids ascending, asks as negated keys ascending), so the frequent
changes near the touch shift almost nothing. With a `price_increment` a key is the
price in integer ticks (price / increment): exact spreads and mids, and the scaled
integers issue 13 moves the hot path to; without one it is the float price itself.
Sizes are floats, as market data is (integer lots at the size increment come with issue
13). Cost per delta: one dict operation, plus for an add or delete a binary search and a
list shift of the levels behind it (a memmove, below the search's cost up to ~10^4
levels; tests/bench/book_bench.py measures it at several depths). A snapshot's ADDs are
one dict operation each and one sort at its end.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

import msgspec

from engine.domain.enums import BookAction, OrderSide

if TYPE_CHECKING:  # events import domain: a runtime import would be circular
    from engine.events.market import BookDelta

__all__ = (
    "BookDepth",
    "OrderBook",
    "OrderBookState",
    "OrderBookStatistics",
    "OrderBookView",
    "TakeEstimate",
)

_INFINITY = float("inf")
_MAX_TICKS = float(2**46)
"""Prices further from zero than this many increments are rejected: beyond it a float
price no longer names one tick reliably."""
_TICK_TOLERANCE = 1e-6
_RELATIVE_TOLERANCE = 4e-15
"""A price is on the grid when price / increment is within 1e-6 ticks, plus a few float
epsilons relative, of an integer: float noise in the feed, never a different tick."""

_ADD = BookAction.ADD
_UPDATE = BookAction.UPDATE
_DELETE = BookAction.DELETE
_CLEAR = BookAction.CLEAR
_BUY = OrderSide.BUY


class OrderBookStatistics(msgspec.Struct, frozen=True, kw_only=True):
    """What an `OrderBook` has applied, and every delta it did not apply as such."""

    deltas_applied: int
    snapshots: int
    """CLEARs applied: a snapshot's start."""
    gaps: int
    """Sequence jumps: each emptied the book and made it stale."""
    out_of_order: int
    """Deltas older than the last sequence number: dropped."""
    skipped_while_stale: int
    rejected: int
    """Non-finite price, negative or non-finite size, or a price off the increment grid."""
    missing_level_deletes: int
    missing_level_updates: int
    existing_level_adds: int
    stale: bool


class TakeEstimate(msgspec.Struct, frozen=True, kw_only=True):
    """What taking `quantity` from the book would get, level by level, best first."""

    quantity: float
    filled: float
    """The part of `quantity` the book (within the limit price, if one) can fill."""
    remaining: float
    """What the book cannot fill: 0.0 exactly when it fills all of it."""
    average_price: float | None
    """The volume-weighted average price of `filled`; None when nothing can be filled."""
    worst_price: float | None
    """The last level touched: the price an IOC limit order needs to fill `filled`."""
    levels: int

    @property
    def complete(self) -> bool:
        return self.remaining == 0.0


class OrderBookState(msgspec.Struct, frozen=True, kw_only=True):
    """An `OrderBook` as plain values (a graph snapshot holds one per book).

    Levels are the book's own keys (integer ticks with an increment, float prices
    without) and sizes, so a restored book is the same book, not a re-rounded one.
    """

    instrument_id: str
    price_increment: Decimal | None
    bids: list[tuple[int | float, float]]
    """(key, size): keys are ints (ticks) with an increment, floats without."""
    asks: list[tuple[int | float, float]]
    sequence: int
    stale: bool
    ts_event: int
    counters: dict[str, int]


_STATE_COUNTERS = (
    "_applied", "_snapshots", "_gaps", "_out_of_order", "_skipped", "_rejected",
    "_missing_deletes", "_missing_updates", "_existing_adds",
)


class BookDepth(NamedTuple):
    """The best levels of each side, best first, as (price, size) pairs."""

    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]


class OrderBook:
    """The price levels of one instrument's book (L2: price -> total size per side).

    Only the owner calls `apply`; every read is side-effect free, so one book can be read
    by every actor handling the delta that changed it.
    """

    __slots__ = (
        "_applied",
        "_ask_keys",
        "_asks",
        "_bid_keys",
        "_bids",
        "_denominator",
        "_existing_adds",
        "_factor",
        "_gaps",
        "_missing_deletes",
        "_missing_updates",
        "_numerator",
        "_out_of_order",
        "_rejected",
        "_sequence",
        "_skipped",
        "_snapshots",
        "_sorted",
        "_stale",
        "_ticks",
        "instrument_id",
        "price_increment",
        "ts_event",
    )

    def __init__(self, instrument_id: str, *, price_increment: Decimal | None = None) -> None:
        """Make an empty book (not stale: a feed without snapshots builds it from ADDs).

        Args:
            instrument_id: the instrument every applied delta must be for.
            price_increment: the instrument's tick; given, levels are keyed by integer
                ticks and prices off the grid are rejected.

        Raises:
            ValueError: `price_increment` is not a finite number > 0.
        """
        self.instrument_id = instrument_id
        self.price_increment = price_increment
        self.ts_event = 0
        """`ts_event` of the last delta applied (0: none yet)."""
        self._ticks = price_increment is not None
        # price(key) = key * numerator / denominator: exact int arithmetic and one
        # correctly rounded division with ticks; key * 1 / 1 (the float itself) without.
        self._numerator = 1
        self._denominator = 1
        self._factor = 1.0
        if price_increment is not None:
            sign, digits, exponent = price_increment.normalize().as_tuple()
            if sign or not isinstance(exponent, int) or not any(digits):
                raise ValueError(f"price_increment {price_increment}: must be a number > 0")
            numerator = int("".join(map(str, digits)))
            if exponent >= 0:
                numerator *= 10**exponent
            self._numerator = numerator
            self._denominator = 10 ** max(-exponent, 0)
            self._factor = self._denominator / numerator
        self._bids: dict[float, float] = {}
        self._asks: dict[float, float] = {}
        self._bid_keys: list[float] = []
        self._ask_keys: list[float] = []
        self._sequence = 0
        self._stale = False
        self._sorted = True
        self._applied = 0
        self._snapshots = 0
        self._gaps = 0
        self._out_of_order = 0
        self._skipped = 0
        self._rejected = 0
        self._missing_deletes = 0
        self._missing_updates = 0
        self._existing_adds = 0

    # -- applying deltas -------------------------------------------------------------------

    def apply(self, delta: BookDelta) -> bool:
        """Apply one delta; return True when it changed (or confirmed) the book.

        False means it was dropped (out of order, book stale) or rejected; the reason is
        counted in `statistics()`. Never raises for bad market data.

        Raises:
            ValueError: the delta is for another instrument (a wiring bug).
        """
        if delta.instrument_id != self.instrument_id:
            raise ValueError(
                f"instrument_id {delta.instrument_id!r}: this book is for {self.instrument_id!r}"
            )
        action = delta.action
        sequence = delta.sequence
        if action == _CLEAR:
            self._empty()
            self._sorted = False  # the snapshot's ADDs only fill the dicts (see _sort)
            self._stale = False
            self._sequence = sequence
            self.ts_event = delta.ts_event
            self._applied += 1
            self._snapshots += 1
            return True
        if sequence:
            last = self._sequence
            if last and sequence != last and sequence != last + 1:
                if sequence < last:
                    self._out_of_order += 1
                    return False
                self._sequence = sequence
                self._gaps += 1
                self._invalidate()
                return False
            self._sequence = sequence
        if self._stale:
            self._skipped += 1
            return False
        price = delta.price
        size = delta.size
        if not 0.0 <= size < _INFINITY or price - price != 0.0:  # NaN fails both
            return self._reject()
        if self._ticks:
            scaled = price * self._factor
            if not -_MAX_TICKS < scaled < _MAX_TICKS:
                return self._reject()
            key: float = round(scaled)
            if abs(scaled - key) > _TICK_TOLERANCE + abs(scaled) * _RELATIVE_TOLERANCE:
                return self._reject()
        else:
            key = price
        if delta.side == _BUY:
            levels = self._bids
            keys = self._bid_keys
            sort_key = key
        else:
            levels = self._asks
            keys = self._ask_keys
            sort_key = -key
        if action != _ADD and not self._sorted:
            self._sort()
        if action == _DELETE or size == 0.0:
            if levels.pop(key, None) is None:
                self._missing_deletes += 1
            elif self._sorted:
                del keys[bisect_left(keys, sort_key)]
        elif key in levels:
            if action == _ADD:
                self._existing_adds += 1
            levels[key] = size
        else:
            if action == _UPDATE:
                self._missing_updates += 1
            levels[key] = size
            if self._sorted:
                insort(keys, sort_key)
        self.ts_event = delta.ts_event
        self._applied += 1
        return True

    def _reject(self) -> bool:
        self._rejected += 1
        self._invalidate()
        return False

    def _invalidate(self) -> None:
        self._empty()
        self._stale = True

    def _empty(self) -> None:
        self._bids.clear()
        self._asks.clear()
        self._bid_keys.clear()
        self._ask_keys.clear()
        self._sorted = True

    def _sort(self) -> None:
        # A snapshot arrives best level first, the worst place for an insort into a
        # best-last list (each insert shifts all the others: quadratic). So after a CLEAR
        # the ADDs fill only the dicts, and the key lists are sorted once, here, when the
        # snapshot ends (the first delta that is not an ADD) or something reads the book.
        self._bid_keys[:] = sorted(self._bids)
        self._ask_keys[:] = sorted([-key for key in self._asks])
        self._sorted = True

    def _keys(self) -> tuple[list[float], list[float]]:
        if not self._sorted:
            self._sort()
        return self._bid_keys, self._ask_keys

    # -- reads -----------------------------------------------------------------------------

    @property
    def stale(self) -> bool:
        """True after a sequence gap or a rejected delta, until the next CLEAR; the book
        is then empty (every read says "no liquidity") rather than possibly wrong."""
        return self._stale

    @property
    def sequence(self) -> int:
        """The last sequence number seen (0: none)."""
        return self._sequence

    def _price(self, key: float) -> float:
        return key * self._numerator / self._denominator

    def best_bid(self) -> tuple[float, float] | None:
        """The highest bid as (price, size); None when there is no bid."""
        bid_keys = self._keys()[0]
        if not bid_keys:
            return None
        key = bid_keys[-1]
        return self._price(key), self._bids[key]

    def best_ask(self) -> tuple[float, float] | None:
        """The lowest ask as (price, size); None when there is no ask."""
        ask_keys = self._keys()[1]
        if not ask_keys:
            return None
        key = -ask_keys[-1]
        return self._price(key), self._asks[key]

    def spread(self) -> float | None:
        """Best ask minus best bid (negative when crossed); None unless both sides exist."""
        bid_keys, ask_keys = self._keys()
        if not bid_keys or not ask_keys:
            return None
        return self._price(-ask_keys[-1] - bid_keys[-1])

    def mid(self) -> float | None:
        """The midpoint of the best bid and ask; None unless both sides exist."""
        bid_keys, ask_keys = self._keys()
        if not bid_keys or not ask_keys:
            return None
        total = bid_keys[-1] - ask_keys[-1]
        return total * self._numerator / (2 * self._denominator)

    @property
    def is_crossed(self) -> bool:
        """True when the best bid is above the best ask: bad or lagging data."""
        bid_keys, ask_keys = self._keys()
        return bool(bid_keys and ask_keys) and bid_keys[-1] > -ask_keys[-1]

    @property
    def is_locked(self) -> bool:
        """True when the best bid equals the best ask."""
        bid_keys, ask_keys = self._keys()
        return bool(bid_keys and ask_keys) and bid_keys[-1] == -ask_keys[-1]

    def level_count(self, side: OrderSide) -> int:
        """How many price levels `side` (BUY: bids, SELL: asks) has."""
        return len(self._bids if side == OrderSide.BUY else self._asks)

    def size_at(self, side: OrderSide, price: float) -> float:
        """The size resting at `price` on `side` (BUY: bids); 0.0 when no level is there."""
        levels = self._bids if side == OrderSide.BUY else self._asks
        key: float = round(price * self._factor) if self._ticks else price
        return levels.get(key, 0.0)

    def levels(self, side: OrderSide, count: int | None = None) -> list[tuple[float, float]]:
        """The best `count` levels (None: all) of `side` (BUY: bids), best first.

        Raises:
            ValueError: `count` is negative.
        """
        if count is not None and count < 0:
            raise ValueError(f"count {count}: must be >= 0")
        if side == OrderSide.BUY:
            keys, sizes, sign = self._keys()[0], self._bids, 1
        else:
            keys, sizes, sign = self._keys()[1], self._asks, -1
        start = 0 if count is None else max(len(keys) - count, 0)
        price = self._price
        return [
            (price(sign * key), sizes[sign * key]) for key in reversed(keys[start:])
        ]

    def depth(self, levels: int) -> BookDepth:
        """The best `levels` levels of each side, best first.

        Raises:
            ValueError: `levels` is negative.
        """
        return BookDepth(self.levels(OrderSide.BUY, levels), self.levels(OrderSide.SELL, levels))

    def walk(
        self, aggressor_side: OrderSide, quantity: float, limit_price: float | None = None
    ) -> list[tuple[float, float]]:
        """The (price, size taken) a taker of `quantity` consumes, best level first.

        A BUY takes the asks, a SELL the bids, each up to `limit_price` inclusive when
        given. The sizes add up to `quantity` when the book is deep enough, to less when
        not. The book is not changed: the matching engine decides what to do.

        Raises:
            ValueError: `quantity` is not a finite number > 0, or `limit_price` not finite.
        """
        return self._consume(aggressor_side, quantity, limit_price)[0]

    def take(
        self, aggressor_side: OrderSide, quantity: float, limit_price: float | None = None
    ) -> TakeEstimate:
        """The volume-weighted average price of taking `quantity` (the levels of `walk`),
        and the part of it the book can fill.

        Raises:
            ValueError: `quantity` is not a finite number > 0, or `limit_price` not finite.
        """
        taken, remaining = self._consume(aggressor_side, quantity, limit_price)
        filled = 0.0
        notional = 0.0
        for price, size in taken:
            filled += size
            notional += price * size
        return TakeEstimate(
            quantity=quantity,
            filled=quantity if remaining == 0.0 else filled,
            remaining=remaining,
            average_price=notional / filled if taken else None,
            worst_price=taken[-1][0] if taken else None,
            levels=len(taken),
        )

    def _consume(
        self, aggressor_side: OrderSide, quantity: float, limit_price: float | None
    ) -> tuple[list[tuple[float, float]], float]:
        # the levels taken and what is left of `quantity` (exactly 0.0 when all of it)
        if not 0.0 < quantity < _INFINITY:
            raise ValueError(f"quantity {quantity}: must be a finite number > 0")
        if aggressor_side == OrderSide.BUY:
            keys, sizes, sign = self._keys()[1], self._asks, -1
        else:
            keys, sizes, sign = self._keys()[0], self._bids, 1
        bound: float | None = None
        if limit_price is not None:
            if limit_price - limit_price != 0.0:
                raise ValueError(f"limit_price {limit_price}: must be a finite number")
            # the worst acceptable level as a sort key (larger is better on both sides)
            if self._ticks:
                bound = sign * limit_price * self._factor - _TICK_TOLERANCE
            else:
                bound = sign * limit_price
        taken: list[tuple[float, float]] = []
        remaining = quantity
        for index in range(len(keys) - 1, -1, -1):
            sort_key = keys[index]
            if bound is not None and sort_key < bound:
                break
            key = sign * sort_key
            size = sizes[key]
            if size >= remaining:
                taken.append((self._price(key), remaining))
                return taken, 0.0
            taken.append((self._price(key), size))
            remaining -= size
        return taken, remaining

    def iter_levels(self, side: OrderSide) -> Iterator[tuple[float, float]]:
        """Yield the levels of `side` (BUY: bids) best first, lazily: a matching engine
        walking a deep book reads only the levels it needs. Do not apply deltas while
        iterating (the owner never does: reads happen between deltas)."""
        if side == OrderSide.BUY:
            keys, sizes, sign = self._keys()[0], self._bids, 1
        else:
            keys, sizes, sign = self._keys()[1], self._asks, -1
        price = self._price
        for index in range(len(keys) - 1, -1, -1):
            key = sign * keys[index]
            yield price(key), sizes[key]

    def vwap(self, aggressor_side: OrderSide, quantity: float) -> float | None:
        """The volume-weighted average price a taker of `quantity` would pay (BUY: from the
        asks) or get (SELL: from the bids); None unless the book can fill all of it.

        Raises:
            ValueError: `quantity` is not a finite number > 0.
        """
        estimate = self.take(aggressor_side, quantity)
        return estimate.average_price if estimate.complete else None

    def state(self) -> OrderBookState:
        """The book as plain values: `OrderBook.from_state` makes the same book again."""
        return OrderBookState(
            instrument_id=self.instrument_id,
            price_increment=self.price_increment,
            bids=list(self._bids.items()),
            asks=list(self._asks.items()),
            sequence=self._sequence,
            stale=self._stale,
            ts_event=self.ts_event,
            counters={name.lstrip("_"): getattr(self, name) for name in _STATE_COUNTERS},
        )

    @classmethod
    def from_state(cls, state: OrderBookState) -> OrderBook:
        """Make the book `state` describes (its levels, sequence, staleness, counters).

        Raises:
            ValueError: a counter this code does not know (a snapshot of newer code).
        """
        book = cls(state.instrument_id, price_increment=state.price_increment)
        book._bids = dict(state.bids)
        book._asks = dict(state.asks)
        book._sorted = False
        book._sequence = state.sequence
        book._stale = state.stale
        book.ts_event = state.ts_event
        known = {name.lstrip("_"): name for name in _STATE_COUNTERS}
        unknown = sorted(set(state.counters) - set(known))
        if unknown:
            raise ValueError(f"order book {state.instrument_id}: unknown counters {unknown}")
        for name, attribute in known.items():
            setattr(book, attribute, state.counters.get(name, 0))
        return book

    def statistics(self) -> OrderBookStatistics:
        """The counts of applied, dropped and rejected deltas, and whether the book is stale."""
        return OrderBookStatistics(
            deltas_applied=self._applied,
            snapshots=self._snapshots,
            gaps=self._gaps,
            out_of_order=self._out_of_order,
            skipped_while_stale=self._skipped,
            rejected=self._rejected,
            missing_level_deletes=self._missing_deletes,
            missing_level_updates=self._missing_updates,
            existing_level_adds=self._existing_adds,
            stale=self._stale,
        )

    def __repr__(self) -> str:
        return (
            f"OrderBook({self.instrument_id!r}, bid={self.best_bid()}, ask={self.best_ask()}, "
            f"levels={len(self._bids)}/{len(self._asks)}, stale={self._stale})"
        )


class OrderBookView:
    """A read-only window on an `OrderBook`: what a strategy gets (`Strategy.order_book`).

    The book itself belongs to the market cache, which applies every delta before any
    actor sees it; the simulated venue matches against the same book. A strategy that
    could `apply` to it would change the venue's liquidity, so it gets only the reads.
    The view follows the book: it always shows its state now, never a copy.
    """

    __slots__ = ("_book",)

    def __init__(self, book: OrderBook) -> None:
        self._book = book

    @property
    def instrument_id(self) -> str:
        return self._book.instrument_id

    @property
    def ts_event(self) -> int:
        """`ts_event` of the last delta applied (0: none yet)."""
        return self._book.ts_event

    @property
    def stale(self) -> bool:
        """True after a sequence gap or a bad delta until the next snapshot (book empty)."""
        return self._book.stale

    @property
    def sequence(self) -> int:
        return self._book.sequence

    @property
    def is_crossed(self) -> bool:
        return self._book.is_crossed

    def best_bid(self) -> tuple[float, float] | None:
        return self._book.best_bid()

    def best_ask(self) -> tuple[float, float] | None:
        return self._book.best_ask()

    def spread(self) -> float | None:
        return self._book.spread()

    def mid(self) -> float | None:
        return self._book.mid()

    def depth(self, levels: int) -> BookDepth:
        return self._book.depth(levels)

    def levels(self, side: OrderSide, count: int | None = None) -> list[tuple[float, float]]:
        return self._book.levels(side, count)

    def level_count(self, side: OrderSide) -> int:
        return self._book.level_count(side)

    def size_at(self, side: OrderSide, price: float) -> float:
        return self._book.size_at(side, price)

    def take(
        self, aggressor_side: OrderSide, quantity: float, limit_price: float | None = None
    ) -> TakeEstimate:
        return self._book.take(aggressor_side, quantity, limit_price)

    def vwap(self, aggressor_side: OrderSide, quantity: float) -> float | None:
        return self._book.vwap(aggressor_side, quantity)

    def statistics(self) -> OrderBookStatistics:
        return self._book.statistics()

    def __repr__(self) -> str:
        return f"OrderBookView({self._book!r})"
