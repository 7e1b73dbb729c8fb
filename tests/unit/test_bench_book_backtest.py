"""The benchmark's market maker workload (tests/bench/book_backtest.py) runs, at a tiny
size, and gives the same outcome twice (its speed is measured only by the benchmark)."""

from __future__ import annotations

from types import ModuleType

from bench_support import load_bench


def workload() -> ModuleType:
    return load_bench("book_backtest")


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
