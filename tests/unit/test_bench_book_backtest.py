"""The benchmark's market maker workload (tests/bench/book_backtest.py) runs, at a tiny
size, and gives the same outcome twice (its speed is measured only by the benchmark)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def workload() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "book_backtest", ROOT / "tests" / "bench" / "book_backtest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_book_backtest_runs_every_delta_through_the_graph_deterministically() -> None:
    module = workload()
    deltas = module.make_deltas(3_000, 20)[:3_000]

    first = module.engine_run(deltas)
    second = module.engine_run(deltas)

    assert first["deltas"] == 3_000
    assert first["orders"] > 0
    assert [first[key] for key in ("orders", "fills", "final_equity")] == [
        second[key] for key in ("orders", "fills", "final_equity")]
    seconds, _, requotes = module.bare_loop(deltas)
    assert requotes > 0 and seconds > 0
