"""Check Bollinger Bands and the average true range against numpy computations."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from engine.indicators import AverageTrueRange, BollingerBands

FloatArray = NDArray[np.float64]


def random_walk(seed: int, count: int = 4000) -> FloatArray:
    """Build a seeded, strictly positive random walk of prices."""
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, count)))


def feed_bands(indicator: BollingerBands, values: FloatArray) -> dict[str, FloatArray]:
    """Update with each value; collect every output after each update."""
    names = ("value", "middle", "upper", "lower", "standard_deviation", "initialized")
    collected = {name: np.empty(len(values)) for name in names}
    for index, value in enumerate(values.tolist()):
        indicator.update(value)
        for name in names:
            collected[name][index] = getattr(indicator, name)
    return collected


@pytest.mark.parametrize(("period", "k"), [(20, 2.0), (1, 2.0), (2, 1.5), (60, 0.0)])
def test_bollinger_random_walk_matches_population_std(period: int, k: float) -> None:
    values = random_walk(period)
    outputs = feed_bands(BollingerBands(period, k), values)
    windows = sliding_window_view(values, period)
    mean = windows.mean(axis=1)
    deviation = windows.std(axis=1, ddof=0)
    start = period - 1
    np.testing.assert_allclose(outputs["middle"][start:], mean, rtol=1e-9)
    np.testing.assert_allclose(outputs["value"][start:], mean, rtol=1e-9)
    # Sliding variance carries an absolute error on the scale of eps * price level, so
    # near-equal windows (likely with period 2) are checked against price, not deviation.
    np.testing.assert_allclose(
        outputs["standard_deviation"][start:], deviation, rtol=1e-9, atol=1e-9 * values.max()
    )
    np.testing.assert_allclose(outputs["upper"][start:], mean + k * deviation, rtol=1e-9)
    np.testing.assert_allclose(outputs["lower"][start:], mean - k * deviation, rtol=1e-9)
    for name in ("value", "middle", "upper", "lower", "standard_deviation", "initialized"):
        assert (outputs[name][:start] == 0.0).all()
    assert outputs["initialized"][start:].all()


def test_bollinger_large_offset_small_noise_keeps_precision() -> None:
    # Prices far from zero with tiny variance break sum-of-squares formulas; the
    # Welford-style slide plus periodic exact recomputation must not.
    rng = np.random.default_rng(11)
    values = 1e6 + rng.normal(0.0, 1e-3, 5000)
    outputs = feed_bands(BollingerBands(20), values)
    deviation = sliding_window_view(values, 20).std(axis=1)
    np.testing.assert_allclose(outputs["standard_deviation"][19:], deviation, rtol=1e-5)


def test_bollinger_after_huge_spike_resum_restores_exact_bands() -> None:
    period = 5
    values = np.concatenate((np.full(period, 1e12), random_walk(9, 700)))
    outputs = feed_bands(BollingerBands(period), values)
    deviation = sliding_window_view(values, period).std(axis=1)
    after_resum = period * 64
    np.testing.assert_allclose(
        outputs["standard_deviation"][after_resum:],
        deviation[after_resum - period + 1 :],
        rtol=1e-9,
    )


def test_bollinger_constant_series_bands_collapse_to_middle() -> None:
    indicator = BollingerBands(5)
    for _ in range(500):
        indicator.update(3.25)
    assert indicator.standard_deviation == 0.0
    assert indicator.upper == indicator.lower == indicator.middle == 3.25


@pytest.mark.parametrize("k", [-1.0, float("inf"), float("nan")])
def test_bollinger_bad_multiplier_raises_value_error(k: float) -> None:
    with pytest.raises(ValueError, match="k"):
        BollingerBands(20, k)


def random_bars(seed: int, count: int = 4000) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Build seeded random-walk highs, lows and closes with gaps between bars."""
    rng = np.random.default_rng(seed)
    closes = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, count)))
    highs = closes + rng.exponential(0.5, count)
    lows = closes - rng.exponential(0.5, count)
    return highs, lows, closes


def reference_atr(
    highs: FloatArray, lows: FloatArray, closes: FloatArray, period: int
) -> tuple[FloatArray, FloatArray]:
    """Return true ranges and Wilder's ATR (seeded with the mean of the first period)."""
    previous = np.concatenate(([np.nan], closes[:-1]))
    true_range = np.maximum(
        highs - lows, np.maximum(np.abs(highs - previous), np.abs(lows - previous))
    )
    true_range[0] = highs[0] - lows[0]
    atr = np.empty(len(closes) - period + 1)
    atr[0] = true_range[:period].mean()
    for index in range(1, len(atr)):
        atr[index] = (atr[index - 1] * (period - 1) + true_range[period - 1 + index]) / period
    return true_range, atr


@pytest.mark.parametrize("period", [1, 2, 14, 40])
def test_atr_random_bars_match_wilder_true_range(period: int) -> None:
    highs, lows, closes = random_bars(period)
    indicator = AverageTrueRange(period)
    values = np.empty(len(closes))
    true_ranges = np.empty(len(closes))
    ready = np.empty(len(closes), dtype=bool)
    for index in range(len(closes)):
        indicator.update(float(highs[index]), float(lows[index]), float(closes[index]))
        values[index] = indicator.value
        true_ranges[index] = indicator.true_range
        ready[index] = indicator.initialized
    expected_true_range, expected_atr = reference_atr(highs, lows, closes, period)
    np.testing.assert_allclose(true_ranges, expected_true_range, rtol=1e-12)
    np.testing.assert_allclose(values[period - 1 :], expected_atr, rtol=1e-9)
    assert (values[: period - 1] == 0.0).all()
    assert not ready[: period - 1].any()
    assert ready[period - 1 :].all()


def test_atr_gap_bar_uses_previous_close() -> None:
    indicator = AverageTrueRange(2)
    indicator.update(10.0, 9.0, 9.5)
    indicator.update(13.0, 12.0, 12.5)  # gap up: |high - previous close| = 3.5
    assert indicator.true_range == 3.5
    assert indicator.value == pytest.approx((1.0 + 3.5) / 2)
    indicator.update(8.0, 7.0, 7.5)  # gap down: |low - previous close| = 5.5
    assert indicator.true_range == 5.5
    assert indicator.value == pytest.approx((2.25 + 5.5) / 2)
