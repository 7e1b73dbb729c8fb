"""Measure volatility incrementally: Bollinger Bands and the average true range."""

from __future__ import annotations

import math
from collections import deque

from engine.indicators.base import (
    RESUM_FACTOR,
    BarLike,
    Indicator,
    SingleInputIndicator,
    check_finite_non_negative,
    check_period,
)

__all__ = ("AverageTrueRange", "BollingerBands")


class BollingerBands(SingleInputIndicator):
    """Frame the moving average with bands ``k`` standard deviations above and below.

    ``middle`` (also ``value``) is the simple mean of the last ``period`` values and
    ``standard_deviation`` their *population* standard deviation (divide by ``period``,
    not ``period - 1``: the window is the whole population being described, as in
    Bollinger's definition). ``upper``/``lower`` are ``middle +/- k * standard_deviation``.
    All outputs are ``0.0`` until ``period`` values arrived.

    The mean and the sum of squared deviations are slid with a Welford-style update
    instead of keeping ``sum(x**2)``, which would cancel catastrophically for prices far
    from zero; both are also recomputed exactly (two-pass, ``math.fsum``) every
    ``period * 64`` updates so rounding error cannot accumulate. The deviation's error is
    thus absolute, tied to the price level rather than to the deviation (below 1e-8 for
    prices near 100 in the tests): a window of nearly equal prices gets a tiny deviation
    with few exact digits, while the bands stay accurate to that absolute error.
    """

    __slots__ = (
        "_mean",
        "_squared_deviations",
        "_until_resum",
        "_window",
        "k",
        "lower",
        "middle",
        "period",
        "standard_deviation",
        "upper",
    )

    period: int
    k: float
    middle: float
    upper: float
    lower: float
    standard_deviation: float
    _window: deque[float]
    _mean: float
    _squared_deviations: float
    _until_resum: int

    def __init__(self, period: int = 20, k: float = 2.0) -> None:
        """Create bands; raise ``ValueError`` for period <= 0 or a negative/non-finite k."""
        self.period = check_period(period)
        self.k = check_finite_non_negative(k, "k")
        self._window = deque(maxlen=period)
        self.reset()

    def reset(self) -> None:
        """Forget all values so the bands restart their warm-up."""
        super().reset()
        self.middle = 0.0
        self.upper = 0.0
        self.lower = 0.0
        self.standard_deviation = 0.0
        self._window.clear()
        self._mean = 0.0
        self._squared_deviations = 0.0
        self._until_resum = self.period * RESUM_FACTOR

    def update(self, value: float) -> None:
        """Slide the window by one value in O(1) amortized."""
        window = self._window
        period = self.period
        mean = self._mean
        size = len(window)
        if size == period:
            oldest = window[0]
            new_mean = mean + (value - oldest) / period
            squared = self._squared_deviations + (value - oldest) * (
                value - new_mean + oldest - mean
            )
        else:
            size += 1
            delta = value - mean
            new_mean = mean + delta / size
            squared = self._squared_deviations + delta * (value - new_mean)
        window.append(value)
        self.count += 1
        until_resum = self._until_resum - 1
        if until_resum == 0:
            new_mean = math.fsum(window) / size
            squared = math.fsum([(item - new_mean) ** 2 for item in window])
            until_resum = period * RESUM_FACTOR
        self._until_resum = until_resum
        self._mean = new_mean
        self._squared_deviations = squared
        if size == period:
            deviation = math.sqrt(squared / period) if squared > 0.0 else 0.0
            width = self.k * deviation
            self.middle = new_mean
            self.value = new_mean
            self.standard_deviation = deviation
            self.upper = new_mean + width
            self.lower = new_mean - width
            self.initialized = True


class AverageTrueRange(Indicator):
    """Average the true range with Wilder smoothing to gauge how far bars travel.

    True range is ``max(high - low, |high - previous close|, |low - previous close|)``,
    and just ``high - low`` on the first bar (there is no previous close). Seeding rule:
    ``value`` is ``0.0`` for the first ``period - 1`` bars; bar ``period`` sets it to the
    simple mean of the first ``period`` true ranges, and each later bar applies Wilder's
    ``atr = (atr * (period - 1) + true_range) / period``. ``true_range`` holds the
    latest bar's true range from the first bar on.
    """

    __slots__ = ("_previous_close", "_seed_sum", "period", "true_range")

    period: int
    true_range: float
    _previous_close: float
    _seed_sum: float

    def __init__(self, period: int = 14) -> None:
        """Create an ATR over ``period`` bars; raise ``ValueError`` if period <= 0."""
        self.period = check_period(period)
        self.reset()

    def reset(self) -> None:
        """Forget all bars so the ATR is seeded afresh."""
        super().reset()
        self.true_range = 0.0
        self._previous_close = 0.0
        self._seed_sum = 0.0

    def update(self, high: float, low: float, close: float) -> None:
        """Fold one bar's true range into the average in O(1)."""
        true_range = high - low
        count = self.count
        if count:
            previous = self._previous_close
            up = high - previous if high > previous else previous - high
            down = low - previous if low > previous else previous - low
            if up > true_range:
                true_range = up
            if down > true_range:
                true_range = down
        self._previous_close = close
        self.true_range = true_range
        count += 1
        self.count = count
        period = self.period
        if self.initialized:
            self.value = (self.value * (period - 1) + true_range) / period
            return
        seed_sum = self._seed_sum + true_range
        self._seed_sum = seed_sum
        if count == period:
            self.value = seed_sum / period
            self.initialized = True

    def handle_bar(self, bar: BarLike) -> None:
        """Feed the bar's high, low and close."""
        self.update(bar.high, bar.low, bar.close)
