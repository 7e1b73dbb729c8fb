"""The journal survives kill -9: every record committed before the kill reads back valid.

A child process journals N records, waits until they are durable, reports the last seq,
then keeps appending like a live feed (the flusher committing batches) until the parent
kills it with SIGKILL, most likely in the middle of a transaction. SQLite commits are atomic, so the
reader must return a clean, gap-free prefix holding at least the reported records. A
torn `-wal` file (its tail cut off) must also read back as a valid prefix.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from engine.errors import JournalDamaged
from engine.events import Bar
from engine.persistence import JournalReader, JournalRecord, check_journal
from engine.persistence.journal_schema import names_crc, record_crc

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = 500
WAL_GROWTH = 256 * 1024

CHILD = """
import sys
import anyio
from engine.persistence import JournalWriter
from engine.testing.factories import INSTRUMENT_ID, make_bars
from engine.topics import bars_topic

path, committed = sys.argv[1], int(sys.argv[2])
topic = bars_topic(INSTRUMENT_ID, "1m")
bars = make_bars([30_000.0 + i for i in range(committed)], start_ns=0)

async def main() -> None:
    async with JournalWriter(path) as journal:
        async with anyio.create_task_group() as group:
            await group.start(journal.run)
            last = 0
            for bar in bars:
                last = journal.append(topic, bar, is_input=True)
            await journal.wait_committed(last)
            print(last, flush=True)
            index = 0
            while True:  # a live feed; no flush: what is not committed yet is lost
                for _ in range(64):
                    journal.append(topic, bars[index % committed])
                    index += 1
                await anyio.sleep(0.0005)

anyio.run(main, backend="asyncio")
"""


def crash_child(path: Path) -> int:
    """Run the child until it reports its committed seq and has written more; kill -9 it."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(COMMITTED)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        committed = int(child.stdout.readline())
        # Let the flusher commit more (the WAL grows), so the kill lands amid writes.
        wal = wal_path(path)
        target = wal.stat().st_size + WAL_GROWTH
        deadline = time.monotonic() + 5.0
        while wal.stat().st_size < target and time.monotonic() < deadline:
            time.sleep(0.002)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    return committed


def wal_path(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def read_valid_prefix(path: Path) -> list[JournalRecord]:
    """Read every record, asserting they are a checked, gap-free prefix from seq 1."""
    reader = JournalReader(path)

    records = list(reader.records())

    assert reader.corruption is None
    assert [record.seq for record in records] == list(range(1, len(records) + 1))
    assert all(isinstance(record.message, Bar) for record in records)
    return records


def test_journal_crash_kill_9_keeps_every_committed_record(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"

    committed = crash_child(path)

    records = read_valid_prefix(path)
    assert committed == COMMITTED
    assert len(records) >= committed
    assert [record.is_input for record in records[:committed]] == [True] * committed


def test_journal_crash_torn_wal_tail_reads_back_a_valid_prefix(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    crash_child(path)
    before = len(read_valid_prefix(path))
    wal = wal_path(path)
    size = wal.stat().st_size if wal.exists() else 0
    if size == 0:
        pytest.skip("the killed writer left an empty WAL: nothing to tear")

    with wal.open("r+b") as handle:  # cut mid-frame, into committed transactions
        handle.truncate(size // 2 + 1001)

    records = read_valid_prefix(path)
    assert len(records) <= before
    with closing(sqlite3.connect(path)) as connection:
        rows = connection.execute("SELECT seq, session, ts_init, topic, kind, is_input, crc,"
                                  " payload FROM journal ORDER BY seq").fetchall()
    assert len(rows) == len(records)
    assert all(record_crc(seq, session, ts, names_crc(topic.encode(), kind.encode()), flag,
                          payload) == crc
               for seq, session, ts, topic, kind, flag, crc, payload in rows)
    if len(records) < before:  # committed records went with the WAL: the mark says so
        with pytest.raises(JournalDamaged, match="are missing"):
            check_journal(path)
