"""Decide what one market data item does to one working order: pure functions, no bus.

These implement the price rules documented in `adapters.sim.venue` (read them there).
They take prices already converted to Decimal and rounded to the instrument's price
increment, so every comparison and every fill price is exact; the venue does the
conversion once per item. Keeping them pure lets the rules be tested as a table, and
keeps the actor about bookkeeping only.

A quote is matched as a bar whose open, high and low are all the price the order can
trade at (the ask for a buy, the bid for a sell): a quote is an instant, like an open.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import TypeAlias

import msgspec

from engine.domain.enums import LiquiditySide, OrderSide, OrderType
from engine.domain.money import ZERO, price_from_float, round_down_to_increment, to_decimal
from engine.events.market import Bar, Instrument, QuoteTick, TradeTick

__all__ = (
    "MarketData",
    "MarketItem",
    "Match",
    "OrderTerms",
    "fill_quantity",
    "market_item",
    "match_bar",
    "match_quote",
    "match_trade",
    "volume_capacity",
)

MarketData: TypeAlias = Bar | TradeTick | QuoteTick

_BUY = OrderSide.BUY
_MAKER = LiquiditySide.MAKER
_TAKER = LiquiditySide.TAKER


class OrderTerms(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What matching needs to know about a working order (prices on the increment).

    `triggered` is True once a stop's trigger was hit: a triggered stop-market then
    matches as a market order and a triggered stop-limit as a limit order.
    """

    side: OrderSide
    order_type: OrderType
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    triggered: bool = False
    post_only: bool = False


