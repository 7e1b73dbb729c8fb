"""Restart time of the daemon's node from a long journal: from a snapshot, and in full.

    python tests/bench/restart_bench.py [--records 1000000] [--tail 100000]
    (run.py runs it in a child; --records 100000 for a quick look)

Builds the bundled paper config's node (SMA cross on the simulated venue, API off, no
recording) on a CSV of the bundled sample repeated end to end, and lets it journal: a
session with snapshots off runs until the journal holds `records - tail` records, a
start with snapshots on replays it all and stops at once (its stop snapshot is then the
newest), and a session with snapshots off journals `tail` records more, as a session
killed one snapshot interval after its last snapshot leaves it. (Snapshots are off
while the bulk is journaled because their cost grows with the state: see the report in
docs/daemon.md.) Each restart runs the node's `run()` until the session is RUNNING (recovery,
reconciliation, the session marker, the feeds started: its log line), then stops it:

- `restart_seconds`: snapshots on: the snapshot, then the `tail` records after it;
- `restart_seconds_full_replay`: snapshots off: every record replayed;
- `restart_seconds_graceful`: snapshots on, after a graceful stop (its own snapshot).

`restart_verify_seconds` is when the checksum pass over the journal (a thread beside
the restore and the tail replay, awaited before the session starts) was done;
`restart_feed_resumed_seconds` when the loop next turned after RUNNING (a CSV replay
feed reads up to where it resumes first, on the loop: the adapter's cost). The
journal is built in a temporary directory (about two minutes at 1,000,000 records).
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import anyio  # noqa: E402

from api.compose import DEFAULT_DAEMON_CONFIG, build_node, load_daemon_config  # noqa: E402
from engine.persistence import JournalReader  # noqa: E402
from engine.runtime import RunnerState, TradingNode  # noqa: E402

SAMPLE = ROOT / "adapters" / "data" / "sample" / "btcusdt_1m.csv"
MINUTE_MS = 60_000
VERIFIED = "records up to the snapshot at seq"
RUNNING = "running (paper mode"  # the node's log line as its state becomes RUNNING


def write_bars(path: Path, bars: int) -> None:
    """`bars` one-minute bars: the sample's rows again and again, each pass a later time."""
    header, *rows = SAMPLE.read_text().splitlines()
    span = len(rows) * MINUTE_MS
    with path.open("w") as out:
        out.write(header + "\n")
        for index in range(bars):
            ts, rest = rows[index % len(rows)].split(",", 1)
            out.write(f"{int(ts) + index // len(rows) * span},{rest}\n")


def write_config(folder: Path, bars: Path, *, snapshots: bool) -> Path:
    text = DEFAULT_DAEMON_CONFIG.read_text()
    for old, new in [
        ('path = "sample:btcusdt_1m.csv"', f'path = "{bars}"'),
        ("speed = 600.0", "speed = 1000000.0"),  # a bar every 60 us: the runner keeps up
        ("record = true", "record = false"),
        ("snapshot_interval_s = 60.0", f"snapshot_interval_s = {5.0 if snapshots else 0.0}"),
        ('log_format = "auto"', 'log_format = "text"'),
    ]:
        if old not in text:
            raise ValueError(f"edit {old!r}: not in the bundled paper config")
        text = text.replace(old, new, 1)
    path = folder / ("snapshots.toml" if snapshots else "full.toml")
    path.write_text(text + "\n[api]\nenabled = false\n")
    return path


def make_node(config_path: Path) -> TradingNode:
    config, file = load_daemon_config(config_path, environ={})
    return build_node(config, file=file, cwd=config_path.parent, environ={})


def journal_until(config_path: Path, records: int) -> None:
    """Run a session until its journal holds `records` records, then stop it gracefully."""
    node = make_node(config_path)
    journal = JournalReader(node.journal_path)

    async def main() -> None:
        async with anyio.create_task_group() as group:
            async def stop_at_size() -> None:
                # Polled from outside, as a supervisor would (the node has no such event).
                while journal.last_seq() < records:  # noqa: ASYNC110
                    await anyio.sleep(0.05)
                node.request_stop()

            group.start_soon(stop_at_size)
            await node.run()
            group.cancel_scope.cancel()

    anyio.run(main, backend="asyncio")


