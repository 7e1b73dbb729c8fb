"""Exact money: Decimal values and rounding to an instrument's increments.

Balances, fees, order prices and quantities are `Decimal`; market data prices are floats
(observations, fed to indicators) and become Decimal only through `to_decimal`, which
goes through the shortest repr so a printed 30000.12 stays exactly 30000.12.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from functools import lru_cache

__all__ = (
    "ZERO",
    "is_on_increment",
    "price_from_float",
    "round_down_to_increment",
    "round_to_increment",
    "to_decimal",
)

ZERO = Decimal(0)


def to_decimal(value: Decimal | float | int | str) -> Decimal:
    """Return `value` as a Decimal, floats through their shortest repr (never binary noise)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


@lru_cache(maxsize=256)
def _is_power_of_ten(increment: Decimal) -> bool:
    # 0.01, 1, 1E+1 ...: rounding to these is one quantize, several times cheaper than
    # the general divide-round-multiply (fills and orders round on every step).
    sign, digits, _ = increment.as_tuple()
    return sign == 0 and digits == (1,)


@lru_cache(maxsize=256)
def _decimal_places(increment: Decimal) -> int | None:
    # The k of a 10**-k increment (0.01 -> 2), for the fast float path; None otherwise.
    sign, digits, exponent = increment.as_tuple()
    if sign or digits != (1,) or not isinstance(exponent, int) or not -12 <= exponent <= 0:
        return None
    return -exponent


def price_from_float(value: float, increment: Decimal) -> Decimal:
    """Return a market-data float as a Decimal on `increment` (ties to even).

    Same result as `round_to_increment(to_decimal(value), increment)`, faster for the
    common case (a price already on a 10**-k increment, as feeds print them): the float
    times 10**k is then an integer up to float noise, and that integer is the answer.
    Anything else takes the exact path.
    """
    places = _decimal_places(increment)
    if places is not None and -1e12 < value < 1e12:
        scaled = value * _POWERS[places]
        steps = round(scaled)
        if abs(scaled - steps) < 1e-6:
            return Decimal(steps).scaleb(-places)
    return round_to_increment(to_decimal(value), increment)


_POWERS: tuple[float, ...] = tuple(10.0**k for k in range(13))


def round_to_increment(value: Decimal, increment: Decimal) -> Decimal:
    """Round to the nearest multiple of `increment` (ties to even), keeping its exponent."""
    if increment <= 0:
        raise ValueError(f"increment {increment}: must be > 0")
    if _is_power_of_ten(increment):
        return value.quantize(increment, rounding=ROUND_HALF_EVEN)
    steps = (value / increment).to_integral_value(rounding=ROUND_HALF_EVEN)
    return (steps * increment).quantize(increment)


def round_down_to_increment(value: Decimal, increment: Decimal) -> Decimal:
    """Round toward zero to a multiple of `increment`: sizes never grow by rounding."""
    if increment <= 0:
        raise ValueError(f"increment {increment}: must be > 0")
    if _is_power_of_ten(increment):
        return value.quantize(increment, rounding=ROUND_DOWN)
    steps = (value / increment).to_integral_value(rounding=ROUND_DOWN)
    return (steps * increment).quantize(increment)


def is_on_increment(value: Decimal, increment: Decimal) -> bool:
    """True when `value` is an exact multiple of `increment`."""
    return increment > 0 and value % increment == 0
