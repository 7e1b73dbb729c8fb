"""Commission of a simulated fill: the instrument's fee rate times notional, exactly.

The product is computed in a Decimal context with the maximum precision, so it is
never rounded: 0.001 × 30000.12 × 1 is exactly 30.00012. Rounding a commission to a
currency's smallest unit is the venue's policy, and a simulated venue has none.
"""

from __future__ import annotations

from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal
from typing import Final

from engine.domain.enums import LiquiditySide
from engine.events.market import Instrument

__all__ = ("EXACT", "commission", "notional")

EXACT: Final = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)
"""A context that never rounds: fee arithmetic is exact."""


def notional(quantity: Decimal, price: Decimal) -> Decimal:
    """Return quantity × price, exactly."""
    return EXACT.multiply(quantity, price)


def commission(
    instrument: Instrument, quantity: Decimal, price: Decimal, liquidity_side: LiquiditySide
) -> Decimal:
    """Return the fee of a fill in the instrument's quote currency (negative: a rebate)."""
    rate = instrument.maker_fee if liquidity_side is LiquiditySide.MAKER else instrument.taker_fee
    return EXACT.multiply(rate, notional(quantity, price))
