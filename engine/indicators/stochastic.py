"""Compute the stochastic oscillator with O(1) amortized rolling highs and lows."""

from __future__ import annotations

from collections import deque

from engine.indicators.base import BarLike, Indicator, check_period
from engine.indicators.moving_averages import SimpleMovingAverage

__all__ = ("Stochastic",)


class Stochastic(Indicator):
    """Locate the close within the recent high-low range on a 0..100 scale.

    ``k = 100 * (close - lowest low) / (highest high - lowest low)`` over the last
    ``k_period`` bars (the current bar included); ``d`` is the simple mean of the last
    ``d_period`` values of ``k``; ``value`` mirrors ``k``. When the range is zero (every
    high and low in the window equal) the position is undefined and ``k`` is the
    neutral 50. ``k``/``value`` are ``0.0`` until ``k_period`` bars arrived; ``d`` is
    ``0.0`` until ``k_period + d_period - 1`` bars, when ``initialized`` turns ``True``.

    The rolling max/min use monotonic deques (values with their bar index, in parallel
    deques to avoid a tuple per bar): each bar is pushed and popped at most once, so an
    update is O(1) amortized whatever ``k_period`` is.
    """

    __slots__ = (
        "_average",
        "_high_indexes",
        "_high_values",
        "_low_indexes",
        "_low_values",
        "d",
        "d_period",
        "k",
        "k_period",
    )

    k_period: int
    d_period: int
    k: float
    d: float
    _average: SimpleMovingAverage
    _high_values: deque[float]
    _high_indexes: deque[int]
    _low_values: deque[float]
    _low_indexes: deque[int]

    def __init__(self, k_period: int = 14, d_period: int = 3) -> None:
        """Create the oscillator; raise ``ValueError`` for non-positive periods."""
        self.k_period = check_period(k_period, "k_period")
        self.d_period = check_period(d_period, "d_period")
        self._average = SimpleMovingAverage(d_period)
        self._high_values = deque()
        self._high_indexes = deque()
        self._low_values = deque()
        self._low_indexes = deque()
        self.reset()

    def reset(self) -> None:
        """Forget all bars so the oscillator restarts its warm-up."""
        super().reset()
        self.k = 0.0
        self.d = 0.0
        self._average.reset()
        self._high_values.clear()
        self._high_indexes.clear()
        self._low_values.clear()
        self._low_indexes.clear()

    def update(self, high: float, low: float, close: float) -> None:
        """Push one bar through the rolling max/min and recompute ``k`` and ``d``."""
        index = self.count
        self.count = index + 1
        expired = index - self.k_period

        values = self._high_values
        indexes = self._high_indexes
        while values and values[-1] <= high:
            values.pop()
            indexes.pop()
        values.append(high)
        indexes.append(index)
        if indexes[0] == expired:
            values.popleft()
            indexes.popleft()
        highest = values[0]

        values = self._low_values
        indexes = self._low_indexes
        while values and values[-1] >= low:
            values.pop()
            indexes.pop()
        values.append(low)
        indexes.append(index)
        if indexes[0] == expired:
            values.popleft()
            indexes.popleft()
        lowest = values[0]

        if expired < -1:
            return
        span = highest - lowest
        k = 100.0 * (close - lowest) / span if span > 0.0 else 50.0
        self.k = k
        self.value = k
        average = self._average
        average.update(k)
        if average.initialized:
            self.d = average.value
            self.initialized = True

    def handle_bar(self, bar: BarLike) -> None:
        """Feed the bar's high, low and close."""
        self.update(bar.high, bar.low, bar.close)
