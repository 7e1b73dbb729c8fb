"""Join the out-of-sample equity curves of walk-forward windows into one curve.

Each window's backtest starts from the same capital; stitched, window k's curve is
scaled so it starts where window k - 1 ended: the curve of having traded every
out-of-sample segment one after the other, compounding.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ("stitch_equity_curves",)


def stitch_equity_curves(
    curves: Sequence[Sequence[tuple[int, float]]], starting_equity: float
) -> list[tuple[int, float]]:
    """Chain `curves` (each `(ts_ns, equity)` in time order) from `starting_equity`.

    A sample at or before the stitched curve's last time is dropped (a window's first
    sample often shares the previous window's last timestamp).

    Raises:
        ValueError: a non-positive starting equity or a curve starting at equity <= 0.
    """
    if starting_equity <= 0.0:
        raise ValueError(f"starting_equity {starting_equity}: must be > 0")
    stitched: list[tuple[int, float]] = []
    level = starting_equity
    for curve in curves:
        if not curve:
            continue
        first = float(curve[0][1])
        if first <= 0.0:
            raise ValueError(f"curve starting at {curve[0][0]}: equity {first} must be > 0")
        scale = level / first
        for ts_ns, equity in curve:
            if stitched and ts_ns <= stitched[-1][0]:
                continue
            stitched.append((ts_ns, float(equity) * scale))
        level = float(curve[-1][1]) * scale
    return stitched
