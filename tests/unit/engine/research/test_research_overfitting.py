"""Deflated Sharpe, PSR and PBO against the papers' worked numbers and limiting cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.research import (
    deflated_sharpe_ratio,
    expected_maximum_sharpe,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
    purged_kfold,
    stitch_equity_curves,
    walk_forward,
)


def test_deflated_sharpe_matches_the_papers_example() -> None:
    # Bailey & Lopez de Prado (2014), section 4: SR 2.5 annualized over 5 years of daily
    # returns, 100 trials with V[SR] = 0.5 annualized, skew -3, kurtosis 10: DSR 0.9004.
    half_spread = math.sqrt(0.5 / 250 * 99 / 100)
    trials = [half_spread if i % 2 else -half_spread for i in range(100)]

    dsr = deflated_sharpe_ratio(2.5 / math.sqrt(250), trials, 1250, skewness=-3.0,
                                kurtosis=10.0)

    assert dsr == pytest.approx(0.9004, abs=0.001)


def test_probabilistic_sharpe_at_its_benchmark_is_one_half() -> None:
    assert probabilistic_sharpe_ratio(0.1, 0.1, 500) == pytest.approx(0.5)
    assert expected_maximum_sharpe([0.3]) == 0.0


def test_probabilistic_sharpe_refuses_one_observation() -> None:
    with pytest.raises(ValueError, match="observations 1"):
        probabilistic_sharpe_ratio(0.1, 0.0, 1)


def test_pbo_of_one_truly_better_trial_is_zero() -> None:
    rng = np.random.default_rng(1)
    noise = rng.normal(0.0, 0.01, size=(6, 400))
    noise[2] += 0.01  # trial 2 beats the others in every block

    result = probability_of_backtest_overfitting(noise.tolist(), blocks=8)

    assert result.combinations == 70
    assert result.probability == 0.0


def test_pbo_of_pure_noise_is_near_one_half() -> None:
    rng = np.random.default_rng(7)
    noise = rng.normal(0.0, 0.01, size=(40, 800))

    result = probability_of_backtest_overfitting(noise.tolist(), blocks=10)

    assert 0.25 < result.probability < 0.75


def test_pbo_refuses_an_odd_number_of_blocks() -> None:
    with pytest.raises(ValueError, match="blocks 3"):
        probability_of_backtest_overfitting([[0.1] * 10, [0.2] * 10], blocks=3)


def test_walk_forward_rolling_windows_by_example() -> None:
    splits = walk_forward(10, 4, 2, gap=1)

    assert [(s.train, s.test) for s in splits] == [
        (((0, 4),), (5, 7)), (((2, 6),), (7, 9)), (((4, 8),), (9, 10))]


def test_walk_forward_anchored_grows_from_zero() -> None:
    splits = walk_forward(9, 3, 3, anchored=True)

    assert [s.train for s in splits] == [((0, 3),), ((0, 6),)]


def test_purged_kfold_by_example() -> None:
    splits = purged_kfold(10, 3, purge=1, embargo=2)

    assert [(s.train, s.test) for s in splits] == [
        (((6, 10),), (0, 4)), (((0, 3), (9, 10)), (4, 7)), (((0, 6),), (7, 10))]


def test_stitch_equity_curves_compounds_windows() -> None:
    first = [(1, 100.0), (2, 110.0)]
    second = [(2, 100.0), (3, 50.0), (4, 100.0)]

    stitched = stitch_equity_curves([first, second], 1000.0)

    assert stitched == [(1, 1000.0), (2, 1100.0), (3, 550.0), (4, 1100.0)]
