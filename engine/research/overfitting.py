"""Statistics of backtest overfitting: deflated Sharpe ratio and PBO (CSCV).

Searching many parameter sets and keeping the best inflates its Sharpe ratio; these say
by how much the best one should be believed.

* `probabilistic_sharpe_ratio` and `deflated_sharpe_ratio`: Bailey and López de Prado,
  "The Deflated Sharpe Ratio" (2014). The PSR is the probability that the true Sharpe
  exceeds a benchmark given the sample's length, skewness and kurtosis; the DSR is the
  PSR against the Sharpe the best of `trials` independent tries would reach by luck.
* `probability_of_backtest_overfitting`: Bailey, Borwein, López de Prado and Zhu, "The
  Probability of Backtest Overfitting" (2017), by combinatorially symmetric
  cross-validation: the share of in-sample/out-of-sample halvings in which the
  in-sample best lands below the out-of-sample median.

Sharpe ratios here are *per period* (not annualized): divide an annualized ratio by
`sqrt(periods_per_year)` first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations
from statistics import NormalDist

import msgspec

__all__ = (
    "OverfittingResult",
    "deflated_sharpe_ratio",
    "expected_maximum_sharpe",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
)

EULER_GAMMA = 0.5772156649015329
_normal = NormalDist()


def probabilistic_sharpe_ratio(
    sharpe: float, benchmark: float, observations: int, *, skewness: float = 0.0,
    kurtosis: float = 3.0,
) -> float:
    """P(true Sharpe > `benchmark`) for a per-period `sharpe` over `observations` returns.

    `kurtosis` is Pearson's (3 for a normal distribution), not the excess.

    Raises:
        ValueError: fewer than two observations, or moments that make the variance <= 0.
    """
    if observations < 2:
        raise ValueError(f"observations {observations}: need at least 2")
    variance = 1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if variance <= 0.0:
        raise ValueError(f"skewness {skewness}, kurtosis {kurtosis}: the Sharpe estimate's "
                         "variance is not positive")
    return _normal.cdf((sharpe - benchmark) * math.sqrt(observations - 1) / math.sqrt(variance))


def expected_maximum_sharpe(trial_sharpes: Sequence[float]) -> float:
    """The Sharpe the best of these trials would show by luck alone (the DSR's benchmark).

    `sqrt(V) * ((1 - g) * Z(1 - 1/N) + g * Z(1 - 1/(N e)))` with `V` the variance of the
    trials' Sharpe ratios, `N` their number and `g` the Euler-Mascheroni constant.
    """
    count = len(trial_sharpes)
    if count < 2:
        return 0.0
    average = math.fsum(trial_sharpes) / count
    variance = math.fsum((s - average) ** 2 for s in trial_sharpes) / (count - 1)
    first = _normal.inv_cdf(1.0 - 1.0 / count)
    second = _normal.inv_cdf(1.0 - 1.0 / (count * math.e))
    return math.sqrt(variance) * ((1.0 - EULER_GAMMA) * first + EULER_GAMMA * second)


def deflated_sharpe_ratio(
    sharpe: float, trial_sharpes: Sequence[float], observations: int, *,
    skewness: float = 0.0, kurtosis: float = 3.0,
) -> float:
    """The probability that the selected `sharpe` is real after `len(trial_sharpes)` tries."""
    return probabilistic_sharpe_ratio(sharpe, expected_maximum_sharpe(trial_sharpes),
                                      observations, skewness=skewness, kurtosis=kurtosis)


class OverfittingResult(msgspec.Struct, frozen=True, kw_only=True):
    """PBO and its ingredients: one logit per combination (> 0: the IS best did well OOS)."""

    probability: float
    combinations: int
    logits: tuple[float, ...]


def _sharpe(total: float, squares: float, count: int) -> float:
    if count < 2:
        return 0.0
    average = total / count
    variance = max(squares / count - average * average, 0.0) * count / (count - 1)
    return average / math.sqrt(variance) if variance > 0.0 else 0.0


def probability_of_backtest_overfitting(
    returns: Sequence[Sequence[float]], *, blocks: int = 8
) -> OverfittingResult:
    """PBO of choosing the best of `returns` (one per-period return series per trial).

    The periods are cut into `blocks` (even) equal blocks; for every choice of half of
    them as in-sample, the trial with the best in-sample Sharpe is ranked out-of-sample
    among all trials: `w = rank / (N + 1)`, logit `log(w / (1 - w))`. PBO is the share
    of logits <= 0. Ties go to the lower trial index, so the result is deterministic.

    Raises:
        ValueError: fewer than two trials, unequal lengths, an odd number of blocks, or
            fewer periods than blocks.
    """
    trials = len(returns)
    if trials < 2:
        raise ValueError(f"returns: {trials} trials, need at least 2")
    length = len(returns[0])
    if any(len(series) != length for series in returns):
        raise ValueError("returns: every trial needs the same number of periods")
    if blocks < 2 or blocks % 2:
        raise ValueError(f"blocks {blocks}: must be even and >= 2")
    if length < blocks:
        raise ValueError(f"returns: {length} periods, fewer than blocks {blocks}")
    size = length // blocks  # the remainder (at most blocks - 1 periods) is left out
    sums = [[math.fsum(s[b * size:(b + 1) * size]) for b in range(blocks)] for s in returns]
    squares = [[math.fsum(r * r for r in s[b * size:(b + 1) * size]) for b in range(blocks)]
               for s in returns]
    everything = range(blocks)
    logits: list[float] = []
    for chosen in combinations(everything, blocks // 2):
        rest = [b for b in everything if b not in chosen]
        count = size * len(chosen)
        inside = [_sharpe(sum(sums[t][b] for b in chosen), sum(squares[t][b] for b in chosen),
                          count) for t in range(trials)]
        outside = [_sharpe(sum(sums[t][b] for b in rest), sum(squares[t][b] for b in rest),
                           count) for t in range(trials)]
        best = max(range(trials), key=lambda t: (inside[t], -t))
        rank = 1 + sum(value < outside[best] for value in outside)
        relative = rank / (trials + 1)
        logits.append(math.log(relative / (1.0 - relative)))
    probability = sum(logit <= 0.0 for logit in logits) / len(logits)
    return OverfittingResult(probability=probability, combinations=len(logits),
                             logits=tuple(logits))
