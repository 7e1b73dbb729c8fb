"""Return, drawdown and distribution helpers against numpy and hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.analysis.returns import (
    NANOSECONDS_PER_DAY,
    NANOSECONDS_PER_YEAR,
    annualization_factor,
    central_moment,
    conditional_value_at_risk,
    downside_deviation,
    drawdown_series,
    max_drawdown,
    max_drawdown_duration,
    mean,
    quantile,
    sample_standard_deviation,
    simple_returns,
    value_at_risk,
)

HOUR_NS = 3_600 * 1_000_000_000


def synthetic_equity() -> np.ndarray:
    rng = np.random.default_rng(7)
    steps = rng.normal(0.0004, 0.01, size=600)
    return 10_000.0 * np.concatenate(([1.0], np.cumprod(1.0 + steps)))


def test_simple_returns_match_numpy() -> None:
    equity = synthetic_equity()
    expected = np.diff(equity) / equity[:-1]
    np.testing.assert_allclose(simple_returns(list(equity)), expected, rtol=1e-12, atol=1e-15)


def test_simple_returns_of_short_curves_are_empty() -> None:
    assert simple_returns([]) == []
    assert simple_returns([100.0]) == []


def test_simple_returns_reject_returns_from_non_positive_equity() -> None:
    with pytest.raises(ValueError, match=r"equity\[1\] 0.0: a return needs positive equity"):
        simple_returns([100.0, 0.0, 5.0])
    # Falling to zero at the last sample is a -100 % return, which is defined.
    assert simple_returns([100.0, 0.0]) == [-1.0]


def test_non_finite_equity_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"equity\[1\] nan: must be a finite number"):
        simple_returns([1.0, math.nan])
    with pytest.raises(ValueError, match="must be a finite number"):
        drawdown_series([1.0, math.inf])


def test_drawdown_series_and_max_match_numpy() -> None:
    equity = synthetic_equity()
    peak = np.maximum.accumulate(equity)
    expected = (peak - equity) / peak
    np.testing.assert_allclose(drawdown_series(list(equity)), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(max_drawdown(list(equity)), expected.max(), rtol=1e-12)


def test_drawdown_edge_cases() -> None:
    assert max_drawdown([]) == 0.0
    assert max_drawdown([5.0]) == 0.0
    assert max_drawdown([1.0, 2.0, 3.0]) == 0.0
    assert max_drawdown([100.0, 50.0, 200.0, 150.0]) == 0.5
    with pytest.raises(ValueError, match=r"equity\[0\] 0.0: drawdowns need a positive first"):
        drawdown_series([0.0, 1.0])


def test_drawdown_duration_hand_case_regular_sampling() -> None:
    # Peak 110 at index 1, below it at 2-3, back to exactly 110 at 4 (equal recovers):
    # 3 intervals. Peak 120 at index 5, never recovered: 2 intervals to the end.
    equity = [100.0, 110.0, 99.0, 105.0, 110.0, 120.0, 100.0, 115.0]
    timestamps = [i * NANOSECONDS_PER_DAY for i in range(len(equity))]
    result = max_drawdown_duration(timestamps, equity)
    assert result.duration_ns == 3 * NANOSECONDS_PER_DAY
    assert result.duration_samples == 3
    assert (result.peak_index, result.end_index, result.recovered) == (1, 4, True)


def test_drawdown_duration_is_measured_in_time_not_samples() -> None:
    # Same curve, but the last interval is 14 days long: the unrecovered episode from
    # index 5 lasts 15 days (2 samples) and beats the 3-day, 3-sample one.
    equity = [100.0, 110.0, 99.0, 105.0, 110.0, 120.0, 100.0, 115.0]
    days = [0, 1, 2, 3, 4, 5, 6, 20]
    result = max_drawdown_duration([d * NANOSECONDS_PER_DAY for d in days], equity)
    assert result.duration_ns == 15 * NANOSECONDS_PER_DAY
    assert result.duration_samples == 2
    assert (result.peak_index, result.end_index, result.recovered) == (5, 7, False)


def test_drawdown_duration_never_recovered_spans_to_the_end() -> None:
    equity = [100.0, 90.0, 80.0, 70.0]
    result = max_drawdown_duration([0, 10, 20, 30], equity)
    assert (result.duration_ns, result.duration_samples) == (30, 3)
    assert (result.peak_index, result.end_index, result.recovered) == (0, 3, False)


def test_drawdown_duration_without_drawdown_is_zero() -> None:
    for equity in ([], [1.0], [1.0, 1.0, 2.0]):
        result = max_drawdown_duration(list(range(len(equity))), equity)
        assert (result.duration_ns, result.duration_samples) == (0, 0)
        assert result.peak_index is None and result.end_index is None


def test_drawdown_duration_validates_inputs() -> None:
    with pytest.raises(ValueError, match="timestamps length 1: must equal the equity length 2"):
        max_drawdown_duration([0], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"timestamp\[1\] 0: must be later"):
        max_drawdown_duration([0, 0], [1.0, 2.0])


def test_annualization_factor_from_median_interval() -> None:
    hourly = [i * HOUR_NS for i in range(100)]
    assert annualization_factor(hourly) == pytest.approx(365.25 * 24)
    # One long gap (an outage) does not move the median interval.
    gapped = hourly[:50] + [ts + 30 * NANOSECONDS_PER_DAY for ts in hourly[50:]]
    assert annualization_factor(gapped) == pytest.approx(365.25 * 24)
    np.testing.assert_allclose(
        annualization_factor([0, 2, 3, 10]), NANOSECONDS_PER_YEAR / np.median([2, 1, 7])
    )


def test_annualization_factor_override_and_errors() -> None:
    assert annualization_factor([0, NANOSECONDS_PER_DAY], periods_per_year=252.0) == 252.0
    assert annualization_factor([], periods_per_year=252.0) == 252.0
    with pytest.raises(ValueError, match="periods_per_year 0.0: must be positive"):
        annualization_factor([0, 1], periods_per_year=0.0)
    with pytest.raises(ValueError, match="timestamps length 1: need at least two"):
        annualization_factor([0])
    with pytest.raises(ValueError, match=r"timestamp\[0\] 1.5: must be integer nanoseconds"):
        annualization_factor([1.5, 2])  # type: ignore[list-item]


def test_moments_match_numpy() -> None:
    returns = np.diff(synthetic_equity())
    values = list(returns)
    np.testing.assert_allclose(mean(values), returns.mean(), rtol=1e-12)
    np.testing.assert_allclose(sample_standard_deviation(values), returns.std(ddof=1))
    np.testing.assert_allclose(
        downside_deviation(values), np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2))
    )
    for order in (2, 3, 4):
        expected = np.mean((returns - returns.mean()) ** order)
        np.testing.assert_allclose(central_moment(values, order), expected, rtol=1e-10)


@pytest.mark.parametrize("probability", [0.0, 0.01, 0.05, 0.25, 0.5, 0.95, 0.999, 1.0])
def test_quantile_matches_numpy_linear(probability: float) -> None:
    values = list(np.diff(synthetic_equity()))
    expected = np.quantile(values, probability, method="linear")
    np.testing.assert_allclose(quantile(values, probability), expected, rtol=1e-12)


def test_quantile_rejects_probability_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match="probability 1.5: must be within"):
        quantile([1.0], 1.5)


def test_var_and_cvar_match_numpy() -> None:
    equity = synthetic_equity()
    returns = np.diff(equity) / equity[:-1]
    q05 = np.quantile(returns, 0.05)
    np.testing.assert_allclose(value_at_risk(list(returns)), -q05, rtol=1e-12)
    np.testing.assert_allclose(
        conditional_value_at_risk(list(returns)), -returns[returns <= q05].mean(), rtol=1e-12
    )


def test_var_cvar_hand_case_on_an_order_statistic() -> None:
    # 21 returns: h = (21 - 1) * 0.05 = 1 exactly, so the 5 % quantile is the second
    # smallest return (-0.08); the tail at or below it is {-0.10, -0.08}.
    returns = [-0.10, -0.08] + [0.01 * i for i in range(19)]
    assert value_at_risk(returns) == pytest.approx(0.08)
    assert conditional_value_at_risk(returns) == pytest.approx(0.09)


def test_var_cvar_hand_case_between_order_statistics() -> None:
    # 11 returns: h = 10 * 0.05 = 0.5, halfway between -0.04 and -0.02 -> -0.03. Only -0.04
    # lies at or below it, so expected shortfall is 0.04.
    returns = [0.03, -0.02, 0.0, 0.01, -0.04, 0.02, 0.05, 0.01, 0.0, 0.02, 0.04]
    assert value_at_risk(returns) == pytest.approx(0.03)
    assert conditional_value_at_risk(returns) == pytest.approx(0.04)


def test_var_is_negative_when_the_tail_is_a_gain() -> None:
    assert value_at_risk([0.01, 0.02, 0.03]) == pytest.approx(-0.011)
    assert conditional_value_at_risk([0.01, 0.02, 0.03]) == pytest.approx(-0.01)
