"""When the market reaches an order's trigger, and where a trailing stop's trigger sits.

The rules the simulated venue matches by (`adapters.sim.matching`, `adapters.sim.trailing`)
and the order emulator releases by (`engine.actors.emulator`): one implementation, so an
order held in the engine triggers at the price a venue would have triggered it at. Pure
functions over Decimals already on the price increment.

Direction: a stop triggers as the market moves against the position it protects (a buy
stop as the price rises to its trigger), an if-touched order as it moves in favour (a
buy market-if-touched as the price falls to its trigger); sells mirror both.

Trailing stops: the trigger sits a distance behind the best price seen since the order
was placed (below for a sell, above for a buy) and moves only in the order's favour, so
the order triggers once the market comes back the whole distance. A PRICE offset is the
distance itself, a TICKS offset that many price increments, a BASIS_POINTS offset that
fraction of the price it is measured from (the market price for the trigger, the trigger
for a trailing-stop-limit's limit), rounded up to the increment: a rounded distance is
never shorter than asked, so rounding never triggers an order earlier.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, Decimal
from typing import Final, NamedTuple

from engine.domain.enums import OrderSide, OrderType, TrailingOffsetType

__all__ = (
    "DAY_NS",
    "Trail",
    "bar_path",
    "day_end_ns",
    "offset_distance",
    "retrailed_trigger",
    "rises_to_trigger",
    "trailed_trigger",
    "trailing_limit",
    "trigger_reached",
    "walk_trail",
)

_BUY: Final = OrderSide.BUY
_TICKS: Final = TrailingOffsetType.TICKS
_BASIS_POINTS: Final = TrailingOffsetType.BASIS_POINTS
_IF_TOUCHED: Final = frozenset({OrderType.MARKET_IF_TOUCHED, OrderType.LIMIT_IF_TOUCHED})
_TEN_THOUSAND: Final = Decimal(10_000)

DAY_NS: Final = 86_400 * 1_000_000_000
"""A day of engine time, in nanoseconds: a DAY order expires on a multiple of it (UTC midnight)."""


def day_end_ns(ts_ns: int) -> int:
    """Return the end of the UTC day `ts_ns` falls in: the next midnight, strictly after it."""
    return (ts_ns // DAY_NS + 1) * DAY_NS


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


def rises_to_trigger(side: OrderSide, order_type: OrderType) -> bool:
    """True when the order triggers as the price rises to its trigger (a buy stop, a sell
    if-touched order), False when as it falls (see the module docstring)."""
    return (side is _BUY) is (order_type not in _IF_TOUCHED)


def trigger_reached(
    side: OrderSide, order_type: OrderType, trigger: Decimal,
    open_price: Decimal, high: Decimal, low: Decimal,
) -> tuple[Decimal, bool] | None:
    """Return (the price it triggered at, whether at the open) when prices from
    `open_price` through `high` and `low` reach the trigger of a stop or if-touched
    order; None when they do not.

    A trigger already passed at the open is a gap: the order triggers at the open, never
    at its trigger price. One reached later triggers at the trigger price. A tick or a
    quote is an item whose open, high and low are its one price.
    """
    if rises_to_trigger(side, order_type):
        if open_price >= trigger:
            return open_price, True
        return (trigger, False) if high >= trigger else None
    if open_price <= trigger:
        return open_price, True
    return (trigger, False) if low <= trigger else None


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


def trailed_trigger(
    side: OrderSide, offset: Decimal, offset_type: TrailingOffsetType, price: Decimal,
    increment: Decimal,
) -> Decimal:
    """The trigger a trailing stop would have right after the market traded at `price`."""
    return _beyond(side, price, offset, offset_type, increment)


def retrailed_trigger(
    side: OrderSide, offset: Decimal, offset_type: TrailingOffsetType, last: Decimal | None,
    trigger: Decimal | None, increment: Decimal,
) -> Decimal | None:
    """Where a trailing stop's trigger sits once its distances changed: trailed again from
    the last price at the new distance, as if placed now; without a known price, where it
    was (None: the first price seen sets it)."""
    if last is not None:
        return trailed_trigger(side, offset, offset_type, last, increment)
    return trigger


def trailing_limit(
    side: OrderSide, limit_offset: Decimal, offset_type: TrailingOffsetType, trigger: Decimal,
    increment: Decimal,
) -> Decimal:
    """A trailing-stop-limit's limit: `limit_offset` beyond its trigger (basis points of it)."""
    return _beyond(side, trigger, limit_offset, offset_type, increment)


def _beyond(side: OrderSide, reference: Decimal, offset: Decimal,
            offset_type: TrailingOffsetType, increment: Decimal) -> Decimal:
    """`reference` moved the offset's distance against the order: up for a buy."""
    distance = offset_distance(offset, offset_type, reference, increment)
    return reference + distance if side is _BUY else reference - distance


class Trail(NamedTuple):
    """What prices traded in a path did to an untriggered trailing stop."""

    trigger: Decimal | None
    """The trigger after the path: where it triggered, or where it moved to (None while
    the order has seen no price and was given no first trigger)."""
    triggered_at: Decimal | None
    """The price it triggered at: the trigger, or in a gap the price that passed it;
    None when it did not trigger."""
    at_open: bool
    """It triggered at the path's first price (a gap)."""
    moved: bool
    """The trigger moved before the order triggered (or without it triggering)."""


def walk_trail(
    side: OrderSide, offset: Decimal, offset_type: TrailingOffsetType, trigger: Decimal | None,
    path: Sequence[Decimal], increment: Decimal,
) -> Trail:
    """Walk a trailing stop with trigger `trigger` through `path`, prices in traded order.

    At each price the trigger is checked first (the first price of the path is an open:
    a trigger already passed there is a gap, triggered at that price), then moved after
    the price, in the order's favour only.
    """
    buy = side is _BUY
    moved = False
    for index, price in enumerate(path):
        if trigger is not None and ((price >= trigger) if buy else (price <= trigger)):
            at_open = index == 0
            return Trail(trigger, price if at_open else trigger, at_open, moved)
        candidate = trailed_trigger(side, offset, offset_type, price, increment)
        if trigger is None or ((candidate < trigger) if buy else (candidate > trigger)):
            trigger, moved = candidate, True
    return Trail(trigger, None, False, moved)
