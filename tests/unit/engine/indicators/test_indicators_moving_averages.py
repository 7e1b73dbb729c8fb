"""Check the moving averages against independent vectorized numpy computations."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from engine.indicators import (
    ExponentialMovingAverage,
    SimpleMovingAverage,
    SingleInputIndicator,
    WeightedMovingAverage,
)

FloatArray = NDArray[np.float64]


def random_walk(seed: int, count: int = 4000) -> FloatArray:
    """Build a seeded, strictly positive random walk of prices."""
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, count)))


def feed(
    indicator: SingleInputIndicator, values: FloatArray
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Update with each value; return the value and initialized flag after each update."""
    results = np.empty(len(values))
    ready = np.empty(len(values), dtype=bool)
    for index, value in enumerate(values.tolist()):
        indicator.update(value)
        results[index] = indicator.value
        ready[index] = indicator.initialized
    return results, ready


def reference_ema(values: FloatArray, period: int, alpha: float) -> FloatArray:
    """Seed with the mean of the first period values, then run the EMA recursion."""
    result = np.full(len(values), np.nan)
    result[period - 1] = values[:period].mean()
    for index in range(period, len(values)):
        result[index] = alpha * values[index] + (1.0 - alpha) * result[index - 1]
    return result


@pytest.mark.parametrize("period", [1, 2, 7, 50])
def test_sma_random_walk_matches_numpy_convolution(period: int) -> None:
    values = random_walk(period)
    results, ready = feed(SimpleMovingAverage(period), values)
    expected = np.convolve(values, np.full(period, 1.0 / period), mode="valid")
    np.testing.assert_allclose(results[period - 1 :], expected, rtol=1e-9)
    assert not ready[: period - 1].any()
    assert ready[period - 1 :].all()
    assert (results[: period - 1] == 0.0).all()


@pytest.mark.parametrize("period", [1, 2, 7, 50])
def test_ema_random_walk_matches_recursion_seeded_with_mean(period: int) -> None:
    values = random_walk(100 + period)
    results, ready = feed(ExponentialMovingAverage(period), values)
    expected = reference_ema(values, period, 2.0 / (period + 1))
    np.testing.assert_allclose(results[period - 1 :], expected[period - 1 :], rtol=1e-9)
    assert not ready[: period - 1].any()
    assert ready[period - 1 :].all()
    assert (results[: period - 1] == 0.0).all()


def test_ema_custom_alpha_matches_recursion() -> None:
    values = random_walk(3)
    results, _ = feed(ExponentialMovingAverage(10, alpha=0.1), values)
    np.testing.assert_allclose(results[9:], reference_ema(values, 10, 0.1)[9:], rtol=1e-9)


@pytest.mark.parametrize("alpha", [0.0, -0.5, 1.5, float("nan")])
def test_ema_alpha_outside_unit_interval_raises_value_error(alpha: float) -> None:
    with pytest.raises(ValueError, match="alpha"):
        ExponentialMovingAverage(10, alpha=alpha)


def test_ema_alpha_one_tracks_input_after_seed() -> None:
    indicator = ExponentialMovingAverage(3, alpha=1.0)
    for value in (1.0, 2.0, 6.0):
        indicator.update(value)
    assert indicator.value == 3.0
    indicator.update(10.0)
    assert indicator.value == 10.0


@pytest.mark.parametrize("period", [1, 2, 7, 50])
def test_wma_random_walk_matches_weighted_windows(period: int) -> None:
    values = random_walk(200 + period)
    results, ready = feed(WeightedMovingAverage(period), values)
    weights = np.arange(1.0, period + 1.0)
    expected = sliding_window_view(values, period) @ weights / weights.sum()
    np.testing.assert_allclose(results[period - 1 :], expected, rtol=1e-9)
    assert not ready[: period - 1].any()
    assert ready[period - 1 :].all()
    assert (results[: period - 1] == 0.0).all()


def test_wma_small_window_newest_weighs_most() -> None:
    indicator = WeightedMovingAverage(3)
    for value in (3.0, 6.0, 9.0, 0.0):
        indicator.update(value)
    assert indicator.value == pytest.approx((6.0 * 1 + 9.0 * 2 + 0.0 * 3) / 6.0)


@pytest.mark.parametrize("constructor", [SimpleMovingAverage, WeightedMovingAverage])
def test_windowed_average_after_huge_spike_resum_restores_exact_value(
    constructor: type[SimpleMovingAverage] | type[WeightedMovingAverage],
) -> None:
    # A running sum that once held 1e17 has lost every digit of the small values; the
    # periodic exact re-sum (every period * 64 updates) must bring the value back.
    period = 4
    indicator = constructor(period)
    small = random_walk(5, 600)
    values = np.concatenate((np.full(period, 1e17), small))
    results, _ = feed(indicator, values)
    weights = np.ones(period) if constructor is SimpleMovingAverage else np.arange(1.0, 5.0)
    expected = sliding_window_view(values, period) @ weights / weights.sum()
    after_resum = period * 64
    np.testing.assert_allclose(
        results[after_resum:], expected[after_resum - period + 1 :], rtol=1e-12
    )


@pytest.mark.parametrize(
    "constructor", [SimpleMovingAverage, ExponentialMovingAverage, WeightedMovingAverage]
)
def test_moving_average_constant_series_equals_constant(
    constructor: type[SingleInputIndicator],
) -> None:
    indicator = constructor(5)  # type: ignore[call-arg]
    for _ in range(1000):
        indicator.update(42.5)
    assert indicator.value == pytest.approx(42.5, rel=1e-12)
