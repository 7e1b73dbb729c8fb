"""Compute simple, exponential and linearly weighted moving averages incrementally."""

from __future__ import annotations

import math
from collections import deque

from engine.indicators.base import RESUM_FACTOR, SingleInputIndicator, check_period

__all__ = ("ExponentialMovingAverage", "SimpleMovingAverage", "WeightedMovingAverage")


class SimpleMovingAverage(SingleInputIndicator):
    """Average the last ``period`` values with equal weights.

    ``value`` is ``0.0`` until ``period`` values arrived, then the window mean. The
    window sum is kept incrementally and re-summed exactly every ``period * 64`` updates
    (see ``RESUM_FACTOR``) so float drift cannot build up over long backtests.
    """

    __slots__ = ("_sum", "_until_resum", "_window", "period")

    period: int
    _window: deque[float]
    _sum: float
    _until_resum: int

    def __init__(self, period: int) -> None:
        """Create an average over ``period`` values; raise ``ValueError`` if period <= 0."""
        self.period = check_period(period)
        self._window = deque(maxlen=period)
        self.reset()

    def reset(self) -> None:
        """Forget all values so the average restarts its warm-up."""
        super().reset()
        self._window.clear()
        self._sum = 0.0
        self._until_resum = self.period * RESUM_FACTOR

    def update(self, value: float) -> None:
        """Slide the window by one value in O(1)."""
        window = self._window
        self.count += 1
        if self.initialized:  # the steady state: one subtraction, one addition
            total = self._sum + value - window[0]
            window.append(value)
            until_resum = self._until_resum - 1
            if not until_resum:
                total = math.fsum(window)
                until_resum = self.period * RESUM_FACTOR
            self._until_resum = until_resum
            self._sum = total
            self.value = total / self.period
            return
        total = self._sum + value
        window.append(value)
        self._until_resum -= 1
        self._sum = total
        if len(window) == self.period:
            self.value = total / self.period
            self.initialized = True


class ExponentialMovingAverage(SingleInputIndicator):
    """Smooth a series with exponentially decaying weights.

    ``alpha`` defaults to ``2 / (period + 1)``; any alpha in (0, 1] may be given instead
    (e.g. ``1 / period`` for Wilder smoothing). Seeding rule: ``value`` is ``0.0`` for
    the first ``period - 1`` updates; the ``period``-th update sets it to the simple mean
    of the first ``period`` values, and from then on
    ``value += alpha * (x - value)``. Seeding with the mean instead of the first value
    keeps the start from over-weighting one arbitrary observation.
    """

    __slots__ = ("_seed_sum", "alpha", "period")

    period: int
    alpha: float
    _seed_sum: float

    def __init__(self, period: int, alpha: float | None = None) -> None:
        """Create an EMA; raise ``ValueError`` for period <= 0 or alpha outside (0, 1]."""
        self.period = check_period(period)
        if alpha is None:
            alpha = 2.0 / (period + 1)
        alpha = float(alpha)
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha {alpha!r}: must be in (0, 1]")
        self.alpha = alpha
        self.reset()

    def reset(self) -> None:
        """Forget all values so the average is seeded afresh."""
        super().reset()
        self._seed_sum = 0.0

    def update(self, value: float) -> None:
        """Apply one step of the recursion (or accumulate the seed) in O(1)."""
        if self.initialized:
            previous = self.value
            self.value = previous + self.alpha * (value - previous)
            self.count += 1
            return
        count = self.count + 1
        self.count = count
        seed_sum = self._seed_sum + value
        self._seed_sum = seed_sum
        if count == self.period:
            self.value = seed_sum / count
            self.initialized = True


class WeightedMovingAverage(SingleInputIndicator):
    """Average the last ``period`` values with linear weights 1..period, newest heaviest.

    Kept in O(1) with a running sum ``S`` and a running weighted sum ``W``: sliding the
    window turns ``W`` into ``W - S + period * x_new`` since every surviving weight drops
    by one. Both sums are re-summed exactly every ``period * 64`` updates to stop float
    drift. ``value`` is ``0.0`` until the window is full.
    """

    __slots__ = ("_denominator", "_sum", "_until_resum", "_weighted_sum", "_window", "period")

    period: int
    _window: deque[float]
    _denominator: float
    _sum: float
    _weighted_sum: float
    _until_resum: int

    def __init__(self, period: int) -> None:
        """Create a weighted average over ``period`` values; raise ``ValueError`` if <= 0."""
        self.period = check_period(period)
        self._window = deque(maxlen=period)
        self._denominator = period * (period + 1) / 2.0
        self.reset()

    def reset(self) -> None:
        """Forget all values so the average restarts its warm-up."""
        super().reset()
        self._window.clear()
        self._sum = 0.0
        self._weighted_sum = 0.0
        self._until_resum = self.period * RESUM_FACTOR

    def update(self, value: float) -> None:
        """Slide the window by one value in O(1)."""
        window = self._window
        period = self.period
        size = len(window)
        total = self._sum
        if size == period:
            weighted = self._weighted_sum - total + period * value
            total += value - window[0]
        else:
            weighted = self._weighted_sum + (size + 1) * value
            total += value
            size += 1
        window.append(value)
        self.count += 1
        until_resum = self._until_resum - 1
        if until_resum == 0:
            total = math.fsum(window)
            weighted = math.fsum([weight * item for weight, item in enumerate(window, 1)])
            until_resum = period * RESUM_FACTOR
        self._until_resum = until_resum
        self._sum = total
        self._weighted_sum = weighted
        if size == period:
            self.value = weighted / self._denominator
            self.initialized = True