class _Seen(logging.Handler):
    """When a log line containing `text` was emitted (the node says what it did)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.at: float | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.at is None and self.text in record.getMessage():
            self.at = time.perf_counter()


def restart(config_path: Path, *, wait_verified: bool = False) -> dict[str, Any]:
    """Start a node on the journal, time it to RUNNING, then stop it gracefully."""
    node = make_node(config_path)
    verified, running = _Seen(VERIFIED), _Seen(RUNNING)
    logging.getLogger("engine.runtime.snapshots").addHandler(verified)
    logging.getLogger("engine.runtime.node").addHandler(running)
    timings: dict[str, Any] = {}

    async def main() -> None:
        async with anyio.create_task_group() as group:
            async def watch() -> None:
                while node.state is not RunnerState.RUNNING:  # noqa: ASYNC110 (polled: 1 ms)
                    await anyio.sleep(0.001)
                timings["seen"] = time.perf_counter()
                deadline = anyio.current_time() + 120
                while (wait_verified and verified.at is None  # noqa: ASYNC110
                       and anyio.current_time() < deadline):
                    await anyio.sleep(0.01)
                node.request_stop()

            timings["start"] = time.perf_counter()
            group.start_soon(watch)
            await node.run()
            group.cancel_scope.cancel()

    try:
        anyio.run(main, backend="asyncio")
    finally:
        logging.getLogger("engine.runtime.snapshots").removeHandler(verified)
        logging.getLogger("engine.runtime.node").removeHandler(running)
    report = node.recovery
    assert report is not None and report.poison is None and not report.stopped_early
    assert running.at is not None
    return {"seconds": running.at - timings["start"],
            # The feeds start with the session: a replay feed first skips (reads) the
            # items the journal holds, on the loop, before the watcher sees RUNNING.
            "feed_resumed_seconds": timings["seen"] - timings["start"],
            "verify_seconds": None if verified.at is None else verified.at - timings["start"],
            "records_replayed": report.records_read, "snapshot_seq": report.snapshot_seq,
            "snapshots": node.snapshots.statistics() if node.snapshots is not None else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--tail", type=int, default=100_000,
                        help="records journaled after the newest snapshot")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger().handlers[0].setLevel(logging.ERROR)  # the INFO below is for `_Seen`
    for name in ("engine.runtime.snapshots", "engine.runtime.node"):  # for `_Seen`
        logging.getLogger(name).setLevel(logging.INFO)
    with tempfile.TemporaryDirectory(prefix="tradebus-restart-") as directory:
        folder = Path(directory)
        bars = folder / "bars.csv"
        write_bars(bars, arguments.records + arguments.records // 10)  # not all become bars
        snapshots = write_config(folder, bars, snapshots=True)
        full = write_config(folder, bars, snapshots=False)
        started = time.perf_counter()
        journal_until(full, arguments.records - arguments.tail)
        first_start = restart(snapshots)  # a full replay, then the stop's snapshot
        journal_until(full, arguments.records)
        built = time.perf_counter() - started
        journal = folder / "tradebus-data" / "journal.sqlite"
        records = JournalReader(journal).last_seq()
        # A copy for the full replay: each restart journals a session of its own.
        shutil.copytree(folder / "tradebus-data", folder / "full-data")
        full_data = full.with_name("full-copy.toml")
        full_data.write_text(full.read_text().replace('data_dir = "tradebus-data"',
                                                      'data_dir = "full-data"'))
        from_snapshot = restart(snapshots, wait_verified=True)
        graceful = restart(snapshots)
        full_replay = restart(full_data)
    print(json.dumps({
        "restart_seconds": round(from_snapshot["seconds"], 3),
        "restart_seconds_full_replay": round(full_replay["seconds"], 3),
        "restart_seconds_graceful": round(graceful["seconds"], 3),
        "restart_feed_resumed_seconds": round(from_snapshot["feed_resumed_seconds"], 3),
        "restart_verify_seconds": (round(from_snapshot["verify_seconds"], 3)
                                   if from_snapshot["verify_seconds"] is not None else None),
        "restart_journal_records": records,
        "restart_records_after_snapshot": from_snapshot["records_replayed"],
        "restart_snapshot_seq": from_snapshot["snapshot_seq"],
        "restart_build_seconds": round(built, 1),
        "restart_first_start_seconds": round(first_start["seconds"], 3),
        # The stop snapshot the first start took: its size and how long it held the loop.
        "restart_snapshot_bytes": first_start["snapshots"].last_bytes,
        "restart_snapshot_capture_seconds": first_start["snapshots"].last_capture_seconds,
    }))


if __name__ == "__main__":
    main()
