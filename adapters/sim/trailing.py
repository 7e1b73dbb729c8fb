"""Trailing stops in the simulated venue: where the trigger sits and how it follows prices.

Pure functions over Decimals on the price increment, like `adapters.sim.matching`, whose
rules they complete (read them in `adapters.sim.venue`). A trailing stop's trigger sits
a distance behind the best price seen since it was placed: below for a sell (which
protects a long), above for a buy. It moves only in the order's favour (a sell's trigger
only up), so the order triggers once the market comes back the whole distance.

Distances: a PRICE offset is the distance itself, a TICKS offset that many price
increments, a BASIS_POINTS offset that fraction of the price it is measured from (the
market price for the trigger, the trigger for a trailing-stop-limit's limit), rounded
up to the increment: a rounded distance is never shorter than asked, so rounding never
triggers an order earlier.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, Decimal
from typing import Final

import msgspec

from adapters.sim.terms import Match, OrderTerms
from engine.domain.enums import OrderSide, OrderType, TrailingOffsetType

__all__ = ("bar_path", "initial_trailing_terms", "match_trailing", "offset_distance")

_BUY: Final = OrderSide.BUY
_TICKS: Final = TrailingOffsetType.TICKS
_BASIS_POINTS: Final = TrailingOffsetType.BASIS_POINTS
_TRAILING_LIMIT: Final = OrderType.TRAILING_STOP_LIMIT
_TEN_THOUSAND: Final = Decimal(10_000)


def bar_path(
    open_price: Decimal, high: Decimal, low: Decimal, close: Decimal
) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """Return the order in which a bar is taken to have traded its prices.

    Open, low, high, close when it closed at or above its open; else open, high, low,
    close. Between two points the price is taken to move through every price, so a
    trigger crossed inside the bar is reached exactly.
    """
    if close >= open_price:
        return (open_price, low, high, close)
    return (open_price, high, low, close)


def offset_distance(
    offset: Decimal, offset_type: TrailingOffsetType, reference: Decimal, increment: Decimal
) -> Decimal:
    """Return `offset` as a price distance, measured from `reference` for basis points."""
    if offset_type is _TICKS:
        return offset * increment
    if offset_type is _BASIS_POINTS:
        steps = (reference * offset / _TEN_THOUSAND / increment).to_integral_value(
            rounding=ROUND_CEILING
        )
        return steps * increment
    return offset


def initial_trailing_terms(terms: OrderTerms, price: Decimal, increment: Decimal) -> OrderTerms:
    """Return `terms` with a trigger (when it has none) set from `price`, and its limit.

    The trigger a trailing stop would have after the market traded at `price`; a
    trailing-stop-limit's limit then lies its limit offset beyond the trigger.
    """
    trigger = terms.trigger_price
    if trigger is None:
        trigger = _trailed(terms, price, increment)
    return _with_trigger(terms, trigger, increment)


def match_trailing(terms: OrderTerms, path: Sequence[Decimal], increment: Decimal) -> Match | None:
    """Return what prices traded in `path`'s order do to an untriggered trailing stop.

    At each price the trigger is checked first (the first price of the path is an
    open: a trigger already passed there is a gap, filled at that price), then moved
    after the price. The Match carries the trigger (and a trailing-stop-limit's limit)
    after the item; None when nothing triggered and the trigger did not move.
    """
    buy = terms.side is _BUY
    trigger = terms.trigger_price
    moved = False
    for index, price in enumerate(path):
        if trigger is not None and ((price >= trigger) if buy else (price <= trigger)):
            at_open = index == 0
            return _triggered(terms, trigger, price if at_open else trigger, at_open, increment)
        candidate = _trailed(terms, price, increment)
        if trigger is None or ((candidate < trigger) if buy else (candidate > trigger)):
            trigger, moved = candidate, True
    if not moved or trigger is None:
        return None
    moved_terms = _with_trigger(terms, trigger, increment)
    return Match(trigger_price=trigger, limit_price=moved_terms.price)


def _triggered(
    terms: OrderTerms, trigger: Decimal, triggered_at: Decimal, at_open: bool, increment: Decimal
) -> Match:
    if terms.order_type is not _TRAILING_LIMIT:
        return Match(price=triggered_at, at_open=at_open, triggered=True, trigger_price=trigger)
    limit = _limit(terms, trigger, increment)
    marketable = (triggered_at <= limit) if terms.side is _BUY else (triggered_at >= limit)
    return Match(
        price=triggered_at if marketable and not terms.post_only else None,
        at_open=at_open,
        triggered=True,
        trigger_price=trigger,
        limit_price=limit,
    )


def _trailed(terms: OrderTerms, price: Decimal, increment: Decimal) -> Decimal:
    offset = terms.trailing_offset
    if offset is None:  # the venue rejects trailing stops without one
        raise ValueError("order trailing_offset None: required for a trailing stop")
    distance = offset_distance(offset, terms.trailing_offset_type, price, increment)
    return price + distance if terms.side is _BUY else price - distance


def _limit(terms: OrderTerms, trigger: Decimal, increment: Decimal) -> Decimal:
    offset = terms.limit_offset
    if offset is None:  # the venue rejects trailing-stop-limits without one
        raise ValueError("order limit_offset None: required for a trailing-stop-limit")
    distance = offset_distance(offset, terms.trailing_offset_type, trigger, increment)
    return trigger + distance if terms.side is _BUY else trigger - distance


def _with_trigger(terms: OrderTerms, trigger: Decimal, increment: Decimal) -> OrderTerms:
    limit = _limit(terms, trigger, increment) if terms.order_type is _TRAILING_LIMIT else None
    return msgspec.structs.replace(terms, price=limit, trigger_price=trigger)
