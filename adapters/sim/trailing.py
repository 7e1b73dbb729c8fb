"""Trailing stops in the simulated venue: the shared trailing rules, spoken in its terms.

The rules themselves (where the trigger sits, how it follows prices, the bar path, the
offset units) are `engine.domain.triggers`, shared with the order emulator; this module
applies them to the venue's `OrderTerms` and answers in `Match`es, like
`adapters.sim.matching`, whose rules it completes (read them in `adapters.sim.venue`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Final

import msgspec

from adapters.sim.terms import Match, OrderTerms
from engine.domain.enums import OrderSide, OrderType
from engine.domain.triggers import (
    bar_path,
    offset_distance,
    trailed_trigger,
    trailing_limit,
    walk_trail,
)

__all__ = ("bar_path", "initial_trailing_terms", "match_trailing", "offset_distance")

_BUY: Final = OrderSide.BUY
_TRAILING_LIMIT: Final = OrderType.TRAILING_STOP_LIMIT


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

    The Match carries the trigger (and a trailing-stop-limit's limit) after the item;
    None when nothing triggered and the trigger did not move.
    """
    offset = terms.trailing_offset
    if offset is None:  # the venue rejects trailing stops without one
        raise ValueError("order trailing_offset None: required for a trailing stop")
    trail = walk_trail(terms.side, offset, terms.trailing_offset_type, terms.trigger_price,
                       path, increment)
    trigger = trail.trigger
    if trail.triggered_at is not None and trigger is not None:
        return _triggered(terms, trigger, trail.triggered_at, trail.at_open, increment)
    if not trail.moved or trigger is None:
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
    return trailed_trigger(terms.side, offset, terms.trailing_offset_type, price, increment)


def _limit(terms: OrderTerms, trigger: Decimal, increment: Decimal) -> Decimal:
    offset = terms.limit_offset
    if offset is None:  # the venue rejects trailing-stop-limits without one
        raise ValueError("order limit_offset None: required for a trailing-stop-limit")
    return trailing_limit(terms.side, offset, terms.trailing_offset_type, trigger, increment)


def _with_trigger(terms: OrderTerms, trigger: Decimal, increment: Decimal) -> OrderTerms:
    limit = _limit(terms, trigger, increment) if terms.order_type is _TRAILING_LIMIT else None
    return msgspec.structs.replace(terms, price=limit, trigger_price=trigger)