class Match(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What one item does to one order: trigger it, fill it at `price`, or both.

    `price` None means no fill on this item (a stop-limit that triggered without its
    limit being marketable). `at_open` says the event happened at the item's first
    instant (a bar's open), not somewhere inside it.
    """

    price: Decimal | None = None
    liquidity_side: LiquiditySide = LiquiditySide.TAKER
    at_open: bool = False
    triggered: bool = False


def match_bar(order: OrderTerms, open_price: Decimal, high: Decimal, low: Decimal) -> Match | None:
    """Return what a bar with these prices does to `order`, or None if nothing happens."""
    order_type = order.order_type
    if order_type is OrderType.MARKET or (
        order_type is OrderType.STOP_MARKET and order.triggered
    ):
        return Match(price=open_price, at_open=True)
    if order_type is OrderType.LIMIT or order.triggered:
        return _match_limit(order, _required(order.price, "price"), open_price, high, low)
    trigger = _required(order.trigger_price, "trigger_price")
    buy = order.side is _BUY
    if (open_price >= trigger) if buy else (open_price <= trigger):
        triggered_at, at_open = open_price, True
    elif (high >= trigger) if buy else (low <= trigger):
        triggered_at, at_open = trigger, False
    else:
        return None
    if order_type is OrderType.STOP_MARKET:
        return Match(price=triggered_at, at_open=at_open, triggered=True)
    limit = _required(order.price, "price")
    marketable = (triggered_at <= limit) if buy else (triggered_at >= limit)
    if marketable and not order.post_only:
        return Match(price=triggered_at, at_open=at_open, triggered=True)
    return Match(at_open=at_open, triggered=True)


def _match_limit(
    order: OrderTerms, limit: Decimal, open_price: Decimal, high: Decimal, low: Decimal
) -> Match | None:
    if order.side is _BUY:
        crossed_at_open = open_price <= limit
        touched = low <= limit
    else:
        crossed_at_open = open_price >= limit
        touched = high >= limit
    if crossed_at_open:
        # A post-only order never takes: one the open crossed fills there as maker, as a
        # resting order filled by an opening auction would.
        return Match(
            price=open_price, liquidity_side=_MAKER if order.post_only else _TAKER, at_open=True
        )
    if touched:
        return Match(price=limit, liquidity_side=_MAKER)
    return None


def match_trade(order: OrderTerms, price: Decimal) -> Match | None:
    """Return what a trade printing at `price` does to `order`, or None.

    Market and stop orders trade at the print (taker); a limit order fills at its own
    price as maker when the print is at or through it.
    """
    order_type = order.order_type
    if order_type is OrderType.LIMIT or (order_type is OrderType.STOP_LIMIT and order.triggered):
        limit = _required(order.price, "price")
        touched = (price <= limit) if order.side is _BUY else (price >= limit)
        return Match(price=limit, liquidity_side=_MAKER, at_open=True) if touched else None
    return match_bar(order, price, price, price)


def match_quote(order: OrderTerms, bid: Decimal, ask: Decimal) -> Match | None:
    """Return what a quote does to `order`, or None: buys see the ask, sells the bid."""
    price = ask if order.side is _BUY else bid
    return match_bar(order, price, price, price)


def volume_capacity(volume: Decimal, fraction: Decimal, size_increment: Decimal) -> Decimal:
    """Return the most one fill may take of an item that traded `volume`.

    Rounded down to the size increment, so a cap never rounds a fill up; never negative.
    """
    if volume <= ZERO:
        return ZERO
    return round_down_to_increment(volume * fraction, size_increment)


def fill_quantity(leaves: Decimal, capacity: Decimal | None, *, fill_or_kill: bool) -> Decimal:
    """Return how much of `leaves` fills when at most `capacity` is available (None: no cap).

    A fill-or-kill order fills all of `leaves` or nothing.
    """
    if capacity is None or capacity >= leaves:
        return leaves
    return ZERO if fill_or_kill else max(capacity, ZERO)


class MarketItem(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One market data item ready to match: its times, its capacity per side, its rule.

    `spans_time` is True for a bar (it covers `start_ns` to `end_ns`), False for a tick.
    A capacity of None means no volume cap.
    """

    start_ns: int
    end_ns: int
    spans_time: bool
    buy_capacity: Decimal | None
    sell_capacity: Decimal | None
    match: Callable[[OrderTerms], Match | None]


def market_item(
    message: MarketData, instrument: Instrument, volume_fraction: Decimal | None
) -> MarketItem | None:
    """Convert `message` once for matching; None when a price is not finite (bad data).

    Prices become Decimals on the instrument's price increment; with `volume_fraction`
    each side's capacity is that fraction of the volume it can trade against.
    """
    increment = instrument.price_increment
    size_increment = instrument.size_increment
    if type(message) is Bar:
        if not (math.isfinite(message.high) and math.isfinite(message.low)):
            return None
        open_price = _price(message.open, increment)
        if open_price is None:
            return None
        bar = message
        extremes: list[Decimal] = []

        def match(terms: OrderTerms) -> Match | None:
            # A market order needs only the open: high and low become Decimals on the
            # first order that needs them (most items with orders carry just one market
            # order, and each conversion is a repr, a parse and a quantize).
            if _open_only(terms):
                return match_bar(terms, open_price, open_price, open_price)
            if not extremes:
                extremes.extend((price_from_float(bar.high, increment),
                                 price_from_float(bar.low, increment)))
            return match_bar(terms, open_price, extremes[0], extremes[1])

        capacity = _capacity(message.volume, volume_fraction, size_increment)
        return MarketItem(
            start_ns=message.ts_event - message.bar_type.step_ns,
            end_ns=message.ts_event,
            spans_time=True,
            buy_capacity=capacity,
            sell_capacity=capacity,
            match=match,
        )
    if type(message) is TradeTick:
        trade_price = _price(message.price, increment)
        if trade_price is None:
            return None
        capacity = _capacity(message.size, volume_fraction, size_increment)
        return MarketItem(
            start_ns=message.ts_event,
            end_ns=message.ts_event,
            spans_time=False,
            buy_capacity=capacity,
            sell_capacity=capacity,
            match=lambda terms: match_trade(terms, trade_price),
        )
    if type(message) is not QuoteTick:
        raise TypeError(
            f"market data {type(message).__name__}: expected a Bar, TradeTick or QuoteTick"
        )
    bid = _price(message.bid_price, increment)
    ask = _price(message.ask_price, increment)
    if bid is None or ask is None:
        return None
    return MarketItem(
        start_ns=message.ts_event,
        end_ns=message.ts_event,
        spans_time=False,
        buy_capacity=_capacity(message.ask_size, volume_fraction, size_increment),
        sell_capacity=_capacity(message.bid_size, volume_fraction, size_increment),
        match=lambda terms: match_quote(terms, bid, ask),
    )


def _open_only(order: OrderTerms) -> bool:
    """True for the orders `match_bar` fills at the open without looking at high or low."""
    order_type = order.order_type
    return order_type is OrderType.MARKET or (
        order_type is OrderType.STOP_MARKET and order.triggered
    )


def _price(value: float, increment: Decimal) -> Decimal | None:
    if not math.isfinite(value):
        return None
    return price_from_float(value, increment)


def _capacity(volume: float, fraction: Decimal | None, size_increment: Decimal) -> Decimal | None:
    if fraction is None:
        return None
    if not math.isfinite(volume):
        return ZERO
    return volume_capacity(to_decimal(volume), fraction, size_increment)


def _required(value: Decimal | None, name: str) -> Decimal:
    # The venue rejects orders missing these, so None here is a programming error.
    if value is None:
        raise ValueError(f"order {name} None: required for this order type")
    return value
