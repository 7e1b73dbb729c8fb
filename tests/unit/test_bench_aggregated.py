"""The benchmark's second workload (`bars_per_second_aggregated` in tests/bench/run.py):
the SMA cross on 5-minute bars the graph aggregates from the canonical 1-minute bars
makes exactly the fills and final equity of the bare loop's aggregation, at a small
size. (Its speed is measured only by the benchmark.)"""

from __future__ import annotations

from pathlib import Path

from bench_support import load_bench


def test_the_aggregated_workload_matches_its_bare_loop(tmp_path: Path) -> None:
    run, canonical = load_bench("run"), load_bench("canonical_bars")
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
