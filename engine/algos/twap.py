"""TWAP: a parent order in equal slices over time.

The schedule is cumulative: after slice i (0-based) of n, quantity x (i + 1) / n is due,
rounded down to the size increment, and the last slice is whatever completes the
parent. Each slice sends what is due less what the children already hold (filled, or
still working), so a child that was refused or canceled unfilled is made up by the next
slice, and the slices sum to the parent's quantity exactly.
"""

from __future__ import annotations

from decimal import Decimal

from engine.domain.money import round_down_to_increment
from engine.events.algos import TwapParameters

__all__ = ("twap_slice_count", "twap_target")


def twap_slice_count(parameters: TwapParameters) -> int:
    """How many slices: one now and one per interval, ceil(horizon / interval) in all."""
    return -(-parameters.horizon_ns // parameters.interval_ns)


def twap_target(quantity: Decimal, slices: int, index: int, increment: Decimal) -> Decimal:
    """What is due in all once slice `index` of `slices` has gone (the last: `quantity`)."""
    if index >= slices - 1:
        return quantity
    return round_down_to_increment(quantity * (index + 1) / slices, increment)
