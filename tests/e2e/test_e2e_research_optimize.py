"""`tradebus optimize` end to end: a study in a subprocess, its files, then a resume."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from api.compose import DEFAULT_BACKTEST_CONFIG as DEFAULT_CONFIG

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "adapters" / "data" / "sample" / "btcusdt_1m.csv"
OPTIMIZE = """
[optimize]
study = "e2e"
trials = 6
batch_size = 3
objectives = [{ metric = "total_return" }, { metric = "max_drawdown", direction = "minimize" }]
sampler = { kind = "nsga2", seed = 11, population_size = 3 }
executor = { kind = "process", workers = 2 }

[[optimize.params]]
kind = "int"
name = "fast_period"
low = 2
high = 12

[[optimize.params]]
kind = "categorical"
name = "slow_period"
choices = [20, 40, 60]
"""

pytestmark = pytest.mark.e2e


def write_study(folder: Path) -> Path:
    lines = SAMPLE.read_text().splitlines(keepends=True)
    (folder / "bars.csv").write_text("".join(lines[:501]))
    text = DEFAULT_CONFIG.read_text().replace('"sample:btcusdt_1m.csv"', '"bars.csv"')
    path = folder / "study.toml"
    path.write_text(text + OPTIMIZE)
    return path


def run_optimize(path: Path, output: Path, progress: str = "never"
                 ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "optimize", str(path), "--output-dir", str(output),
         "--progress", progress],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )


def test_optimize_cli_runs_a_pareto_study_and_saves_it(tmp_path: Path) -> None:
    path = write_study(tmp_path)
    output = tmp_path / "out"

    done = run_optimize(path, output, progress="always")
    again = run_optimize(path, output)

    assert done.returncode == 0, done.stderr
    assert "e2e (2 workers)" in done.stdout  # the progress bar ...
    assert "6/6" in done.stdout and "pareto front so far" in done.stdout  # ... best so far
    summary = json.loads((output / "demo-sma-cross.study.json").read_text())
    assert summary["counts"]["complete"] == 6
    assert len(summary["trials"]) == 6 and summary["best"]
    assert all(len(trial["values"]) == 2 for trial in summary["trials"])
    with sqlite3.connect(output / "studies.sqlite") as db:
        stored = db.execute("SELECT count(*) FROM trials WHERE state = 'COMPLETE'").fetchone()
        documents = db.execute("SELECT kind, json_extract(document, '$.counts.complete') "
                               "FROM research_documents").fetchall()
    assert stored == (6,)
    assert documents == [("study", 6), ("study", 6)]  # one per invocation
    assert (output / "demo-sma-cross.best.toml").exists()
    listed = subprocess.run([sys.executable, "-m", "api.cli", "studies",
                             str(output / "studies.sqlite")], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=False)
    exported = subprocess.run([sys.executable, "-m", "api.cli", "studies",
                               str(output / "studies.sqlite"), "--export", "1"], cwd=ROOT,
                              capture_output=True, text=True, timeout=60, check=False)
    assert listed.returncode == 0 and "e2e" in listed.stdout and "study" in listed.stdout
    assert json.loads(exported.stdout)["counts"]["complete"] == 6
    assert again.returncode == 0, again.stderr  # resumed: the budget is used, nothing reruns
    assert json.loads((output / "demo-sma-cross.study.json").read_text())["trials"] == \
        summary["trials"]


def test_optimize_cli_bad_metric_exits_2_naming_the_field(tmp_path: Path) -> None:
    path = write_study(tmp_path)
    path.write_text(path.read_text().replace('metric = "total_return"', 'metric = "wins"'))

    done = run_optimize(path, tmp_path / "out")

    assert done.returncode == 2
    assert "$.optimize.objectives[0].metric" in done.stderr
