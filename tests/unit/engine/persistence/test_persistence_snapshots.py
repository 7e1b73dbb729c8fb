"""The snapshot store on real SQLite files: kept rows, and every reason a snapshot is skipped."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest

from engine.events.system import SessionStarted
from engine.persistence import JournalWriter
from engine.persistence.snapshots import SnapshotStore, journal_anchor, journal_time


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


@pytest.mark.anyio
async def test_a_write_drops_the_rows_after_its_seq_of_another_history(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    await make_journal(journal, 5)
    store = SnapshotStore(tmp_path / "snapshots.sqlite", keep=3)
    for seq in (4, 5):  # an older journal's, moved aside for a new one
        store.write(journal_anchor(journal, seq) or pytest.fail(), "fp", b"old")

    store.write(journal_anchor(journal, 2) or pytest.fail(), "fp", b"new")

    assert store.seqs() == [2]


@pytest.mark.anyio
async def test_set_aside_renames_the_file_so_no_start_finds_it(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    await make_journal(journal, 2)
    store = SnapshotStore(tmp_path / "snapshots.sqlite")
    store.write(journal_anchor(journal, 2) or pytest.fail(), "fp", b"state")

    moved = store.set_aside("rejected")
    again = SnapshotStore(tmp_path / "snapshots.sqlite")
    again.write(journal_anchor(journal, 1) or pytest.fail(), "fp", b"state")

    assert moved == tmp_path / "snapshots.sqlite.rejected" and moved.exists()
    assert again.set_aside("rejected") == tmp_path / "snapshots.sqlite.rejected-1"
    assert SnapshotStore(tmp_path / "snapshots.sqlite").latest(journal, "fp")[0] is None
    assert SnapshotStore(tmp_path / "none.sqlite").set_aside("rejected") is None


@pytest.mark.anyio
async def test_journal_time_is_the_largest_ts_init_in_the_range(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    await make_journal(journal, 5)  # ts_init 0..4 at seq 1..5

    assert journal_time(journal, 1, 3) == 2
    assert journal_time(journal, 5, 9) is None


class FlakyConnect:
    """sqlite3.connect that fails `failures` times for the journal (as while another
    connection recovers its WAL), then connects."""

    def __init__(self, journal: Path, failures: int) -> None:
        self.journal, self.failures, self.calls = journal, failures, 0
        self.connect = sqlite3.connect

    def __call__(self, database: str, *args: object, **kwargs: object) -> sqlite3.Connection:
        if self.journal.name in str(database) and "snapshots" not in str(database):
            self.calls += 1
            if self.calls <= self.failures:
                raise sqlite3.OperationalError("database is locked")
        return self.connect(database, *args, **kwargs)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_a_journal_read_that_fails_for_a_moment_does_not_skip_a_good_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    journal = tmp_path / "journal.sqlite"
    await make_journal(journal, 3)
    store = SnapshotStore(tmp_path / "snapshots.sqlite")
    store.write(journal_anchor(journal, 3) or pytest.fail(), "fp", b"state")

    monkeypatch.setattr(sqlite3, "connect", FlakyConnect(journal, failures=2))
    row, reason = store.latest(journal, "fp")
    assert row is not None and row.anchor.seq == 3 and reason == ""

    monkeypatch.setattr(sqlite3, "connect", FlakyConnect(journal, failures=100))
    row, reason = store.latest(journal, "fp")
    assert row is None
    assert reason == ("snapshot at seq 3: the journal could not be read at seq 3 (database "
                      "is locked)")
