"""Monte Carlo over a backtest's trade sequence: how lucky was the order of the trades?

Each path replays the trades' net pnls (after fees) from the starting equity, either
reshuffled (`shuffle`: the same trades in another order, so the final equity is the
same and only the path, hence the drawdown, changes) or resampled with replacement
(`bootstrap`: final equity varies too). Seeded with `numpy.random.default_rng(seed)`:
the same seed gives the same paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec
import numpy as np

__all__ = ("MonteCarloResult", "trade_monte_carlo")

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


class MonteCarloResult(msgspec.Struct, frozen=True, kw_only=True):
    """Per-path final equity and max drawdown (a positive fraction), and their quantiles."""

    method: str
    seed: int
    paths: int
    trades: int
    final_equity: tuple[float, ...]
    max_drawdown: tuple[float, ...]
    final_equity_quantiles: dict[str, float]
    max_drawdown_quantiles: dict[str, float]
    probability_of_loss: float


def trade_monte_carlo(
    net_pnls: Sequence[float], starting_equity: float, *, paths: int = 1000,
    method: Literal["shuffle", "bootstrap"] = "bootstrap", seed: int = 0,
) -> MonteCarloResult:
    """Simulate `paths` equity paths from the trades' net pnls.

    Raises:
        ValueError: no trades, a non-positive starting equity or path count, an unknown
            method.
    """
    if not net_pnls:
        raise ValueError("net_pnls: no trades to resample")
    if starting_equity <= 0.0:
        raise ValueError(f"starting_equity {starting_equity}: must be > 0")
    if paths <= 0:
        raise ValueError(f"paths {paths}: must be > 0")
    rng = np.random.default_rng(seed)
    pnls = np.asarray(net_pnls, dtype=np.float64)
    if method == "shuffle":
        sequences = rng.permuted(np.tile(pnls, (paths, 1)), axis=1)
    elif method == "bootstrap":
        sequences = rng.choice(pnls, size=(paths, pnls.size), replace=True)
    else:
        raise ValueError(f"method {method!r}: must be 'shuffle' or 'bootstrap'")
    equity = np.concatenate(
        [np.full((paths, 1), starting_equity), starting_equity + np.cumsum(sequences, axis=1)],
        axis=1)
    peaks = np.maximum.accumulate(equity, axis=1)
    drawdowns = ((peaks - equity) / peaks).max(axis=1)
    finals = equity[:, -1]
    return MonteCarloResult(
        method=method, seed=seed, paths=paths, trades=int(pnls.size),
        final_equity=tuple(float(v) for v in finals),
        max_drawdown=tuple(float(v) for v in drawdowns),
        final_equity_quantiles=_quantiles(finals),
        max_drawdown_quantiles=_quantiles(drawdowns),
        probability_of_loss=float(np.mean(finals < starting_equity)),
    )


def _quantiles(values: np.ndarray[tuple[int], np.dtype[np.float64]]) -> dict[str, float]:
    return {f"p{round(q * 100):02d}": float(np.quantile(values, q)) for q in QUANTILES}
