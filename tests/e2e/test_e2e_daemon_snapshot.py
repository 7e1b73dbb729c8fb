"""Snapshots end to end: a paper session killed with SIGKILL restarts from its snapshot.

A paper session at 50,000x with snapshots every 0.2 s of real time is killed once its
journal holds half the bars and at least one periodic snapshot; the restart must say it
starts from a snapshot (its log line), replay only the journal after it, and end as an
uninterrupted run of the same config ends (fills, orders, positions, balances, every bar
once). A copy of the killed data dir whose snapshot was damaged (its checksum) must say
why it replays in full, and end the same.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from daemon_support import (
    bars_journaled,
    daemon_command,
    journal_fills,
    journal_path,
    read_journal,
    rebuild,
    write_bars,
    write_config,
)

pytestmark = pytest.mark.e2e

BARS = 3_000
SPEED = 50_000.0  # a one-minute bar every 1.2 ms: 3,000 bars in under 4 s
SNAPSHOTS_ON = (
    ("snapshot_interval_s = 60.0", "snapshot_interval_s = 0.2"),
)


def snapshot_file(folder: Path) -> Path:
    return folder / "tradebus-data" / "journal.snapshots.sqlite"


def snapshot_seqs(folder: Path) -> list[int]:
    """The seqs of the committed snapshots, read as another process sees them."""
    path = snapshot_file(folder)
    if not path.exists():
        return []
    try:
        with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=1) as connection:
            return [row[0] for row in connection.execute("SELECT seq FROM snapshots ORDER BY seq")]
    except sqlite3.OperationalError:  # the first write has not made the table yet
        return []


def run_to_the_end(config: Path) -> str:
    """Run the session until its feed ends; return its log (stderr)."""
    done = subprocess.run(**daemon_command(config), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr


def kill_mid_session(config: Path) -> None:
    """Start the session; SIGKILL it once half the bars and a snapshot are in."""
    process = subprocess.Popen(**daemon_command(config), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while bars_journaled(journal_path(config.parent)) < BARS // 2 or not snapshot_seqs(
                config.parent):
            assert process.poll() is None, "the session ended before it could be killed"
            assert time.monotonic() < deadline, "the session made no progress"
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def test_daemon_killed_restarts_from_its_snapshot_and_ends_as_uninterrupted(
    tmp_path: Path,
) -> None:
    bars = write_bars(tmp_path, BARS)
    reference_config = write_config(tmp_path / "reference", bars, speed=SPEED, record=False,
                                    edits=SNAPSHOTS_ON)
    run_to_the_end(reference_config)
    config = write_config(tmp_path / "killed", bars, speed=SPEED, record=False,
                          edits=SNAPSHOTS_ON)
    kill_mid_session(config)
    killed_at = len(read_journal(config.parent))
    snapshot_at = snapshot_seqs(config.parent)[-1]
    # The damaged copy: same journal, its snapshots' checksums wrong.
    damaged = tmp_path / "damaged"
    shutil.copytree(config.parent / "tradebus-data", damaged / "tradebus-data")
    damaged_config = write_config(damaged, bars, speed=SPEED, record=False, edits=SNAPSHOTS_ON)
    with sqlite3.connect(snapshot_file(damaged)) as connection:
        connection.execute("UPDATE snapshots SET crc = crc + 1")

    log = run_to_the_end(config)
    damaged_log = run_to_the_end(damaged_config)

    print(f"killed at {killed_at} records, the newest snapshot at seq {snapshot_at}")
    assert 0 < snapshot_at <= killed_at
    recovery = [line for line in log.splitlines() if "recovery" in line or "snapshot" in line]
    assert f"recovery: from the snapshot at seq {snapshot_at}" in log, recovery
    assert f"after the snapshot at seq {snapshot_at}" in log
    assert "checksum mismatch" in damaged_log and "the whole journal is replayed" in damaged_log
    assert "recovery: from the snapshot" not in damaged_log
    reference = read_journal(reference_config.parent)
    expected = rebuild(reference_config, reference)
    assert len(expected["fills"]) > 20  # the comparison covers a real session
    for folder, folder_config in ((config.parent, config), (damaged, damaged_config)):
        records = read_journal(folder)
        assert [r.message.ts_event for r in records if r.kind == "bar"] == [
            r.message.ts_event for r in reference if r.kind == "bar"]  # every bar once
        assert rebuild(folder_config, records) == expected
        assert journal_fills(records) == journal_fills(reference) == expected["fills"]
