"""VWAP by participation: each slice a fixed share of the volume the market just traded.

After every bar of the chosen timeframe, a child of `participation` x the bar's volume
(rounded down to the size increment) is sent, never more than what is left of the
parent; the parent's fills then follow the market's volume profile, which is what
tracking the volume-weighted average price needs. When the horizon ends, what is left
goes as one last child, so the parent completes (a limit price may still leave it
working).
"""

from __future__ import annotations

from decimal import Decimal

from engine.domain.money import round_down_to_increment, to_decimal

__all__ = ("vwap_slice",)


def vwap_slice(volume: float, participation: Decimal, left: Decimal,
               increment: Decimal) -> Decimal:
    """The next child's size: `participation` of `volume`, at most `left`, on the increment."""
    if volume <= 0 or left <= 0:
        return Decimal(0)
    share = round_down_to_increment(to_decimal(volume) * participation, increment)
    return min(share, left)
