"""Walk-forward and purged k-fold on real backtests: windows, no leakage, stitched curve."""

from __future__ import annotations

import math
from pathlib import Path

import optuna
import pytest
from research_files import sma_backtest

from adapters.data import sample_bars_path
from api.research.executors import ProcessExecutor
from api.research.optimize import load_job
from api.research.windowed import run_validation, run_walk_forward

pytestmark = pytest.mark.integration

STUDY = sma_backtest("windowed") + """
[optimize]
batch_size = 4
objectives = [{ metric = "total_return" }]
sampler = { kind = "random", seed = 2 }

[[optimize.params]]
kind = "int"
name = "fast_period"
low = 2
high = 8

[[optimize.params]]
kind = "int"
name = "slow_period"
low = 12
high = 40

[walk_forward]
in_sample = 240
out_of_sample = 120
gap = 5
trials = 4

[validation]
folds = 3
purge = 20
embargo = 10
trials = 4
"""
MINUTE_NS = 60_000_000_000


@pytest.fixture(scope="module")
def pool() -> ProcessExecutor:
    with ProcessExecutor(2) as executor:
        yield executor  # type: ignore[misc]


def write_study(folder: Path, bars: int = 600) -> Path:
    lines = sample_bars_path().read_text().splitlines(keepends=True)
    (folder / "bars.csv").write_text("".join(lines[: bars + 1]))
    path = folder / "study.toml"
    path.write_text(STUDY)
    return path


def test_walk_forward_tests_only_after_training_and_stitches(tmp_path: Path,
                                                              pool: ProcessExecutor) -> None:
    job = load_job(write_study(tmp_path), output_dir=tmp_path / "out")

    result = run_walk_forward(job, pool)

    assert [(s.train, s.test) for s in result.splits] == [
        ([(0, 240)], (245, 365)), ([(120, 360)], (365, 485)), ([(240, 480)], (485, 600))]
    for split in result.splits:
        ((_, train_end_ns),) = split.train_ns
        assert train_end_ns + 5 * MINUTE_NS == split.test_ns[0]  # the gap, then the test
        assert split.report["start_ns"] >= split.test_ns[0]
        assert split.report["end_ns"] < split.test_ns[1]
    stitched = result.stitched
    assert stitched is not None
    times = [ts for ts, _ in stitched.equity_curve]
    assert times == sorted(set(times))
    growth = math.prod(1.0 + s.report["total_return"] for s in result.splits)
    assert stitched.report.total_return == pytest.approx(growth - 1.0, abs=1e-12)


def test_walk_forward_in_sample_trials_never_read_the_test_window(
    tmp_path: Path, pool: ProcessExecutor
) -> None:
    job = load_job(write_study(tmp_path), output_dir=tmp_path / "out")

    result = run_walk_forward(job, pool)

    for split in result.splits:
        study = optuna.load_study(study_name=f"windowed-wf{split.index}",
                                  storage=job.storage_url)
        assert len(study.trials) == 4
        for trial in study.trials:
            (report,) = trial.user_attrs["reports"]
            assert report["end_ns"] < split.test_ns[0]


def test_validation_folds_train_around_purge_and_embargo(tmp_path: Path,
                                                         pool: ProcessExecutor) -> None:
    job = load_job(write_study(tmp_path), output_dir=tmp_path / "out")

    result = run_validation(job, pool)

    assert [(s.train, s.test) for s in result.splits] == [
        ([(210, 600)], (0, 200)), ([(0, 180), (410, 600)], (200, 400)),
        ([(0, 380)], (400, 600))]
    assert len(result.mean_out_of_sample) == 1
    for split in result.splits:
        for start_ns, end_ns in split.train_ns:
            assert end_ns <= split.test_ns[0] - 20 * MINUTE_NS or \
                start_ns >= split.test_ns[1] + 10 * MINUTE_NS
