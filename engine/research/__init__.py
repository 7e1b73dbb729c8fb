"""Research computations: pure and deterministic (seeded), no I/O, no optimizer.

Splits of a series (walk-forward, purged k-fold), statistics of overfitting (deflated
Sharpe, PBO), stitched out-of-sample equity, Monte Carlo over trades, sensitivity
neighbourhoods and data shocks. The orchestration (Optuna, executors, files) is in
`api.research`; nothing here imports it.
"""

from __future__ import annotations

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
    "deflated_sharpe_ratio",
    "expected_maximum_sharpe",
    "gap",
    "neighbourhood",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "purged_kfold",
    "stitch_equity_curves",
    "trade_monte_carlo",
    "volatility_spike",
    "walk_forward",
)
