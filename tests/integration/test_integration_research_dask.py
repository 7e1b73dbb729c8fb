"""The Dask executor on a LocalCluster started here: the same trials as the process pool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest
from research_files import sma_backtest

from adapters.data import sample_bars_path
from api.research.executors import DaskExecutor, ProcessExecutor
from api.research.optimize import load_job, optimize

pytestmark = pytest.mark.integration

STUDY = sma_backtest("dask-study") + """
[optimize]
trials = 8
batch_size = 4
objectives = [{ metric = "sharpe_ratio" }]
sampler = { kind = "tpe", seed = 5, n_startup_trials = 4 }
pruner = { kind = "percentile", percentile = 25.0, n_startup_trials = 2, n_warmup_steps = 1 }

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
"""


def trial_rows(study: optuna.Study) -> list[tuple[Any, ...]]:
    return [(t.number, t.state.name, sorted(t.params.items()), t.values,
             sorted(t.intermediate_values.items()), t.user_attrs.get("reports"))
            for t in study.trials]


def test_dask_local_cluster_gives_the_process_pool_trials(tmp_path: Path) -> None:
    lines = sample_bars_path().read_text().splitlines(keepends=True)
    (tmp_path / "bars.csv").write_text("".join(lines[:601]))
    path = tmp_path / "study.toml"
    path.write_text(STUDY)

    with ProcessExecutor(2) as pool:
        local = optimize(load_job(path, output_dir=tmp_path / "pool"), executor=pool)
    with DaskExecutor(workers=2) as cluster:
        distributed = optimize(load_job(path, output_dir=tmp_path / "dask"), executor=cluster)
        workers = cluster.workers

    assert workers == 2
    assert len(local.trials) == 8
    assert {t.state.name for t in local.trials} == {"COMPLETE", "PRUNED"}  # pruning ran
    assert trial_rows(distributed) == trial_rows(local)


def test_dask_executor_reaches_a_running_scheduler_by_address(tmp_path: Path) -> None:
    from distributed import LocalCluster

    lines = sample_bars_path().read_text().splitlines(keepends=True)
    (tmp_path / "bars.csv").write_text("".join(lines[:401]))
    path = tmp_path / "study.toml"
    path.write_text(STUDY.replace("trials = 8", "trials = 4"))

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        with DaskExecutor(address=cluster.scheduler_address) as remote:
            study = optimize(load_job(path, output_dir=tmp_path), executor=remote)

    assert remote.workers == 1
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 4
