"""Portfolio runs: two strategies on two instruments in one backtest, capital allocated."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from adapters.data import sample_bars_path
from api.research.executors import ProcessExecutor
from api.research.optimize import load_job
from api.research.portfolio import run_portfolio

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MAKE_BARS = ROOT / "tests" / "bench" / "canonical_bars.py"  # the project's own generator
PORTFOLIO = """
[backtest]
name = "pf"

[portfolio]
account_id = "SIM-001"
base_currency = "USDT"
starting_balances = { USDT = "1000000" }
equity_interval_ns = 600_000_000_000

[[instruments]]
symbol = "BTC/USDT"
base_currency = "BTC"
quote_currency = "USDT"
price_increment = "0.01"
size_increment = "0.001"
taker_fee = "0.001"

[[instruments]]
symbol = "ETH/USDT"
base_currency = "ETH"
quote_currency = "USDT"
price_increment = "0.01"
size_increment = "0.01"
taker_fee = "0.001"

[[data]]
kind = "csv"
path = "btc.csv"
instrument_id = "BTC/USDT.SIM"

[[data]]
kind = "csv"
path = "eth.csv"
instrument_id = "ETH/USDT.SIM"

[[strategies]]
id = "sma-btc"
class = "strategies.sma_cross:SmaCross"
[strategies.params]
instrument_id = "BTC/USDT.SIM"
fast_period = 5
slow_period = 20

[[strategies]]
id = "sma-eth"
class = "strategies.sma_cross:SmaCross"
[strategies.params]
instrument_id = "ETH/USDT.SIM"

[allocation]
calibration = 0.5
fraction = 0.5
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("portfolio")
    lines = sample_bars_path().read_text().splitlines(keepends=True)
    (folder / "btc.csv").write_text("".join(lines[:801]))
    subprocess.run([sys.executable, str(MAKE_BARS), "--bars", "800", "--seed", "7", "--out",
                    str(folder / "eth.csv")], check=True, capture_output=True)
    return folder


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessExecutor]:
    with ProcessExecutor(2) as executor:
        yield executor


def write(folder: Path, method: str, sizing: str = "fixed_fractional") -> Path:
    text = PORTFOLIO.replace("[allocation]\n",
                             f'[allocation]\nmethod = "{method}"\nsizing = "{sizing}"\n')
    path = folder / f"{method}-{sizing}.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("method", ["equal", "inverse_volatility", "risk_parity",
                                    "mean_variance"])
def test_portfolio_each_allocator_runs_both_strategies_in_one_backtest(
    folder: Path, pool: ProcessExecutor, method: str
) -> None:
    job = load_job(write(folder, method), output_dir=folder / method)

    result = run_portfolio(job, pool)

    weights = [a.weight for a in result.allocations]
    assert sum(weights) == pytest.approx(1.0)
    assert result.calibration_ns[1] <= result.evaluation_ns[0]
    traded = {fill.instrument_id for fill in result.run.fills}
    if min(weights) > 0.01:
        assert traded == {"BTC/USDT.SIM", "ETH/USDT.SIM"}
    assert result.run.report.start_ns >= result.evaluation_ns[0]
    for allocation, increment in zip(result.allocations, ("0.001", "0.01"), strict=True):
        assert Decimal(allocation.quantity) % Decimal(increment) == 0
    assert result.calibration_correlation[0][0] == 1.0
    assert result.parametric_value_at_risk_95 > 0.0
    if method == "equal":
        assert weights == [0.5, 0.5]
    if method == "risk_parity":
        assert [a.risk_contribution for a in result.allocations] == pytest.approx([0.5, 0.5])


def test_portfolio_is_deterministic_and_sizing_rules_apply(folder: Path,
                                                            pool: ProcessExecutor) -> None:
    fixed = run_portfolio(load_job(write(folder, "risk_parity"), output_dir=folder / "a"), pool)
    again = run_portfolio(load_job(write(folder, "risk_parity"), output_dir=folder / "b"), pool)
    targeted = run_portfolio(load_job(write(folder, "risk_parity", "volatility_target"),
                                      output_dir=folder / "c"), pool)

    assert msgspec.to_builtins(fixed.allocations) == msgspec.to_builtins(again.allocations)
    assert fixed.run.report == again.run.report
    assert [a.multiplier for a in fixed.allocations] == [0.5, 0.5]
    assert all(0.0 < a.multiplier <= 1.0 for a in targeted.allocations)


def test_portfolio_rebalances_on_the_window_just_before_each_period(
    folder: Path, pool: ProcessExecutor
) -> None:
    path = write(folder, "inverse_volatility")
    path.write_text(path.read_text().replace("[allocation]\n", "[allocation]\n"
                                             "rebalance_bars = 150\n"))

    result = run_portfolio(load_job(path, output_dir=folder / "rebalanced"), pool)

    periods = result.rebalances
    assert len(periods) == 3  # bars 400-550, 550-700, 700-800
    for earlier, later in zip(periods, periods[1:], strict=False):
        assert earlier.end_ns == later.start_ns
    for period in periods:
        assert period.calibration_ns[1] == period.start_ns  # estimated on the past only
    assert [p.allocations for p in periods][0] == result.allocations
    assert len({tuple(a.weight for a in p.allocations) for p in periods}) > 1  # re-estimated
    times = [ts for ts, _ in result.run.equity_curve]
    assert times == sorted(set(times))
    assert result.run.statistics["segments"] == 3
