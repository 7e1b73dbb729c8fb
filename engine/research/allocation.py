"""Capital allocators and position sizing: weights from risk estimates, sizes from weights.

Allocators take per-period return series (one per strategy, equal length) or their
moments and return long-only weights that sum to 1:

* `equal_weight`: 1/n each.
* `inverse_volatility`: proportional to 1/sigma.
* `risk_parity`: equal risk contributions `w_i (S w)_i` (Griveau-Billion, Richard and
  Roncalli, "A fast algorithm for computing high-dimensional risk parity portfolios",
  2013: cyclical coordinate descent, each step a closed-form root).
* `mean_variance`: maximize `w'mu - (risk_aversion / 2) w'S w` over the simplex, solved
  by scipy's SLSQP.

Sizing helpers turn an allocation into a position: `fixed_fractional`, `kelly_fraction`,
`volatility_target`. Risk read-outs: `correlation_matrix`, `parametric_value_at_risk`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

__all__ = (
    "correlation_matrix",
    "covariance_matrix",
    "equal_weight",
    "fixed_fractional",
    "inverse_volatility",
    "kelly_fraction",
    "mean_variance",
    "parametric_value_at_risk",
    "risk_contributions",
    "risk_parity",
    "volatility_target",
)

Matrix = list[list[float]]


def _array(returns: Sequence[Sequence[float]]) -> np.ndarray[tuple[int, int], np.dtype[np.float64]]:
    if not returns:
        raise ValueError("returns: no series")
    lengths = {len(series) for series in returns}
    if len(lengths) != 1 or min(lengths) < 2:
        raise ValueError(f"returns: lengths {sorted(lengths)}, need equal lengths >= 2")
    return np.asarray(returns, dtype=np.float64)


def covariance_matrix(returns: Sequence[Sequence[float]]) -> Matrix:
    """The sample covariance (divided by n - 1) of the series, one row per series."""
    data = _array(returns)
    return np.atleast_2d(np.cov(data, ddof=1)).tolist()  # type: ignore[no-any-return]


def correlation_matrix(returns: Sequence[Sequence[float]]) -> Matrix:
    """Pearson correlations between the series (0 for a flat series, 1 on the diagonal)."""
    covariance = np.asarray(covariance_matrix(returns))
    deviation = np.sqrt(np.diag(covariance))
    scale = np.outer(deviation, deviation)
    with np.errstate(divide="ignore", invalid="ignore"):
        correlation = np.where(scale > 0, covariance / np.where(scale > 0, scale, 1.0), 0.0)
    np.fill_diagonal(correlation, 1.0)
    return correlation.tolist()  # type: ignore[no-any-return]


def equal_weight(count: int) -> list[float]:
    """`count` equal weights."""
    if count <= 0:
        raise ValueError(f"count {count}: must be > 0")
    return [1.0 / count] * count


def inverse_volatility(volatilities: Sequence[float]) -> list[float]:
    """Weights proportional to `1 / volatility`.

    Raises:
        ValueError: a volatility <= 0 (a flat series carries no risk to budget).
    """
    if not volatilities or min(volatilities) <= 0.0:
        raise ValueError(f"volatilities {list(volatilities)}: each must be > 0")
    inverse = [1.0 / v for v in volatilities]
    total = math.fsum(inverse)
    return [v / total for v in inverse]


def risk_contributions(weights: Sequence[float], covariance: Matrix) -> list[float]:
    """Each asset's share of the portfolio variance, `w_i (S w)_i / (w'S w)`."""
    w = np.asarray(weights, dtype=np.float64)
    s = np.asarray(covariance, dtype=np.float64)
    marginal = s @ w
    total = float(w @ marginal)
    if total <= 0.0:
        raise ValueError("covariance: the portfolio variance is not positive")
    return (w * marginal / total).tolist()  # type: ignore[no-any-return]


def risk_parity(covariance: Matrix, *, tolerance: float = 1e-12,
                iterations: int = 10_000) -> list[float]:
    """Equal-risk-contribution weights for `covariance` (positive diagonal required).

    Raises:
        ValueError: a non-positive variance, or no convergence within `iterations`.
    """
    s = np.asarray(covariance, dtype=np.float64)
    count = s.shape[0]
    variances = np.diag(s)
    if np.any(variances <= 0.0):
        raise ValueError("covariance: every variance must be > 0")
    budget = 1.0 / count
    w = 1.0 / np.sqrt(variances)
    for _ in range(iterations):
        previous = w.copy()
        for i in range(count):
            others = float(s[i] @ w - s[i, i] * w[i])
            w[i] = (-others + math.sqrt(others * others + 4.0 * s[i, i] * budget)) / (2 * s[i, i])
        if float(np.max(np.abs(w - previous))) < tolerance * float(np.max(w)):
            return (w / w.sum()).tolist()  # type: ignore[no-any-return]
    raise ValueError(f"risk parity: no convergence in {iterations} sweeps")


def mean_variance(means: Sequence[float], covariance: Matrix, *,
                  risk_aversion: float = 1.0) -> list[float]:
    """Long-only mean-variance weights (sum 1) for `risk_aversion` > 0.

    Raises:
        ValueError: a non-positive risk aversion, mismatched sizes, or a failed solve.
    """
    # Imported here: scipy costs ~0.3 s to import, and only this allocator needs it.
    from scipy.optimize import minimize  # type: ignore[import-untyped]

    if risk_aversion <= 0.0:
        raise ValueError(f"risk_aversion {risk_aversion}: must be > 0")
    mu = np.asarray(means, dtype=np.float64)
    s = np.asarray(covariance, dtype=np.float64)
    count = mu.size
    if s.shape != (count, count):
        raise ValueError(f"covariance shape {s.shape}: expected ({count}, {count})")

    def negative_utility(w: np.ndarray[tuple[int], np.dtype[np.float64]]) -> float:
        return float(-(w @ mu) + 0.5 * risk_aversion * (w @ s @ w))

    solution = minimize(negative_utility, np.full(count, 1.0 / count), method="SLSQP",
                        bounds=[(0.0, 1.0)] * count,
                        constraints=[{"type": "eq", "fun": lambda w: float(np.sum(w) - 1.0)}],
                        options={"ftol": 1e-15, "maxiter": 500})
    if not solution.success:
        raise ValueError(f"mean-variance: {solution.message}")
    weights = np.clip(np.asarray(solution.x, dtype=np.float64), 0.0, None)
    return (weights / weights.sum()).tolist()  # type: ignore[no-any-return]


def fixed_fractional(equity: float, fraction: float, unit_risk: float) -> float:
    """Units to hold so that losing `unit_risk` per unit costs `fraction` of `equity`.

    With `unit_risk` the price, this is the plain "put `fraction` of equity in it".
    """
    if equity < 0.0 or not 0.0 <= fraction <= 1.0 or unit_risk <= 0.0:
        raise ValueError(f"equity {equity}, fraction {fraction}, unit_risk {unit_risk}: "
                         "need equity >= 0, 0 <= fraction <= 1, unit_risk > 0")
    return equity * fraction / unit_risk


def kelly_fraction(win_rate: float, payoff_ratio: float, *, multiplier: float = 1.0) -> float:
    """The Kelly bet `p - (1 - p) / b` times `multiplier`, floored at 0 (no edge: no bet)."""
    if not 0.0 <= win_rate <= 1.0 or payoff_ratio <= 0.0:
        raise ValueError(f"win_rate {win_rate}, payoff_ratio {payoff_ratio}: need "
                         "0 <= win_rate <= 1 and payoff_ratio > 0")
    return max(win_rate - (1.0 - win_rate) / payoff_ratio, 0.0) * multiplier


def volatility_target(target: float, realized: float, *, max_leverage: float = 1.0) -> float:
    """The leverage that scales `realized` volatility to `target`, capped at `max_leverage`."""
    if target <= 0.0 or realized < 0.0 or max_leverage <= 0.0:
        raise ValueError(f"target {target}, realized {realized}: need target > 0, "
                         "realized >= 0, max_leverage > 0")
    return max_leverage if realized == 0.0 else min(target / realized, max_leverage)


def parametric_value_at_risk(weights: Sequence[float], covariance: Matrix,
                             confidence: float = 0.95) -> float:
    """One-period normal VaR of the weighted portfolio, a loss as a positive fraction."""
    w = np.asarray(weights, dtype=np.float64)
    variance = float(w @ np.asarray(covariance, dtype=np.float64) @ w)
    return NormalDist().inv_cdf(confidence) * math.sqrt(max(variance, 0.0))
