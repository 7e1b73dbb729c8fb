"""`run_stress` on real backtests: Monte Carlo repeatable, the neighbourhood run, shocks bite."""

from __future__ import annotations

from pathlib import Path

import pytest
from research_files import sma_backtest

from adapters.data import sample_bars_path
from api.research.executors import ProcessExecutor
from api.research.optimize import load_job
from api.research.stress import run_stress

pytestmark = pytest.mark.integration

STUDY = sma_backtest("stress") + """
[optimize]
trials = 4
batch_size = 4
objectives = [{ metric = "total_return" }]
sampler = { kind = "random", seed = 9 }

[[optimize.params]]
kind = "int"
name = "fast_period"
low = 2
high = 6

[[optimize.params]]
kind = "int"
name = "slow_period"
low = 12
high = 30
step = 2

[stress]
paths = 300
seed = 3
radius = 1
volatility_factor = 4.0
volatility_bars = 100
"""


def test_stress_is_repeatable_and_every_part_ran(tmp_path: Path) -> None:
    lines = sample_bars_path().read_text().splitlines(keepends=True)
    (tmp_path / "bars.csv").write_text("".join(lines[:501]))
    (tmp_path / "study.toml").write_text(STUDY)
    job = load_job(tmp_path / "study.toml", output_dir=tmp_path / "out")

    with ProcessExecutor(2) as pool:
        first, best = run_stress(job, pool)
        second, _ = run_stress(job, pool)

    assert first == second
    assert first.monte_carlo is not None and first.monte_carlo.trades == len(best.trades)
    assert len(first.sensitivity) == 9  # 3 x 3 around the optimum
    assert first.params in [p.params for p in first.sensitivity]
    assert all(point.state == "complete" for point in first.sensitivity)
    shocks = {shock.scenario: shock.report for shock in first.shocks}
    assert shocks["baseline"]["total_return"] == pytest.approx(best.report.total_return)
    assert shocks["volatility"]["total_return"] != shocks["baseline"]["total_return"]
