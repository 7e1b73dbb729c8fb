"""The benchmark's canonical data set, made here: no file outside this repository needed.

    python tests/bench/canonical_bars.py --bars 1000000 [--seed 42] --out bars.csv

The bars are the shared benchmark's definition (`../shared/bench/make_bars.py`, which
a clone from GitHub does not have): a seeded geometric random walk of one-minute
BTC/USDT bars from 2023-01-01T00:00:00Z, start price 30,000, per-minute log-return
sigma 0.0008; open is the previous close, high and low bracket open and close by a
half-sigma wick, volume is lognormal(1, 1) rounded to 4 places (at least 0.0001).
The draws (numpy's default generator: returns, upper wicks, lower wicks, volumes, in
that order) and the text (`%d,%.2f,%.2f,%.2f,%.2f,%.4f` after the header) are what
make the file byte-identical to the shared script's for the same seed and size; a
test checks it when ../shared is there (tests/unit/test_bench_canonical_bars.py). The
bundled sample (adapters/data/sample/btcusdt_1m.csv) is its first 20,000 bars, seed 42.

Needs numpy (the `dev` extra installs it).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import IO, Final

import numpy as np
from numpy.typing import NDArray

FIRST_OPEN_MS: Final = 1_672_531_200_000  # 2023-01-01T00:00:00Z
BAR_MS: Final = 60_000
START_PRICE: Final = 30_000.0
SIGMA: Final = 0.0008
HEADER: Final = "ts,open,high,low,close,volume"
ROW_FORMAT: Final = "%d,%.2f,%.2f,%.2f,%.2f,%.4f\n"
_ROWS_PER_WRITE: Final = 100_000


def canonical_columns(bars: int, seed: int = 42) -> dict[str, NDArray[np.float64]]:
    """The six columns of `bars` canonical bars (ts as float64 ms, as the text prints)."""
    if bars <= 0:
        raise ValueError(f"bars {bars}: must be > 0")
    draws = np.random.default_rng(seed)
    returns = draws.normal(0.0, SIGMA, bars)
    upper_wick = np.abs(draws.normal(0.0, SIGMA / 2, bars))
    lower_wick = np.abs(draws.normal(0.0, SIGMA / 2, bars))
    volume = np.maximum(np.round(draws.lognormal(1.0, 1.0, bars), 4), 0.0001)
    close = np.round(START_PRICE * np.exp(np.cumsum(returns)), 2)
    open_ = np.concatenate(([START_PRICE], close[:-1]))
    body_top = np.maximum(open_, close)
    body_bottom = np.minimum(open_, close)
    high = np.maximum(np.round(body_top * np.exp(upper_wick), 2), body_top)
    low = np.maximum(np.minimum(np.round(body_bottom * np.exp(-lower_wick), 2), body_bottom),
                     0.01)
    ts = (FIRST_OPEN_MS + BAR_MS * np.arange(bars, dtype=np.int64)).astype(np.float64)
    return {"ts": ts, "open": open_, "high": high, "low": low, "close": close,
            "volume": volume}


def write_canonical_csv(out: Path | IO[str], bars: int, seed: int = 42) -> None:
    """Write the canonical CSV of `bars` bars to a path or an open text file."""
    columns = canonical_columns(bars, seed)
    if isinstance(out, Path):
        with out.open("w", newline="") as handle:
            _write(handle, columns)
    else:
        _write(out, columns)


def _write(handle: IO[str], columns: dict[str, NDArray[np.float64]]) -> None:
    handle.write(HEADER + "\n")
    rows = np.column_stack(tuple(columns.values()))
    for start in range(0, len(rows), _ROWS_PER_WRITE):
        handle.write("".join(ROW_FORMAT % tuple(row)
                             for row in rows[start:start + _ROWS_PER_WRITE]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000, help="how many bars")
    parser.add_argument("--seed", type=int, default=42, help="the generator's seed")
    parser.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    arguments = parser.parse_args()
    write_canonical_csv(arguments.out, arguments.bars, arguments.seed)


if __name__ == "__main__":
    main()
