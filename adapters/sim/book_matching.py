"""Match working orders against an instrument's L2 book: the simulated venue's finest data.

The venue hands every item of an instrument that has a book (the MarketCache's, already
updated by the item) to `BookMatcher.match`, which decides the fills of the orders the
book takes: market and limit orders, and stops once triggered (as market and limit).
Its rules (the venue's docstring summarizes them):

Stops
    A stop-market or stop-limit triggers on the instrument's items (`book_triggers`:
    trades and bars, the book's touch on its updates), then is matched here as a market
    or limit order: it walks the book from the touch, so a gap fills at the first price
    there is.

Taking (a new order, checked against the book for the first time)
    A market order, or a limit order at or through the opposite touch, walks the
    opposite side best level first (a limit up to its price), taker, at each level's
    price, taking at most what the level shows. What it cannot get stays working: an
    IOC remainder is then canceled by the venue, a FOK order fills only when the levels
    within its price hold all of it (else nothing). A market order never rests: each
    later item walks the book again for its remainder. A post-only limit never takes.

Liquidity we took
    The feed does not know about our fills: a level we took from still shows its size.
    So what each fill took is remembered per level with the size the level showed,
    and only the rest is available to later orders, until the feed changes that
    level's size (then the level is whatever the feed says: it moved on).

Resting (a limit order that did not fill at once)
    - "trade_through" (the default, conservative): it fills, maker, at its own price,
      only when the market goes through it: a trade printing beyond its price (a buy
      below, a sell above; up to the trade's size), or the opposite side of the book
      offering beyond it (asks below a buy's price, bids above a sell's; up to what those
      levels show). At its price exactly it never fills: nobody knows the queue.
    - "queue": as above, and also at its price, with an estimate of the queue ahead of
      it: the size the book showed at its level when it came to rest, less the size of
      every trade at that price against its side (a trade without an aggressor side
      counts), and never more than the level shows now (size removed from the level
      beyond what was behind it was ahead of it). Once nothing is ahead, a trade at the
      price fills it up to what the trade left past the queue, and an opposite side at
      its price (a locked book) fills it up to what that level shows.
    An order modified to another price is new again: it may take, its queue starts over.
    Among our own orders, price-time priority: on one item the better-priced order
    matches first, and of equal prices the one accepted first; all share one item's
    liquidity (a trade's size, a level's size).

Reduce-only
    The venue says how much of a reduce-only order the position it faces can still take
    (`room`): the order fills at most that (a FOK order, nothing unless it all fits).
    The venue caps each fill again as it books them, so two such orders on one item
    never take more than the position between them.

Volume cap
    With the venue's `max_volume_fraction` f, our fills take at most f × what a level
    shows (in all, until the feed changes the level) and f × a trade's size.

Quantities are Decimals: a level's or trade's size is rounded down to the size
increment, so no fill exceeds what the data showed. Fill prices are the level's price
(taking) or the order's own (resting), on the price increment. Nothing here reads a
clock or the bus: the venue turns fills into events, in the order returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Final, Literal, NamedTuple

import msgspec

from adapters.sim.records import WorkingOrder
from engine.domain.enums import LiquiditySide, OrderSide, OrderType, TriggerType
from engine.domain.money import ZERO, price_from_float, round_down_to_increment, to_decimal
from engine.domain.order_book import OrderBook
from engine.events.market import Bar, BookDelta, Instrument, TradeTick

__all__ = ("BookFill", "BookMatcher", "BookMatcherState", "RestingFills", "Room",
           "book_triggers", "takes_from_book")

RestingFills = Literal["trade_through", "queue"]
Room = Callable[[WorkingOrder], Decimal]
"""How much a reduce-only order may still fill: what the position it faces can take."""

_BUY: Final = OrderSide.BUY
_SELL: Final = OrderSide.SELL
_MAKER: Final = LiquiditySide.MAKER
_TAKER: Final = LiquiditySide.TAKER
_MARKET: Final = OrderType.MARKET
_LIMIT: Final = OrderType.LIMIT
_STOP_MARKET: Final = OrderType.STOP_MARKET
_STOP_LIMIT: Final = OrderType.STOP_LIMIT
_PRUNE_TAKEN_AT: Final = 64
"""Levels with a remembered take before the ones the feed has changed are let go."""


class BookFill(NamedTuple):
    """One fill the book gives one order (the venue makes it an `OrderFilled`)."""

    order: WorkingOrder
    quantity: Decimal
    price: Decimal
    liquidity_side: LiquiditySide


class BookMatcherState(msgspec.Struct, frozen=True, kw_only=True):
    """The matcher as plain values (part of the venue's snapshot).

    `taken`: per instrument, (side of the level, price, size it showed, size we took).
    `resting`: per instrument, venue order id -> (the price it rests at, the queue ahead
    of it; 0.0 under "trade_through", where the entry says only that it has rested).
    """

    taken: dict[str, list[tuple[OrderSide, float, float, Decimal]]]
    resting: dict[str, dict[str, tuple[float, float]]]


def takes_from_book(order: WorkingOrder) -> bool:
    """True for the orders the book matches (the rest keep the venue's item rules)."""
    terms = order.terms
    order_type = terms.order_type
    if order_type is _MARKET or order_type is _LIMIT:
        return True
    return terms.triggered and (order_type is _STOP_MARKET or order_type is _STOP_LIMIT)


def book_triggers(order: WorkingOrder, message: object, book: OrderBook) -> bool:
    """True when `message` (with `book`, which already includes it) triggers `order`, a
    stop-market or stop-limit that has not triggered: a buy once the market is at or
    above its trigger, a sell at or below; the market is a trade's price or a bar's
    high (low for a sell) for the DEFAULT and LAST trigger types, and the book's best
    ask (bid for a sell) on a book update or a quote for DEFAULT and BID_ASK. Once
    triggered the order is book-matched: it walks the book from the touch, so a stop in
    a gap fills at the first price there is, not at its trigger. Trailing stops and the
    if-touched types keep the venue's item rules."""
    terms = order.terms
    if terms.triggered or terms.trigger_price is None or not (
            terms.order_type is _STOP_MARKET or terms.order_type is _STOP_LIMIT):
        return False
    trigger = float(terms.trigger_price)
    buy = terms.side is _BUY
    watches = terms.trigger_type
    price: float
    if isinstance(message, TradeTick) or isinstance(message, Bar):
        if watches is TriggerType.BID_ASK:
            return False
        if isinstance(message, TradeTick):
            price = message.price
        else:
            price = message.high if buy else message.low
    else:  # a book update or a quote: the book's touch
        if watches is TriggerType.LAST:
            return False
        if isinstance(message, BookDelta) and not message.last:
            return False  # mid-message: the book is not whole
        touch = book.best_ask() if buy else book.best_bid()
        if touch is None:
            return False
        price = touch[0]
    return price >= trigger if buy else price <= trigger


def _is_market(order: WorkingOrder) -> bool:
    order_type = order.terms.order_type
    return order_type is _MARKET or order_type is _STOP_MARKET


class BookMatcher:
    """Decide book fills by the rules in the module docstring; owned by one venue."""

    __slots__ = ("_fraction", "_queue", "_resting", "_taken")

    def __init__(self, resting_fills: RestingFills = "trade_through",
                 max_volume_fraction: Decimal | None = None) -> None:
        self._queue = resting_fills == "queue"
        self._fraction = max_volume_fraction
        # instrument -> (side of the level, price) -> (size it showed, size we took)
        self._taken: dict[str, dict[tuple[OrderSide, float], tuple[float, Decimal]]] = {}
        # instrument -> venue order id -> (price it rests at, queue ahead); an order
        # modified to another price is new again (it may take, its queue starts over)
        self._resting: dict[str, dict[str, tuple[float, float]]] = {}

    # -- snapshots -------------------------------------------------------------------------

    def state(self) -> BookMatcherState:
        return BookMatcherState(
            taken={instrument: [(side, price, shown, took)
                                for (side, price), (shown, took) in levels.items()]
                   for instrument, levels in self._taken.items() if levels},
            resting={instrument: dict(orders)
                     for instrument, orders in self._resting.items() if orders},
        )

    def restore(self, state: BookMatcherState) -> None:
        self._taken = {instrument: {(side, price): (shown, took)
                                    for side, price, shown, took in levels}
                       for instrument, levels in state.taken.items()}
        self._resting = {instrument: dict(orders) for instrument, orders in state.resting.items()}

    # -- matching --------------------------------------------------------------------------

    def match(
        self,
        orders: list[WorkingOrder],
        book: OrderBook,
        message: object,
        instrument: Instrument,
        room: Room,
    ) -> list[BookFill]:
        """The fills `message` (a last BookDelta, a trade, a quote or a bar of the
        instrument; `book` already includes it) gives the book-matched `orders` (the
        instrument's working orders, in acceptance order; others are skipped); `room`
        caps reduce-only orders."""
        instrument_id = instrument.instrument_id
        resting = self._resting.setdefault(instrument_id, {})
        if book.stale:  # empty until the next snapshot: nothing to match, nothing to learn
            return []
        taken = self._taken.setdefault(instrument_id, {})
        if len(taken) > _PRUNE_TAKEN_AT:
            self._prune(taken, book)
        trade = message if type(message) is TradeTick else None
        if trade is None and not self._queue and self._quiet(orders, book, resting):
            return []
        fills: list[BookFill] = []
        buys: list[WorkingOrder] = []
        sells: list[WorkingOrder] = []
        for order in orders:
            if order.working and takes_from_book(order):
                (buys if order.terms.side is _BUY else sells).append(order)
        for side_orders in (buys, sells):
            if side_orders:
                self._match_side(side_orders, book, trade, instrument, resting, taken, fills,
                                 room)
        if len(resting) > len(buys) + len(sells):
            working = {order.venue_order_id for order in (*buys, *sells)}
            for venue_order_id in [key for key in resting if key not in working]:
                del resting[venue_order_id]
        return fills

    def accept(
        self, order: WorkingOrder, book: OrderBook, instrument: Instrument, room: Room
    ) -> list[BookFill]:
        """The fills a just-accepted `order` gets from the book as it stands (it takes if
        marketable, else comes to rest behind the queue the book shows now); none when it
        is not book-matched or the book is stale (then its first item decides)."""
        if book.stale or not order.working or not takes_from_book(order):
            return []
        instrument_id = instrument.instrument_id
        fills: list[BookFill] = []
        self._match_side([order], book, None, instrument,
                         self._resting.setdefault(instrument_id, {}),
                         self._taken.setdefault(instrument_id, {}), fills, room)
        return fills

    def _quiet(
        self, orders: list[WorkingOrder], book: OrderBook, resting: dict[str, tuple[float, float]]
    ) -> bool:
        """True when no order can fill on this book: every book-matched order has rested
        at its price and the other side is not through it (most items of a quoting
        strategy). Not under "queue", whose estimate follows every change of the level."""
        best_bid: tuple[float, float] | None = None
        best_ask: tuple[float, float] | None = None
        for order in orders:
            if not order.working or not takes_from_book(order):
                continue
            record = resting.get(order.venue_order_id)
            price = order.terms.price
            if record is None or price is None or record[0] != float(price):
                return False  # new, a market order, or modified: it may take
            if order.terms.side is _BUY:
                if best_ask is None:
                    best_ask = book.best_ask()
                    if best_ask is None:
                        continue
                if best_ask[0] < record[0]:
                    return False
            else:
                if best_bid is None:
                    best_bid = book.best_bid()
                    if best_bid is None:
                        continue
                if best_bid[0] > record[0]:
                    return False
        return True

    def _match_side(
        self,
        orders: list[WorkingOrder],
        book: OrderBook,
        trade: TradeTick | None,
        instrument: Instrument,
        resting: dict[str, tuple[float, float]],
        taken: dict[tuple[OrderSide, float], tuple[float, Decimal]],
        fills: list[BookFill],
        room: Room,
    ) -> None:
        buy = orders[0].terms.side is _BUY
        if len(orders) > 1:  # price priority (market orders first), then time (stable)
            orders.sort(key=_priority_key_buy if buy else _priority_key_sell)
        size_increment = instrument.size_increment
        # what the item's trade may still fill, shared by the orders in priority order
        pool = (_share(trade.size, self._fraction, size_increment)
                if trade is not None and trade.size > 0.0 else ZERO)
        for order in orders:
            leaves = order.leaves
            if order.command.reduce_only:
                cap = room(order)
                if cap < leaves:
                    if order.fill_or_kill:
                        continue  # all or nothing: the position cannot take all of it
                    leaves = cap
            if leaves <= ZERO:
                continue
            limit = order.terms.price
            limit_float = None if limit is None or _is_market(order) else float(limit)
            record = resting.get(order.venue_order_id)
            if record is None or record[0] != limit_float:
                if not order.terms.post_only:
                    leaves = self._take(order, leaves, limit_float, book, instrument, taken,
                                        fills)
                if leaves > ZERO and limit_float is not None and not order.once:
                    own_side = _BUY if buy else _SELL
                    resting[order.venue_order_id] = (limit_float, book.size_at(
                        own_side, limit_float) if self._queue else 0.0)
                continue
            assert limit is not None and limit_float is not None  # only limits rest
            pool = self._rest(order, leaves, limit, limit_float, record[1], buy, book, trade,
                              pool, instrument, resting, taken, fills)

    def _take(
        self,
        order: WorkingOrder,
        leaves: Decimal,
        limit: float | None,
        book: OrderBook,
        instrument: Instrument,
        taken: dict[tuple[OrderSide, float], tuple[float, Decimal]],
        fills: list[BookFill],
    ) -> Decimal:
        """Walk the opposite side for `order` (taker); return what is left of `leaves`."""
        buy = order.terms.side is _BUY
        level_side = _SELL if buy else _BUY
        size_increment = instrument.size_increment
        walked: list[tuple[float, float, Decimal]] = []  # (price, size shown, available)
        wanted = leaves
        for price, size in book.iter_levels(level_side):
            if limit is not None and (price > limit if buy else price < limit):
                break
            available = _available(taken, level_side, price, size, size_increment,
                                   self._fraction)
            if available <= ZERO:
                continue
            walked.append((price, size, available))
            wanted -= available
            if wanted <= ZERO:
                break
        if order.fill_or_kill and wanted > ZERO:
            return leaves  # all or nothing: not all of it is there
        for price, size, available in walked:
            quantity = min(available, leaves)
            _record(taken, level_side, price, size, quantity)
            fills.append(BookFill(order, quantity, price_from_float(price,
                                  instrument.price_increment), _TAKER))
            leaves -= quantity
        return leaves

    def _rest(
        self,
        order: WorkingOrder,
        leaves: Decimal,
        limit: Decimal,
        limit_float: float,
        ahead: float,
        buy: bool,
        book: OrderBook,
        trade: TradeTick | None,
        pool: Decimal,
        instrument: Instrument,
        resting: dict[str, tuple[float, float]],
        taken: dict[tuple[OrderSide, float], tuple[float, Decimal]],
        fills: list[BookFill],
    ) -> Decimal:
        """Fill a resting limit (maker, at `limit`); return what is left of the trade pool."""
        size_increment = instrument.size_increment
        own_side = _BUY if buy else _SELL
        level_side = _SELL if buy else _BUY
        queue = self._queue
        if queue:
            ahead = min(ahead, book.size_at(own_side, limit_float))
        filled = ZERO
        # the opposite side through our price (and at it, once nothing is ahead in "queue")
        at_price = queue and ahead <= 0.0
        best = book.best_ask() if buy else book.best_bid()
        if best is None:
            levels: Iterator[tuple[float, float]] = iter(())
        elif (best[0] < limit_float if buy else best[0] > limit_float) or (
                at_price and best[0] == limit_float):
            levels = book.iter_levels(level_side)
        else:  # the usual case: the other side is not at or through us, nothing to walk
            levels = iter(())
        for price, size in levels:
            if price > limit_float if buy else price < limit_float:
                break
            if price == limit_float and not at_price:
                break
            available = _available(taken, level_side, price, size, size_increment,
                                   self._fraction)
            if available <= ZERO:
                continue
            quantity = min(available, leaves - filled)
            _record(taken, level_side, price, size, quantity)
            filled += quantity
            if filled >= leaves:
                break
        if trade is not None and pool > ZERO and filled < leaves:
            price = trade.price
            through = price < limit_float if buy else price > limit_float
            if through:
                quantity = min(pool, leaves - filled)
            elif queue and price == limit_float and trade.aggressor_side is not own_side:
                past_queue = trade.size - ahead
                ahead = max(ahead - trade.size, 0.0)
                quantity = ZERO
                if past_queue > 0.0:
                    quantity = min(pool, leaves - filled, round_down_to_increment(
                        to_decimal(past_queue), size_increment))
            else:
                quantity = ZERO
            if quantity > ZERO:
                filled += quantity
                pool -= quantity
        resting[order.venue_order_id] = (limit_float, ahead)
        if filled > ZERO:
            fills.append(BookFill(order, filled, limit, _MAKER))
        return pool

    def _prune(
        self, taken: dict[tuple[OrderSide, float], tuple[float, Decimal]], book: OrderBook
    ) -> None:
        for key in [key for key, (shown, _) in taken.items()
                    if book.size_at(key[0], key[1]) != shown]:
            del taken[key]


def _share(size: float, fraction: Decimal | None, size_increment: Decimal) -> Decimal:
    """What of `size` (a level's, a trade's) our fills may take: all of it, or `fraction`
    of it (`max_volume_fraction`), rounded down to the size increment."""
    amount = to_decimal(size)
    return round_down_to_increment(amount if fraction is None else amount * fraction,
                                   size_increment)


def _available(
    taken: dict[tuple[OrderSide, float], tuple[float, Decimal]],
    side: OrderSide,
    price: float,
    size: float,
    size_increment: Decimal,
    fraction: Decimal | None,
) -> Decimal:
    """What a level showing `size` still has for us: all of it (or `fraction` of it),
    rounded down to the size increment, less what we took while it showed this size."""
    shown = _share(size, fraction, size_increment)
    entry = taken.get((side, price))
    if entry is None:
        return shown
    if entry[0] != size:  # the feed changed the level: our take is history
        del taken[(side, price)]
        return shown
    return shown - entry[1]


def _record(
    taken: dict[tuple[OrderSide, float], tuple[float, Decimal]],
    side: OrderSide,
    price: float,
    size: float,
    quantity: Decimal,
) -> None:
    entry = taken.get((side, price))
    taken[(side, price)] = (size, quantity if entry is None else entry[1] + quantity)


def _priority_key_buy(order: WorkingOrder) -> tuple[int, Decimal]:
    price = order.terms.price
    return (0, ZERO) if _is_market(order) or price is None else (1, -price)


def _priority_key_sell(order: WorkingOrder) -> tuple[int, Decimal]:
    price = order.terms.price
    return (0, ZERO) if _is_market(order) or price is None else (1, price)

