"""Decide what one market data item does to one working order: pure functions, no bus.

These implement the price rules documented in `adapters.sim.venue` (read them there).
They take prices already converted to Decimal and rounded to the instrument's price
increment, so every comparison and every fill price is exact; the venue does the
conversion once per item. Keeping them pure lets the rules be tested as a table, and
keeps the actor about bookkeeping only.

A quote is matched as a bar whose open, high and low are all the price the order can
trade at (the ask for a buy, the bid for a sell): a quote is an instant, like an open.
Trailing stops, until they trigger, follow `adapters.sim.trailing` (a bar's path).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import TypeAlias

import msgspec

from adapters.sim.terms import Match, OrderTerms
from adapters.sim.trailing import bar_path, match_trailing
from engine.domain.enums import TRAILING_TYPES, LiquiditySide, OrderSide, OrderType, TriggerType
from engine.domain.money import ZERO, price_from_float, round_down_to_increment, to_decimal
from engine.domain.triggers import trigger_reached
from engine.events.market import Bar, Instrument, QuoteTick, TradeTick

__all__ = (
    "LIMIT_ONCE_TRIGGERED",
    "MARKET_ONCE_TRIGGERED",
    "TRAILING",
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
_MARKET = OrderType.MARKET
_LIMIT = OrderType.LIMIT
_DEFAULT_TRIGGER = TriggerType.DEFAULT
_LAST = TriggerType.LAST
_BID_ASK = TriggerType.BID_ASK

MARKET_ONCE_TRIGGERED = frozenset({
    OrderType.STOP_MARKET, OrderType.MARKET_IF_TOUCHED, OrderType.TRAILING_STOP_MARKET,
})
"""The types that become a market order when triggered."""
LIMIT_ONCE_TRIGGERED = frozenset({
    OrderType.STOP_LIMIT, OrderType.LIMIT_IF_TOUCHED, OrderType.TRAILING_STOP_LIMIT,
})
"""The types that become a limit order when triggered (the venue reports OrderTriggered)."""
TRAILING = TRAILING_TYPES


def match_bar(order: OrderTerms, open_price: Decimal, high: Decimal, low: Decimal) -> Match | None:
    """Return what a bar with these prices does to `order`, or None if nothing happens.

    Trailing stops need the bar's path: `match_trailing` decides for them until they
    trigger.
    """
    order_type = order.order_type
    if order_type is _MARKET or (order.triggered and order_type in MARKET_ONCE_TRIGGERED):
        return Match(price=open_price, at_open=True)
    if order_type is _LIMIT or order.triggered:
        return _match_limit(order, _required(order.price, "price"), open_price, high, low)
    reached = trigger_reached(order.side, order_type,
                              _required(order.trigger_price, "trigger_price"),
                              open_price, high, low)
    if reached is None:
        return None
    triggered_at, at_open = reached
    if order_type in MARKET_ONCE_TRIGGERED:
        return Match(price=triggered_at, at_open=at_open, triggered=True)
    limit = _required(order.price, "price")
    marketable = (triggered_at <= limit) if order.side is _BUY else (triggered_at >= limit)
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
    if order_type is _LIMIT or (order.triggered and order_type in LIMIT_ONCE_TRIGGERED):
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
    bar: Bar | None = None
    """The bar this item is (None for a tick or quote): its range bounds slippage."""


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
            if _waits_for(terms, _LAST):
                return None
            if not extremes:
                extremes.extend((price_from_float(bar.high, increment),
                                 price_from_float(bar.low, increment)))
            if not terms.triggered and terms.order_type in TRAILING:
                if not math.isfinite(bar.close):
                    return None
                path = bar_path(open_price, extremes[0], extremes[1],
                                price_from_float(bar.close, increment))
                return match_trailing(terms, path, increment)
            return match_bar(terms, open_price, extremes[0], extremes[1])

        capacity = _capacity(message.volume, volume_fraction, size_increment)
        return MarketItem(
            start_ns=message.ts_event - message.bar_type.step_ns,
            end_ns=message.ts_event,
            spans_time=True,
            buy_capacity=capacity,
            sell_capacity=capacity,
            match=match,
            bar=message,
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
            match=lambda terms: _match_trade_item(terms, trade_price, increment),
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
        match=lambda terms: _match_quote_item(terms, bid, ask, increment),
    )


def _match_trade_item(terms: OrderTerms, price: Decimal, increment: Decimal) -> Match | None:
    if _waits_for(terms, _LAST):
        return None
    if not terms.triggered and terms.order_type in TRAILING:
        return match_trailing(terms, (price,), increment)
    return match_trade(terms, price)


def _match_quote_item(
    terms: OrderTerms, bid: Decimal, ask: Decimal, increment: Decimal
) -> Match | None:
    if _waits_for(terms, _BID_ASK):
        return None
    if not terms.triggered and terms.order_type in TRAILING:
        return match_trailing(terms, (ask if terms.side is _BUY else bid,), increment)
    return match_quote(terms, bid, ask)


def _waits_for(terms: OrderTerms, trigger_type: TriggerType) -> bool:
    """True for an untriggered order whose trigger watches prices of another kind."""
    watched = terms.trigger_type
    return watched is not _DEFAULT_TRIGGER and watched is not trigger_type and not terms.triggered


def _open_only(order: OrderTerms) -> bool:
    """True for the orders `match_bar` fills at the open without looking at high or low."""
    order_type = order.order_type
    return order_type is _MARKET or (order.triggered and order_type in MARKET_ONCE_TRIGGERED)


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
