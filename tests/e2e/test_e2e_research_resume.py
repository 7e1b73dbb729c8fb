"""An interrupted `tradebus optimize` resumes where it stopped and ends as if never stopped.

Both ways a study stops: Ctrl-C (SIGINT: exit 130, a message) and `kill -9` (nothing
runs on the way out). Either leaves the last batch's trials RUNNING in SQLite; the same
command again finishes them with their stored parameters and goes on.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import optuna
import pytest

from api.compose import DEFAULT_BACKTEST_CONFIG as DEFAULT_CONFIG
from api.research.executors import ProcessExecutor
from api.research.optimize import load_job, optimize

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "adapters" / "data" / "sample" / "btcusdt_1m.csv"
STUDY = """
[optimize]
trials = 16
batch_size = 4
objectives = [{ metric = "sharpe_ratio" }]
sampler = { kind = "tpe", seed = 8, n_startup_trials = 8 }
pruner = { kind = "median", n_startup_trials = 4 }

[[optimize.params]]
kind = "int"
name = "fast_period"
low = 2
high = 20

[[optimize.params]]
kind = "int"
name = "slow_period"
low = 25
high = 80
"""

pytestmark = pytest.mark.e2e


def rows(study: optuna.Study) -> list[tuple[Any, ...]]:
    return [(t.number, t.state.name, t.params, t.values, t.intermediate_values)
            for t in study.trials]


def start(path: Path, output: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "optimize", str(path), "--output-dir", str(output),
         "--progress", "never"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group: the signal reaches the workers too
        # As from a terminal: SIGINT at its default (a runner started in the background
        # may pass it on ignored, and the study would not see the Ctrl-C at all).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_for_trials(database: Path, count: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if database.exists():
            try:
                with sqlite3.connect(database) as db:
                    done = db.execute(
                        "SELECT count(*) FROM trials WHERE state = 'COMPLETE'").fetchone()[0]
            except sqlite3.OperationalError:  # the tables are not there yet
                done = 0
            if done >= count:
                return int(done)
        time.sleep(0.02)
    raise TimeoutError(f"{database}: fewer than {count} trials after 60 s")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[Any, ...]]]:
    folder = tmp_path_factory.mktemp("resume")
    lines = SAMPLE.read_text().splitlines(keepends=True)
    (folder / "bars.csv").write_text("".join(lines[:6001]))
    path = folder / "study.toml"
    text = DEFAULT_CONFIG.read_text().replace('"sample:btcusdt_1m.csv"', '"bars.csv"')
    path.write_text(text + STUDY)
    with ProcessExecutor(2) as pool:
        study = optimize(load_job(path, output_dir=folder / "reference"), executor=pool)
    return path, rows(study)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_optimize_interrupted_then_rerun_matches_the_uninterrupted_study(
    reference: tuple[Path, list[tuple[Any, ...]]], tmp_path: Path, stop: signal.Signals
) -> None:
    path, expected = reference
    output = tmp_path / "out"
    process = start(path, output)
    wait_for_trials(output / "studies.sqlite", 5)

    os.killpg(process.pid, stop)
    _, stderr = process.communicate(timeout=60)
    with sqlite3.connect(output / "studies.sqlite") as db:
        states = [row[0] for row in db.execute("SELECT state FROM trials ORDER BY number")]
    resumed = subprocess.run(
        [sys.executable, "-m", "api.cli", "optimize", str(path), "--output-dir", str(output),
         "--progress", "never"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)

    # It really stopped mid-study (usually with a batch in flight, RUNNING; a signal that
    # lands between two batches leaves none: the in-process test covers that case).
    assert len(states) < 16 or "RUNNING" in states
    if stop is signal.SIGINT:
        assert process.returncode == 130, stderr[-3000:]
        assert "run the same command again to resume" in stderr
    assert resumed.returncode == 0, resumed.stderr
    study = optuna.load_study(study_name="demo-sma-cross",
                              storage=f"sqlite:///{output / 'studies.sqlite'}")
    assert rows(study) == expected
