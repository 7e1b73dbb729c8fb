"""`tradebus walk-forward` and `tradebus validate` end to end: tables, files, SQLite rows."""

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
TABLES = """
[optimize]
trials = 4
batch_size = 4
objectives = [{ metric = "total_return" }]
sampler = { kind = "random", seed = 4 }
executor = { workers = 2 }

[[optimize.params]]
kind = "int"
name = "fast_period"
low = 3
high = 9

[[optimize.params]]
kind = "int"
name = "slow_period"
low = 15
high = 40

[walk_forward]
in_sample = 400
out_of_sample = 200
anchored = true

[validation]
folds = 3
purge = 30
embargo = 15
"""

pytestmark = pytest.mark.e2e


def tradebus(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", *arguments], cwd=ROOT,
                          capture_output=True, text=True, timeout=180, check=False)


def test_walk_forward_and_validate_commands_save_their_results(tmp_path: Path) -> None:
    lines = SAMPLE.read_text().splitlines(keepends=True)
    (tmp_path / "bars.csv").write_text("".join(lines[:1001]))
    text = DEFAULT_CONFIG.read_text().replace('"sample:btcusdt_1m.csv"', '"bars.csv"')
    (tmp_path / "study.toml").write_text(text + TABLES)
    out = tmp_path / "out"

    walked = tradebus("walk-forward", str(tmp_path / "study.toml"), "--output-dir", str(out),
                      "--progress", "never")
    validated = tradebus("validate", str(tmp_path / "study.toml"), "--output-dir", str(out),
                         "--progress", "never")

    assert walked.returncode == 0, walked.stderr
    assert validated.returncode == 0, validated.stderr
    assert "stitched out-of-sample" in walked.stdout
    walk = json.loads((out / "demo-sma-cross.walk-forward.json").read_text())
    assert [s["train"] for s in walk["splits"]] == [[[0, 400]], [[0, 600]], [[0, 800]]]
    assert walk["stitched"]["report"]["start_ns"] == walk["splits"][0]["test_ns"][0]
    folds = json.loads((out / "demo-sma-cross.validation.json").read_text())
    assert [s["test"] for s in folds["splits"]] == [[0, 334], [334, 667], [667, 1000]]
    assert (out / next(p.name for p in out.glob("*-walk-forward-*.html"))).stat().st_size
    with sqlite3.connect(out / "studies.sqlite") as db:
        kinds = [row[0] for row in db.execute("SELECT kind FROM research_documents")]
        studies = [row[0] for row in db.execute("SELECT study_name FROM studies ORDER BY 1")]
    with sqlite3.connect(out / "results.sqlite") as db:
        runs = [row[0] for row in db.execute("SELECT name FROM runs")]
    assert kinds == ["walk-forward", "validation"]
    assert studies == [f"demo-sma-cross-cv{i}" for i in range(3)] + [
        f"demo-sma-cross-wf{i}" for i in range(3)]
    assert runs == ["demo-sma-cross-walk-forward"]
