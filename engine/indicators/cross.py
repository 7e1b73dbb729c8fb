"""Detect when one series crosses another, robust to touches and float noise."""

from __future__ import annotations

from engine.indicators.base import check_finite_non_negative
from engine.indicators.state import IndicatorState, export_state, import_state

__all__ = ("CrossOver",)


class CrossOver:
    """Report on each update whether ``fast`` just crossed above or below ``slow``.

    Rule: the sign of ``fast - slow`` is +1 when the difference is ``> tolerance``, -1
    when it is ``< -tolerance``, and "no sign" when ``|fast - slow| <= tolerance``.
    ``crossed_above`` is ``True`` on an update whose sign is +1 while the last non-zero
    sign before it was -1; ``crossed_below`` is the mirror. Updates within the tolerance
    keep the last sign, so touching and bouncing back is no cross, while crossing through
    a touch (-, 0, +) counts once, on the update that leaves the band. The very first
    non-zero sign is not a cross: there is nothing to have crossed from.
    """

    __slots__ = ("count", "crossed_above", "crossed_below", "sign", "tolerance")

    tolerance: float
    count: int
    sign: int
    crossed_above: bool
    crossed_below: bool

    def __init__(self, tolerance: float = 1e-9) -> None:
        """Create a detector; raise ``ValueError`` for a negative or non-finite tolerance."""
        self.tolerance = check_finite_non_negative(tolerance, "tolerance")
        self.reset()

    @property
    def initialized(self) -> bool:
        """Say whether a side is known, i.e. whether the next update can be a cross."""
        return self.sign != 0

    def reset(self) -> None:
        """Forget the last side so the next non-zero sign is again not a cross."""
        self.count = 0
        self.sign = 0
        self.crossed_above = False
        self.crossed_below = False

    def update(self, fast: float, slow: float) -> None:
        """Compare the latest values of both series in O(1)."""
        self.count += 1
        difference = fast - slow
        tolerance = self.tolerance
        if difference > tolerance:
            self.crossed_above = self.sign < 0
            self.crossed_below = False
            self.sign = 1
        elif difference < -tolerance:
            self.crossed_below = self.sign > 0
            self.crossed_above = False
            self.sign = -1
        else:
            self.crossed_above = False
            self.crossed_below = False

    def export_state(self) -> IndicatorState:
        """The full state as builtins, for a strategy's `on_save` (exact)."""
        return export_state(self)

    def import_state(self, state: IndicatorState) -> None:
        """Continue from `export_state`'s output (made with the same tolerance)."""
        import_state(self, state)
