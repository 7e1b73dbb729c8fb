"""Measure momentum incrementally: RSI, MACD and rate of change."""

from __future__ import annotations

from collections import deque

from engine.indicators.base import SingleInputIndicator, check_period
from engine.indicators.moving_averages import ExponentialMovingAverage

__all__ = ("MovingAverageConvergenceDivergence", "RateOfChange", "RelativeStrengthIndex")


class RelativeStrengthIndex(SingleInputIndicator):
    """Rate recent gains against recent losses on a 0..100 scale (Wilder's RSI).

    Wilder smoothing: with changes ``d = x[t] - x[t-1]``, gains ``max(d, 0)`` and losses
    ``max(-d, 0)``, the first average gain/loss is the simple mean over the first
    ``period`` changes (so ``period + 1`` values are needed), then each new change moves
    them by ``avg = (avg * (period - 1) + new) / period`` (an EMA with alpha 1/period).
    ``value = 100 * avg_gain / (avg_gain + avg_loss)``, which equals the textbook
    ``100 - 100 / (1 + avg_gain / avg_loss)`` but is defined when there are no losses:
    only gains give 100, only losses give 0, and a flat series (no gains, no losses)
    gives the neutral 50. ``value`` is ``0.0`` before ``initialized``.
    """

    __slots__ = ("_average_gain", "_average_loss", "_previous", "period")

    period: int
    _previous: float
    _average_gain: float
    _average_loss: float

    def __init__(self, period: int = 14) -> None:
        """Create an RSI over ``period`` changes; raise ``ValueError`` if period <= 0."""
        self.period = check_period(period)
        self.reset()

    def reset(self) -> None:
        """Forget all values so the RSI restarts its warm-up."""
        super().reset()
        self._previous = 0.0
        self._average_gain = 0.0
        self._average_loss = 0.0

    def update(self, value: float) -> None:
        """Fold in the change from the previous value in O(1)."""
        changes = self.count
        self.count = changes + 1
        change = value - self._previous
        self._previous = value
        if changes == 0:
            return
        gain = change if change > 0.0 else 0.0
        loss = -change if change < 0.0 else 0.0
        period = self.period
        if self.initialized:
            keep = period - 1
            average_gain = (self._average_gain * keep + gain) / period
            average_loss = (self._average_loss * keep + loss) / period
        else:
            # During warm-up the averages hold plain sums of the first changes.
            average_gain = self._average_gain + gain
            average_loss = self._average_loss + loss
            if changes < period:
                self._average_gain = average_gain
                self._average_loss = average_loss
                return
            average_gain /= period
            average_loss /= period
            self.initialized = True
        self._average_gain = average_gain
        self._average_loss = average_loss
        total = average_gain + average_loss
        self.value = 100.0 * average_gain / total if total > 0.0 else 50.0


class MovingAverageConvergenceDivergence(SingleInputIndicator):
    """Track the gap between a fast and a slow EMA, and that gap's own EMA.

    ``value`` (the MACD line) is ``fast EMA - slow EMA``; it is ``0.0`` until the slow
    EMA is seeded (``slow`` updates). ``signal`` is an EMA of the MACD line seeded with
    the mean of its first ``signal`` values, so it and ``histogram``
    (``value - signal``) stay ``0.0`` until ``slow + signal - 1`` updates, when
    ``initialized`` turns ``True``. All EMAs use ``alpha = 2 / (period + 1)`` and the
    seeding rule of ``ExponentialMovingAverage``.
    """

    __slots__ = (
        "_fast_average",
        "_signal_average",
        "_slow_average",
        "fast_period",
        "histogram",
        "signal",
        "signal_period",
        "slow_period",
    )

    fast_period: int
    slow_period: int
    signal_period: int
    signal: float
    histogram: float
    _fast_average: ExponentialMovingAverage
    _slow_average: ExponentialMovingAverage
    _signal_average: ExponentialMovingAverage

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        """Create a MACD; raise ``ValueError`` for non-positive periods or fast >= slow."""
        self.fast_period = check_period(fast, "fast")
        self.slow_period = check_period(slow, "slow")
        self.signal_period = check_period(signal, "signal")
        if fast >= slow:
            raise ValueError(f"fast {fast}: must be < slow {slow}")
        self._fast_average = ExponentialMovingAverage(fast)
        self._slow_average = ExponentialMovingAverage(slow)
        self._signal_average = ExponentialMovingAverage(signal)
        self.reset()

    def reset(self) -> None:
        """Forget all values, including the three inner EMAs."""
        super().reset()
        self.signal = 0.0
        self.histogram = 0.0
        self._fast_average.reset()
        self._slow_average.reset()
        self._signal_average.reset()

    def update(self, value: float) -> None:
        """Advance the fast, slow and (once the line exists) signal EMAs in O(1)."""
        self.count += 1
        fast = self._fast_average
        slow = self._slow_average
        fast.update(value)
        slow.update(value)
        if not slow.initialized:
            return
        line = fast.value - slow.value
        self.value = line
        signal = self._signal_average
        signal.update(line)
        if signal.initialized:
            self.signal = signal.value
            self.histogram = line - signal.value
            self.initialized = True


class RateOfChange(SingleInputIndicator):
    """Express the move over ``period`` steps in percent: ``100 * (x - x[-n]) / x[-n]``.

    ``value`` is ``0.0`` until ``period + 1`` values arrived, and ``0.0`` whenever the
    reference value ``x[-n]`` is exactly zero (the ratio is undefined there).
    """

    __slots__ = ("_window", "period")

    period: int
    _window: deque[float]

    def __init__(self, period: int) -> None:
        """Create a rate of change over ``period`` steps; raise ``ValueError`` if <= 0."""
        self.period = check_period(period)
        self._window = deque(maxlen=period)
        self.reset()

    def reset(self) -> None:
        """Forget all values so the lookback refills."""
        super().reset()
        self._window.clear()

    def update(self, value: float) -> None:
        """Compare the value with the one ``period`` steps back in O(1)."""
        window = self._window
        self.count += 1
        if len(window) == self.period:
            reference = window[0]
            self.value = 100.0 * (value - reference) / reference if reference != 0.0 else 0.0
            self.initialized = True
        window.append(value)
