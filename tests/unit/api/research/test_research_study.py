"""The study loop: every sampler, determinism across worker counts, pruning, resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import optuna
import pytest
from optuna.trial import TrialState

from api.research.executors import ProcessExecutor
from api.research.optimize import load_job, optimize, study_summary
from api.research.study import run_study
from engine.errors import ConfigError

SAMPLERS = {
    "grid": "",
    "random": "",
    "tpe": ", n_startup_trials = 4",
    "cmaes": ", n_startup_trials = 2, population_size = 4",
    "nsga2": ", population_size = 4",
}


def trial_rows(study: optuna.Study) -> list[tuple[Any, ...]]:
    return [(t.number, t.state.name, tuple(sorted(t.params.items())), t.values,
             tuple(sorted(t.intermediate_values.items())))
            for t in study.get_trials(deepcopy=False)]


def run_file(path: Path, executor: ProcessExecutor, output: Path) -> optuna.Study:
    return optimize(load_job(path, output_dir=output), executor=executor)


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_study_each_sampler_same_seed_gives_same_trials(
    sampler: str, research_file: Any, pool: ProcessExecutor, tmp_path: Path
) -> None:
    path = research_file(sampler=sampler, sampler_extra=SAMPLERS[sampler], trials=8)

    first = run_file(path, pool, tmp_path / "a")
    second = run_file(path, pool, tmp_path / "b")

    rows = trial_rows(first)
    assert len(rows) == 8
    assert all(state == "COMPLETE" for _, state, *_ in rows)
    assert rows == trial_rows(second)
    assert len({params for _, _, params, *_ in rows}) > 1  # it searched, not repeated


def test_study_one_worker_and_two_workers_give_same_trials(
    research_file: Any, pool: ProcessExecutor, tmp_path: Path
) -> None:
    path = research_file(sampler="tpe", trials=8,
                         optimize_extra='pruner = { kind = "median", n_startup_trials = 2 }')

    with ProcessExecutor(1) as single:
        alone = run_file(path, single, tmp_path / "one")
    shared = run_file(path, pool, tmp_path / "two")

    assert trial_rows(alone) == trial_rows(shared)


def test_study_grid_covers_every_point_and_stops(
    research_file: Any, pool: ProcessExecutor, tmp_path: Path
) -> None:
    path = research_file(sampler="grid", sampler_extra="", trials=500)
    job = load_job(path, output_dir=tmp_path)
    small = list(job.optimize.params)  # 3 x 3 points instead of the file's 11 x 10
    small = [msgspec.structs.replace(small[0], low=2, high=4),
             msgspec.structs.replace(small[1], low=20, high=30)]
    job.research = msgspec.structs.replace(
        job.research, optimize=msgspec.structs.replace(job.optimize, params=small))

    study = optimize(job, executor=pool)

    points = sorted(tuple(sorted(t.params.items())) for t in study.trials)
    assert len(points) == 9
    assert points == sorted({*points})


def test_study_threshold_pruner_stops_trials_early(
    research_file: Any, pool: ProcessExecutor, tmp_path: Path
) -> None:
    path = research_file(trials=4, optimize_extra=(
        'pruner = { kind = "threshold", lower = 1.0, n_warmup_steps = 0, checkpoints = 4 }'))

    study = run_file(path, pool, tmp_path)

    states = {t.state for t in study.trials}
    assert states == {TrialState.PRUNED}
    assert all(t.intermediate_values for t in study.trials)
    assert all(max(t.intermediate_values) < 4 for t in study.trials)  # before the end


class _Interrupt(Exception):
    pass


def test_study_interrupted_then_resumed_matches_uninterrupted(
    research_file: Any, pool: ProcessExecutor, tmp_path: Path
) -> None:
    path = research_file(sampler="tpe", trials=10, batch_size=4)
    reference = run_file(path, pool, tmp_path / "reference")
    job = load_job(path, output_dir=tmp_path / "resumed")
    told: list[int] = []

    def interrupt(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        told.append(trial.number)
        if len(told) == 6:  # mid second batch: two trials of it still RUNNING
            raise _Interrupt

    with pytest.raises(_Interrupt):
        optimize(job, executor=pool, on_trial=interrupt)
    stopped = optuna.load_study(study_name=job.study_name(), storage=job.storage_url)
    left_running = [t.number for t in stopped.trials if t.state is TrialState.RUNNING]
    resumed = optimize(load_job(path, output_dir=tmp_path / "resumed"), executor=pool)

    assert len(left_running) == 2
    assert trial_rows(resumed) == trial_rows(reference)


def test_study_run_study_when_budget_used_runs_nothing(
    research_file: Any, pool: ProcessExecutor, tmp_path: Path
) -> None:
    path = research_file(trials=4)
    job = load_job(path, output_dir=tmp_path)
    first = optimize(job, executor=pool)
    calls: list[int] = []

    again = run_study(job.plan(configs=lambda v: [job.config_text(v)], bars=400), pool,
                      on_trial=lambda s, t: calls.append(t.number))

    assert calls == []
    assert trial_rows(again) == trial_rows(first)


def test_study_trials_the_strategy_refuses_fail_with_the_reason(
    research_file: Any, pool: ProcessExecutor, tmp_path: Path
) -> None:
    path = research_file(trials=4, sampler="random", sampler_extra="")
    path.write_text(path.read_text().replace("low = 2\nhigh = 12", "low = 70\nhigh = 80"))

    study = run_file(path, pool, tmp_path)

    assert {t.state for t in study.trials} == {TrialState.FAIL}
    assert all("fast_period" in t.user_attrs["fail_reason"] for t in study.trials)


def test_study_summary_has_deflated_sharpe_and_pbo(
    research_file: Any, pool: ProcessExecutor, tmp_path: Path
) -> None:
    path = research_file(trials=8, objectives='{ metric = "sharpe_ratio" }')
    job = load_job(path, output_dir=tmp_path)
    study = optimize(job, executor=pool)

    summary = study_summary(study, job)

    overfitting = summary["overfitting"]
    assert overfitting["trials"] == 8
    assert 0.0 <= overfitting["deflated_sharpe_ratio"] <= 1.0
    assert 0.0 <= overfitting["probability_of_backtest_overfitting"] <= 1.0
    assert [t["number"] for t in summary["trials"]] == list(range(8))
    assert summary["best"][0]["values"] == [study.best_value]


def test_study_log_float_and_categorical_params_reach_the_strategy(
    research_file: Any, pool: ProcessExecutor, tmp_path: Path
) -> None:
    path = research_file(trials=6, sampler="random", sampler_extra="", extra=(
        '[[optimize.params]]\nkind = "float"\nname = "tolerance"\nlow = 1e-9\nhigh = 1e-7\n'
        'log = true\n\n[[optimize.params]]\nkind = "categorical"\nname = "quantity"\n'
        'choices = ["0.5", "2"]'))
    text = path.read_text().replace("low = 2\nhigh = 12", "low = 5\nhigh = 5")
    path.write_text(text.replace("low = 15\nhigh = 60", "low = 20\nhigh = 20"))

    study = run_file(path, pool, tmp_path)

    assert {t.state for t in study.trials} == {TrialState.COMPLETE}
    assert all(1e-9 <= t.params["tolerance"] <= 1e-7 for t in study.trials)
    fees = {t.params["quantity"]: t.user_attrs["reports"][0]["total_fees"] for t in study.trials}
    assert set(fees) == {"0.5", "2"}  # both chosen; same signals, 4x the size, 4x the fees
    assert fees["2"] == pytest.approx(4 * fees["0.5"])


def test_study_reopened_with_other_objectives_is_refused(
    research_file: Any, pool: ProcessExecutor, tmp_path: Path
) -> None:
    run_file(research_file(trials=4), pool, tmp_path)
    other = research_file(trials=4, objectives='{ metric = "max_drawdown", direction = '
                                               '"minimize" }', name="other.toml")

    with pytest.raises(ConfigError, match="directions"):
        run_file(other, pool, tmp_path)
