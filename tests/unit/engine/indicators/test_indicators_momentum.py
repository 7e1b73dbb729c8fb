"""Check RSI, MACD and rate of change against independent numpy computations."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from engine.indicators import (
    MovingAverageConvergenceDivergence,
    RateOfChange,
    RelativeStrengthIndex,
    SingleInputIndicator,
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


def reference_rsi(values: FloatArray, period: int) -> FloatArray:
    """Apply Wilder's RSI formula, 100 - 100 / (1 + RS), to whole arrays of changes."""
    changes = np.diff(values)
    gains = np.clip(changes, 0.0, None)
    losses = np.clip(-changes, 0.0, None)
    average_gain = np.empty(len(changes) - period + 1)
    average_loss = np.empty_like(average_gain)
    average_gain[0] = gains[:period].mean()
    average_loss[0] = losses[:period].mean()
    for index in range(1, len(average_gain)):
        average_gain[index] = (
            average_gain[index - 1] + (gains[period - 1 + index] - average_gain[index - 1]) / period
        )
        average_loss[index] = (
            average_loss[index - 1]
            + (losses[period - 1 + index] - average_loss[index - 1]) / period
        )
    with np.errstate(divide="ignore"):  # no losses: RS is inf and RSI is 100
        return 100.0 - 100.0 / (1.0 + average_gain / average_loss)


def reference_ema(values: FloatArray, period: int) -> FloatArray:
    """Seed with the mean of the first period values, then run the EMA recursion."""
    alpha = 2.0 / (period + 1)
    result = np.full(len(values), np.nan)
    result[period - 1] = values[:period].mean()
    for index in range(period, len(values)):
        result[index] = alpha * values[index] + (1.0 - alpha) * result[index - 1]
    return result


@pytest.mark.parametrize("period", [1, 2, 14, 30])
def test_rsi_random_walk_matches_wilder_formula(period: int) -> None:
    values = random_walk(period)
    results, ready = feed(RelativeStrengthIndex(period), values)
    np.testing.assert_allclose(results[period:], reference_rsi(values, period), rtol=1e-9)
    assert not ready[:period].any()
    assert ready[period:].all()
    assert (results[:period] == 0.0).all()


def test_rsi_constant_series_is_neutral_fifty() -> None:
    results, ready = feed(RelativeStrengthIndex(14), np.full(100, 7.0))
    assert ready[-1]
    assert (results[14:] == 50.0).all()


def test_rsi_only_gains_is_hundred_and_only_losses_is_zero() -> None:
    rising, _ = feed(RelativeStrengthIndex(5), np.arange(1.0, 30.0))
    falling, _ = feed(RelativeStrengthIndex(5), np.arange(30.0, 1.0, -1.0))
    assert (rising[5:] == 100.0).all()
    assert (falling[5:] == 0.0).all()


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (3, 10, 1), (1, 2, 5)])
def test_macd_random_walk_matches_ema_differences(fast: int, slow: int, signal: int) -> None:
    values = random_walk(fast * slow)
    indicator = MovingAverageConvergenceDivergence(fast, slow, signal)
    lines = np.empty(len(values))
    signals = np.empty(len(values))
    histograms = np.empty(len(values))
    ready = np.empty(len(values), dtype=bool)
    for index, value in enumerate(values.tolist()):
        indicator.update(value)
        lines[index] = indicator.value
        signals[index] = indicator.signal
        histograms[index] = indicator.histogram
        ready[index] = indicator.initialized

    line = reference_ema(values, fast)[slow - 1 :] - reference_ema(values, slow)[slow - 1 :]
    signal_line = reference_ema(line, signal)[signal - 1 :]
    first_ready = slow + signal - 2
    np.testing.assert_allclose(lines[slow - 1 :], line, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(signals[first_ready:], signal_line, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        histograms[first_ready:], line[signal - 1 :] - signal_line, rtol=1e-9, atol=1e-12
    )
    assert (lines[: slow - 1] == 0.0).all()
    assert (signals[:first_ready] == 0.0).all()
    assert (histograms[:first_ready] == 0.0).all()
    assert not ready[:first_ready].any()
    assert ready[first_ready:].all()


@pytest.mark.parametrize(("fast", "slow"), [(26, 12), (5, 5)])
def test_macd_fast_not_below_slow_raises_value_error(fast: int, slow: int) -> None:
    with pytest.raises(ValueError, match=f"fast {fast}: must be < slow {slow}"):
        MovingAverageConvergenceDivergence(fast, slow)


def test_macd_constant_series_all_outputs_zero() -> None:
    indicator = MovingAverageConvergenceDivergence()
    for _ in range(100):
        indicator.update(50.0)
    assert indicator.initialized
    assert indicator.value == pytest.approx(0.0, abs=1e-12)
    assert indicator.signal == pytest.approx(0.0, abs=1e-12)
    assert indicator.histogram == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("period", [1, 3, 20])
def test_roc_random_walk_matches_percent_change(period: int) -> None:
    values = random_walk(50 + period)
    results, ready = feed(RateOfChange(period), values)
    expected = 100.0 * (values[period:] - values[:-period]) / values[:-period]
    np.testing.assert_allclose(results[period:], expected, rtol=1e-9)
    assert not ready[:period].any()
    assert ready[period:].all()
    assert (results[:period] == 0.0).all()


def test_roc_zero_reference_value_reads_zero() -> None:
    results, ready = feed(RateOfChange(2), np.array([0.0, 5.0, 3.0, 10.0]))
    assert ready[2]
    assert results[2] == 0.0
    assert results[3] == pytest.approx(100.0)
