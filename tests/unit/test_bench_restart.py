"""The benchmark's restart figures (tests/bench/restart_bench.py) come out of a small
journal: the script runs against the bundled paper config as it is today (an edit it
makes to that config no longer matching broke it once, unseen until the benchmark ran),
and restarts from the snapshot replay only what followed it. Its speed is measured only
by the benchmark."""

from __future__ import annotations

from bench_support import run_bench


def test_restart_bench_restarts_from_a_snapshot_and_in_full_on_a_small_journal() -> None:
    figures = run_bench("restart_bench.py", "--records", "6000", "--tail", "1000")

    assert figures["restart_journal_records"] >= 6000
    assert 0 < figures["restart_snapshot_seq"] < figures["restart_journal_records"]
    # From the snapshot: only the records journaled after it are replayed.
    assert figures["restart_records_after_snapshot"] == (
        figures["restart_journal_records"] - figures["restart_snapshot_seq"])
    assert figures["restart_verify_seconds"] is not None
    assert all(figures[key] > 0 for key in (
        "restart_seconds", "restart_seconds_full_replay", "restart_seconds_graceful"))
