"""Research computations: pure and deterministic (seeded), no I/O, no optimizer.

Splits of a series (walk-forward, purged k-fold), statistics of overfitting (deflated
Sharpe, PBO), stitched out-of-sample equity, Monte Carlo over trades, sensitivity
neighbourhoods, data shocks, capital allocators and position sizing. The orchestration
(Optuna, executors, files) is in `api.research`; nothing here imports it.
"""

from __future__ import annotations

from engine.research.allocation import (
    correlation_matrix,
    covariance_matrix,
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
from engine.research.montecarlo import MonteCarloResult, trade_monte_carlo
from engine.research.overfitting import (
    OverfittingResult,
    deflated_sharpe_ratio,
    expected_maximum_sharpe,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
)
from engine.research.sensitivity import Axis, neighbourhood
from engine.research.shocks import Ohlc, gap, volatility_spike
from engine.research.stitching import stitch_equity_curves
from engine.research.windows import Segment, Split, purged_kfold, walk_forward

__all__ = (
    "Axis",
    "MonteCarloResult",
    "Ohlc",
    "OverfittingResult",
    "Segment",
    "Split",
    "correlation_matrix",
    "covariance_matrix",
    "deflated_sharpe_ratio",
    "equal_weight",
    "expected_maximum_sharpe",
    "fixed_fractional",
    "gap",
    "inverse_volatility",
    "kelly_fraction",
    "mean_variance",
    "neighbourhood",
    "parametric_value_at_risk",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "purged_kfold",
    "risk_contributions",
    "risk_parity",
    "stitch_equity_curves",
    "trade_monte_carlo",
    "volatility_spike",
    "volatility_target",
    "walk_forward",
)
