"""The benchmark's second workload (`bars_per_second_aggregated` in tests/bench/run.py):
the SMA cross on 5-minute bars the graph aggregates from the canonical 1-minute bars
makes exactly the fills and final equity of the bare loop's aggregation, at a small
size. (Its speed is measured only by the benchmark.)"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_aggregated_workload_matches_its_bare_loop(tmp_path: Path) -> None:
    run, canonical = load("run"), load("canonical_bars")
    csv_path = tmp_path / "bars.csv"
    with csv_path.open("w") as out:
        canonical.write_canonical_csv(out, 20_003, 42)  # not ending on a 5-minute boundary

    engine = run.engine_run(csv_path, timeframe="5m")
    opens, closes = run.load_lists(csv_path)
    fill_opens, aggregated = run.aggregate_lists(run.load_open_times(csv_path), opens, closes)
    fills, round_trips, equity = run.bare_loop(fill_opens, aggregated, closes[-1])

    assert len(aggregated) in {20_003 // 5, 20_003 // 5 + 1}
    assert engine["fills"] > 10
    assert (engine["fills"], engine["round_trips"]) == (fills, round_trips)
    assert abs(float(engine["final_equity"]) - equity) < 0.01
