"""Check the cumulative and rolling VWAP against numpy cumulative and window sums."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from engine.indicators import RollingVwap, VolumeWeightedAveragePrice

FloatArray = NDArray[np.float64]
Bars = tuple[FloatArray, FloatArray, FloatArray, FloatArray]


def random_bars(seed: int, count: int = 4000, zero_volume_share: float = 0.1) -> Bars:
    """Build seeded random-walk highs, lows, closes and volumes (some volumes zero)."""
    rng = np.random.default_rng(seed)
    closes = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, count)))
    highs = closes + rng.exponential(0.5, count)
    lows = closes - rng.exponential(0.5, count)
    volumes = rng.exponential(1000.0, count)
    volumes[rng.random(count) < zero_volume_share] = 0.0
    return highs, lows, closes, volumes


def feed(
    indicator: VolumeWeightedAveragePrice | RollingVwap, bars: Bars
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Update with each bar; return the value and initialized flag after each update."""
    highs, lows, closes, volumes = bars
    results = np.empty(len(closes))
    ready = np.empty(len(closes), dtype=bool)
    for index in range(len(closes)):
        indicator.update(
            float(highs[index]), float(lows[index]), float(closes[index]), float(volumes[index])
        )
        results[index] = indicator.value
        ready[index] = indicator.initialized
    return results, ready


def test_vwap_random_bars_match_cumulative_sums() -> None:
    bars = random_bars(1)
    highs, lows, closes, volumes = bars
    volumes[:3] = 0.0
    results, ready = feed(VolumeWeightedAveragePrice(), bars)
    typical = (highs + lows + closes) / 3.0
    expected = np.cumsum(typical * volumes)[3:] / np.cumsum(volumes)[3:]
    np.testing.assert_allclose(results[3:], expected, rtol=1e-9)
    assert (results[:3] == 0.0).all()
    assert not ready[:3].any()
    assert ready[3:].all()


def test_vwap_reset_anchors_new_session() -> None:
    indicator = VolumeWeightedAveragePrice()
    indicator.update(11.0, 9.0, 10.0, 100.0)
    indicator.reset()
    indicator.update(21.0, 19.0, 20.0, 5.0)
    indicator.update(33.0, 27.0, 30.0, 15.0)
    assert indicator.count == 2
    assert indicator.value == pytest.approx((20.0 * 5.0 + 30.0 * 15.0) / 20.0)


def test_vwap_no_volume_feed_never_initializes() -> None:
    results, ready = feed(VolumeWeightedAveragePrice(), random_bars(2, 50, 1.0))
    assert (results == 0.0).all()
    assert not ready.any()


@pytest.mark.parametrize("constructor", [VolumeWeightedAveragePrice, lambda: RollingVwap(3)])
def test_vwap_negative_volume_raises_value_error(
    constructor: type[VolumeWeightedAveragePrice],
) -> None:
    with pytest.raises(ValueError, match=r"volume -1\.0: must be >= 0"):
        constructor().update(2.0, 1.0, 1.5, -1.0)


@pytest.mark.parametrize("period", [1, 2, 20, 100])
def test_rolling_vwap_random_bars_match_window_sums(period: int) -> None:
    bars = random_bars(10 + period, zero_volume_share=0.0)
    highs, lows, closes, volumes = bars
    results, ready = feed(RollingVwap(period), bars)
    typical = (highs + lows + closes) / 3.0
    price_volume = sliding_window_view(typical * volumes, period).sum(axis=1)
    expected = price_volume / sliding_window_view(volumes, period).sum(axis=1)
    np.testing.assert_allclose(results[period - 1 :], expected, rtol=1e-9)
    assert (results[: period - 1] == 0.0).all()
    assert not ready[: period - 1].any()
    assert ready[period - 1 :].all()


def test_rolling_vwap_zero_volume_window_reads_zero_and_uninitialized() -> None:
    indicator = RollingVwap(2)
    indicator.update(11.0, 9.0, 10.0, 0.1)
    indicator.update(11.0, 9.0, 10.2, 0.2)
    assert indicator.initialized
    indicator.update(11.0, 9.0, 10.0, 0.0)
    assert indicator.initialized
    assert indicator.value == pytest.approx(30.2 / 3.0)
    # 0.1 + 0.2 - 0.1 - 0.2 is not exactly 0.0 in floats; the window must still be empty.
    indicator.update(11.0, 9.0, 10.0, 0.0)
    assert indicator.value == 0.0
    assert not indicator.initialized
    indicator.update(12.0, 10.0, 11.0, 4.0)
    assert indicator.initialized
    assert indicator.value == pytest.approx(11.0)


def test_rolling_vwap_after_huge_volume_resum_restores_exact_value() -> None:
    period = 3
    bars = random_bars(5, 600, zero_volume_share=0.0)
    highs, lows, closes, volumes = bars
    volumes[:period] = 1e18
    results, _ = feed(RollingVwap(period), bars)
    typical = (highs + lows + closes) / 3.0
    price_volume = sliding_window_view(typical * volumes, period).sum(axis=1)
    expected = price_volume / sliding_window_view(volumes, period).sum(axis=1)
    after_resum = period * 64
    np.testing.assert_allclose(
        results[after_resum:], expected[after_resum - period + 1 :], rtol=1e-9
    )
