"""Research test helpers: a small research file over the first bars of the bundled sample."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adapters.data import sample_bars_path
from api.research.executors import ProcessExecutor

BACKTEST = """
[backtest]
name = "sma-study"

[portfolio]
account_id = "SIM-001"
base_currency = "USDT"
starting_balances = {{ USDT = "1000000" }}
equity_interval_ns = 600_000_000_000

[[instruments]]
symbol = "BTC/USDT"
base_currency = "BTC"
quote_currency = "USDT"
price_increment = "0.01"
size_increment = "0.001"
taker_fee = "0.001"
maker_fee = "0.001"

[[data]]
kind = "csv"
path = "bars.csv"
instrument_id = "BTC/USDT.SIM"
timeframe = "1m"

[[strategies]]
id = "sma-cross"
class = "strategies.sma_cross:SmaCross"
[strategies.params]
instrument_id = "BTC/USDT.SIM"

[optimize]
trials = {trials}
batch_size = {batch_size}
objectives = [{objectives}]
sampler = {{ kind = "{sampler}", seed = {seed}{sampler_extra} }}
{optimize_extra}

[[optimize.params]]
kind = "int"
name = "fast_period"
low = 2
high = 12

[[optimize.params]]
kind = "int"
name = "slow_period"
low = 15
high = 60
step = 5
{extra}
"""

ResearchFactory = Callable[..., Path]


def write_bars(folder: Path, bars: int) -> Path:
    """The first `bars` rows of the bundled sample (20,000 one-minute bars, seed 42)."""
    lines = sample_bars_path().read_text().splitlines(keepends=True)
    path = folder / "bars.csv"
    path.write_text("".join(lines[: bars + 1]))
    return path


@pytest.fixture
def research_file(tmp_path: Path) -> ResearchFactory:
    """Write a research file (and its bars) into tmp_path; keyword arguments fill it in."""

    def make(
        *,
        bars: int = 400,
        trials: int = 8,
        batch_size: int = 4,
        sampler: str = "tpe",
        seed: int = 3,
        sampler_extra: str = ", n_startup_trials = 4",
        objectives: str = '{ metric = "total_return" }',
        optimize_extra: str = "",
        extra: str = "",
        name: str = "study.toml",
    ) -> Path:
        write_bars(tmp_path, bars)
        path = tmp_path / name
        path.write_text(BACKTEST.format(
            trials=trials, batch_size=batch_size, sampler=sampler, seed=seed,
            sampler_extra=sampler_extra, objectives=objectives,
            optimize_extra=optimize_extra, extra=extra,
        ))
        return path

    return make


@pytest.fixture(scope="session")
def pool() -> Iterator[ProcessExecutor]:
    """One two-process pool for every study test: starting workers is the slow part."""
    with ProcessExecutor(2) as executor:
        yield executor
