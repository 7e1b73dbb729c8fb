"""Check the stochastic oscillator against numpy sliding windows and a brute force."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from engine.indicators import Stochastic

FloatArray = NDArray[np.float64]


def random_bars(seed: int, count: int = 4000) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Build seeded random-walk highs, lows and closes with low <= close <= high."""
    rng = np.random.default_rng(seed)
    closes = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, count)))
    highs = closes + rng.exponential(0.5, count)
    lows = closes - rng.exponential(0.5, count)
    return highs, lows, closes


def feed(
    indicator: Stochastic, highs: FloatArray, lows: FloatArray, closes: FloatArray
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """Update with each bar; return k, d and initialized after each update."""
    ks = np.empty(len(closes))
    ds = np.empty(len(closes))
    ready = np.empty(len(closes), dtype=bool)
    for index in range(len(closes)):
        indicator.update(float(highs[index]), float(lows[index]), float(closes[index]))
        ks[index] = indicator.k
        ds[index] = indicator.d
        ready[index] = indicator.initialized
        assert indicator.value == indicator.k
    return ks, ds, ready


@pytest.mark.parametrize(("k_period", "d_period"), [(14, 3), (1, 1), (5, 1), (50, 7)])
def test_stochastic_random_walk_matches_sliding_windows(k_period: int, d_period: int) -> None:
    highs, lows, closes = random_bars(k_period * 10 + d_period)
    ks, ds, ready = feed(Stochastic(k_period, d_period), highs, lows, closes)
    highest = sliding_window_view(highs, k_period).max(axis=1)
    lowest = sliding_window_view(lows, k_period).min(axis=1)
    expected_k = 100.0 * (closes[k_period - 1 :] - lowest) / (highest - lowest)
    expected_d = np.convolve(expected_k, np.full(d_period, 1.0 / d_period), mode="valid")
    first_ready = k_period + d_period - 2
    np.testing.assert_allclose(ks[k_period - 1 :], expected_k, rtol=1e-9)
    np.testing.assert_allclose(ds[first_ready:], expected_d, rtol=1e-9, atol=1e-9)
    assert (ks[: k_period - 1] == 0.0).all()
    assert (ds[:first_ready] == 0.0).all()
    assert not ready[:first_ready].any()
    assert ready[first_ready:].all()


def test_stochastic_zero_range_reads_fifty() -> None:
    indicator = Stochastic(3, 2)
    for _ in range(10):
        indicator.update(5.0, 5.0, 5.0)
    assert indicator.initialized
    assert indicator.k == 50.0
    assert indicator.d == 50.0


def test_stochastic_close_at_extremes_reads_zero_and_hundred() -> None:
    indicator = Stochastic(3, 1)
    indicator.update(10.0, 8.0, 9.0)
    indicator.update(11.0, 9.0, 10.0)
    indicator.update(12.0, 9.5, 12.0)
    assert indicator.k == 100.0
    indicator.update(11.0, 7.0, 7.0)
    assert indicator.k == 0.0


def brute_force_k(
    highs: list[int], lows: list[int], closes: list[int], period: int
) -> list[float | None]:
    """Recompute k from scratch over each full window; None before the window fills."""
    results: list[float | None] = []
    for index in range(len(closes)):
        if index + 1 < period:
            results.append(None)
            continue
        highest = max(highs[index + 1 - period : index + 1])
        lowest = min(lows[index + 1 - period : index + 1])
        span = highest - lowest
        results.append(100.0 * (closes[index] - lowest) / span if span else 50.0)
    return results


bar_triples = st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)).map(
    lambda triple: sorted(triple)
)


@settings(database=None, max_examples=300, deadline=None)
@given(st.lists(bar_triples, min_size=1, max_size=60), st.integers(1, 8))
def test_stochastic_any_bars_monotonic_deques_match_brute_force(
    bars: list[list[int]], period: int
) -> None:
    lows = [bar[0] for bar in bars]
    closes = [bar[1] for bar in bars]
    highs = [bar[2] for bar in bars]
    expected = brute_force_k(highs, lows, closes, period)
    indicator = Stochastic(period, 1)
    for high, low, close, k in zip(highs, lows, closes, expected, strict=True):
        indicator.update(high, low, close)
        assert indicator.k == (0.0 if k is None else pytest.approx(k, rel=1e-12))
        assert indicator.initialized is (k is not None)
