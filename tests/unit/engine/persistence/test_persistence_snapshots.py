"""The snapshot store on real SQLite files: kept rows, and every reason a snapshot is skipped."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest

from engine.events.system import SessionStarted
from engine.persistence import JournalWriter
from engine.persistence.snapshots import SnapshotStore, journal_anchor


async def make_journal(path: Path, records: int) -> None:
    async with JournalWriter(path) as journal:
        async with anyio.create_task_group() as group:
            await group.start(journal.run)
            for i in range(records):
                journal.append("system.session", SessionStarted(session=1, ts_event=i, ts_init=i),
                               is_input=True)
            await journal.flush()
            group.cancel_scope.cancel()


@pytest.mark.anyio
async def test_the_newest_valid_snapshot_is_found_and_bad_ones_are_skipped_with_reasons(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal.sqlite"
    await make_journal(journal, 5)
    store = SnapshotStore(tmp_path / "snapshots.sqlite", keep=3)
    for seq in (1, 2, 3, 4):
        anchor = journal_anchor(journal, seq)
        assert anchor is not None
        store.write(anchor, "fp", f"state {seq}".encode())
    assert store.seqs() == [2, 3, 4]  # the newest three kept

    with sqlite3.connect(store.path) as connection:
        connection.execute("UPDATE snapshots SET body = x'00' WHERE seq = 4")
        connection.execute("UPDATE snapshots SET fingerprint = 'other' WHERE seq = 3")
    row, reason = store.latest(journal, "fp")
    assert row is not None and row.anchor.seq == 2 and row.body == b"state 2"
    assert "seq 4: checksum mismatch" in reason and "seq 3: taken by a differently" in reason

    row, reason = store.latest(tmp_path / "other.sqlite", "fp")  # not this journal
    assert row is None and "no matching record" in reason
    assert store.latest(journal, "fp")[0] is not None
    assert SnapshotStore(tmp_path / "none.sqlite").latest(journal, "fp") == (
        None, f"no snapshot in {tmp_path / 'none.sqlite'}")
