"""Allocators, sizing helpers and the risk read-outs."""

from __future__ import annotations

import numpy as np
import pytest

from engine.research import (
    correlation_matrix,
    equal_weight,
    fixed_fractional,
    inverse_volatility,
    kelly_fraction,
    mean_variance,
    parametric_value_at_risk,
    risk_contributions,
    risk_parity,
    volatility_target,
)

COVARIANCE = [[0.04, 0.006, 0.0], [0.006, 0.01, 0.002], [0.0, 0.002, 0.0225]]


def test_equal_and_inverse_volatility_weights() -> None:
    assert equal_weight(4) == [0.25] * 4
    assert inverse_volatility([0.1, 0.2]) == pytest.approx([2 / 3, 1 / 3])


def test_risk_parity_equalizes_risk_contributions() -> None:
    weights = risk_parity(COVARIANCE)

    assert sum(weights) == pytest.approx(1.0)
    assert risk_contributions(weights, COVARIANCE) == pytest.approx([1 / 3] * 3, abs=1e-9)


def test_risk_parity_of_uncorrelated_assets_is_inverse_volatility() -> None:
    diagonal = [[0.04, 0.0], [0.0, 0.01]]

    assert risk_parity(diagonal) == pytest.approx(inverse_volatility([0.2, 0.1]))


def test_mean_variance_prefers_the_better_asset_and_stays_long_only() -> None:
    weights = mean_variance([0.10, 0.02, -0.05], COVARIANCE, risk_aversion=2.0)

    assert sum(weights) == pytest.approx(1.0)
    assert min(weights) >= 0.0
    assert weights[0] > weights[1] and weights[2] == pytest.approx(0.0, abs=1e-9)


def test_mean_variance_with_high_risk_aversion_tends_to_minimum_variance() -> None:
    weights = mean_variance([0.0, 0.0, 0.0], COVARIANCE, risk_aversion=1e6)
    inverse = np.linalg.inv(np.asarray(COVARIANCE)) @ np.ones(3)

    assert weights == pytest.approx((inverse / inverse.sum()).tolist(), abs=1e-4)


def test_sizing_helpers() -> None:
    assert fixed_fractional(100_000.0, 0.02, 50.0) == pytest.approx(40.0)
    assert kelly_fraction(0.6, 1.0) == pytest.approx(0.2)
    assert kelly_fraction(0.6, 1.0, multiplier=0.5) == pytest.approx(0.1)
    assert kelly_fraction(0.3, 1.0) == 0.0
    assert volatility_target(0.1, 0.2) == pytest.approx(0.5)
    assert volatility_target(0.4, 0.1, max_leverage=2.0) == 2.0


def test_correlation_and_parametric_var() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(size=500)
    series = [base.tolist(), (base * 2 + 1).tolist(), (-base).tolist()]

    correlation = correlation_matrix(series)

    assert correlation[0][1] == pytest.approx(1.0)
    assert correlation[0][2] == pytest.approx(-1.0)
    assert parametric_value_at_risk([1.0], [[0.0001]]) == pytest.approx(1.6449 * 0.01, rel=1e-4)


def test_allocators_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="each must be > 0"):
        inverse_volatility([0.1, 0.0])
    with pytest.raises(ValueError, match="every variance"):
        risk_parity([[0.0]])
