"""Compute volume-weighted average prices, anchored (cumulative) or over a rolling window."""

from __future__ import annotations

import math
from collections import deque

from engine.indicators.base import RESUM_FACTOR, BarLike, Indicator, check_period

__all__ = ("RollingVwap", "VolumeWeightedAveragePrice")


def _reject_negative(volume: float) -> None:
    """Raise for negative volume, which would silently turn the average into nonsense."""
    raise ValueError(f"volume {volume!r}: must be >= 0")


class VolumeWeightedAveragePrice(Indicator):
    """Average the typical price ``(high + low + close) / 3`` weighted by volume.

    Cumulative from the anchor: construction or the last ``reset()``, which a caller
    invokes at each session open to anchor a session VWAP. With zero cumulative volume
    the average is undefined, so ``value`` stays ``0.0`` and ``initialized`` ``False``
    until a bar with positive volume arrives (feeds without volume never initialize).
    Negative volume raises ``ValueError``. Cumulative sums only grow, so no re-summing is
    needed.
    """

    __slots__ = ("_price_volume", "_volume")

    _price_volume: float
    _volume: float

    def __init__(self) -> None:
        """Create a VWAP anchored at the first bar it receives."""
        self.reset()

    def reset(self) -> None:
        """Re-anchor: forget all bars, e.g. at the start of a new session."""
        super().reset()
        self._price_volume = 0.0
        self._volume = 0.0

    def update(self, high: float, low: float, close: float, volume: float) -> None:
        """Fold one bar into the cumulative sums in O(1)."""
        if volume < 0.0:
            _reject_negative(volume)
        self.count += 1
        total_volume = self._volume + volume
        price_volume = self._price_volume + (high + low + close) / 3.0 * volume
        self._volume = total_volume
        self._price_volume = price_volume
        if total_volume > 0.0:
            self.value = price_volume / total_volume
            self.initialized = True

    def handle_bar(self, bar: BarLike) -> None:
        """Feed the bar's high, low, close and volume."""
        self.update(bar.high, bar.low, bar.close, bar.volume)


class RollingVwap(Indicator):
    """Volume-weight the typical price over the last ``period`` bars only.

    ``initialized`` is ``True`` while the window is full *and* holds positive volume;
    otherwise the average is undefined and ``value`` reads ``0.0``, so it can turn back
    to ``False`` if a whole window of zero-volume bars passes. The windowed sums are
    re-summed exactly every ``period * 64`` updates to stop float drift, and an exact
    count of positive-volume bars in the window decides emptiness, so drift can never
    leave a tiny residual volume to divide by. Negative volume raises ``ValueError``.
    """

    __slots__ = (
        "_price_volume",
        "_price_volumes",
        "_traded_bars",
        "_until_resum",
        "_volume",
        "_volumes",
        "period",
    )

    period: int
    _price_volumes: deque[float]
    _volumes: deque[float]
    _price_volume: float
    _volume: float
    _traded_bars: int
    _until_resum: int

    def __init__(self, period: int) -> None:
        """Create a rolling VWAP over ``period`` bars; raise ``ValueError`` if <= 0."""
        self.period = check_period(period)
        self._price_volumes = deque(maxlen=period)
        self._volumes = deque(maxlen=period)
        self.reset()

    def reset(self) -> None:
        """Forget all bars so the window refills."""
        super().reset()
        self._price_volumes.clear()
        self._volumes.clear()
        self._price_volume = 0.0
        self._volume = 0.0
        self._traded_bars = 0
        self._until_resum = self.period * RESUM_FACTOR

    def update(self, high: float, low: float, close: float, volume: float) -> None:
        """Slide the window by one bar in O(1) amortized."""
        if volume < 0.0:
            _reject_negative(volume)
        price_volumes = self._price_volumes
        volumes = self._volumes
        period = self.period
        price_volume = (high + low + close) / 3.0 * volume
        traded_bars = self._traded_bars + (volume > 0.0)
        full = len(volumes) == period
        if full:
            oldest_volume = volumes[0]
            traded_bars -= oldest_volume > 0.0
            total_price_volume = self._price_volume + price_volume - price_volumes[0]
            total_volume = self._volume + volume - oldest_volume
        else:
            total_price_volume = self._price_volume + price_volume
            total_volume = self._volume + volume
        price_volumes.append(price_volume)
        volumes.append(volume)
        self.count += 1
        until_resum = self._until_resum - 1
        if until_resum == 0 or (traded_bars and total_volume <= 0.0):
            total_price_volume = math.fsum(price_volumes)
            total_volume = math.fsum(volumes)
            until_resum = period * RESUM_FACTOR
        if traded_bars == 0:
            total_price_volume = 0.0
            total_volume = 0.0
        self._until_resum = until_resum
        self._traded_bars = traded_bars
        self._price_volume = total_price_volume
        self._volume = total_volume
        if traded_bars and (full or len(volumes) == period):
            self.value = total_price_volume / total_volume
            self.initialized = True
        else:
            self.value = 0.0
            self.initialized = False

    def handle_bar(self, bar: BarLike) -> None:
        """Feed the bar's high, low, close and volume."""
        self.update(bar.high, bar.low, bar.close, bar.volume)
