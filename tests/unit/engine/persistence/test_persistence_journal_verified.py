"""The verified mark: where a restart's checksum pass begins, and when it is not trusted;
the checksum pass itself, in this process and as the child the journal audit runs."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from test_persistence_journal_check import START_NS, execute, write_journal

from engine.persistence import (
    JournalReader,
    VerifiedThrough,
    mark_verified,
    move_journal_aside,
    read_verified,
    scan_checksums,
    verify_from,
)
from engine.persistence.journal_verified import verified_path, write_verified

ROOT = Path(__file__).resolve().parents[4]


def journal_id(path: Path) -> str:
    with closing(sqlite3.connect(path)) as connection:
        return str(connection.execute(
            "SELECT value FROM journal_meta WHERE key = 'journal_id'").fetchone()[0])


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 20)
    return path


def test_a_marked_journal_is_checked_from_after_the_mark(journal: Path) -> None:
    assert verify_from(journal, journal_id(journal)) == 1  # never checked: from the start

    mark_verified(journal, journal_id(journal), 12)

    through = read_verified(journal)
    assert through is not None and through.seq == 12 and through.journal_id == journal_id(journal)
    assert verify_from(journal, journal_id(journal)) == 13


@pytest.mark.parametrize("mismatch", ["record changed", "record gone", "another journal",
                                      "garbled file", "unknown id"])
def test_a_mark_that_does_not_fit_the_file_means_checking_from_seq_1(
    journal: Path, mismatch: str
) -> None:
    mark_verified(journal, journal_id(journal), 12)
    known = journal_id(journal)
    if mismatch == "record changed":  # rewritten (or restored from another copy)
        execute(journal, "UPDATE journal SET crc = crc + 1 WHERE seq = 12")
    elif mismatch == "record gone":  # cut by a repair
        execute(journal, "DELETE FROM journal WHERE seq >= 10")
    elif mismatch == "another journal":
        write_verified(journal, VerifiedThrough(journal_id="00" * 16, seq=12, crc=0))
    elif mismatch == "garbled file":
        verified_path(journal).write_bytes(b"{not json")
    else:
        known = None  # type: ignore[assignment]

    assert verify_from(journal, known) == 1


def test_the_mark_moves_aside_with_its_journal(journal: Path) -> None:
    mark_verified(journal, journal_id(journal), 5)

    moved = move_journal_aside(journal, now_ns=START_NS)

    assert moved is not None and read_verified(moved) is not None
    assert not verified_path(journal).exists()


def test_scan_checks_a_range_and_names_the_first_bad_record(journal: Path) -> None:
    assert scan_checksums(journal, 1, 20).clean
    execute(journal, "UPDATE journal SET payload = payload || x'00' WHERE seq = 15")

    assert scan_checksums(journal, 1, 14).clean  # the damage is outside the range
    found = scan_checksums(journal, 3, 20)
    assert not found.clean and found.checked_through == 14
    assert found.corruption is not None and found.corruption.seq == 15


def test_a_read_from_a_seq_whose_record_is_gone_reports_the_gap(journal: Path) -> None:
    # A read after a snapshot at seq 9 starts at 10: a missing 10 is a gap, not a start.
    execute(journal, "DELETE FROM journal WHERE seq = 10")

    reader = JournalReader(journal)
    assert list(reader.records(from_seq=10)) == []
    assert reader.corruption is not None and reader.corruption.seq == 10
    assert "record 10 is missing" in reader.corruption.reason


def test_the_scan_runs_as_a_child_printing_its_outcome(journal: Path) -> None:
    execute(journal, "UPDATE journal SET crc = crc + 1 WHERE seq = 7")

    done = subprocess.run(
        [sys.executable, "-m", "engine.persistence.journal_scan", str(journal), "1", "20"],
        capture_output=True, text=True, timeout=60, check=False, cwd=ROOT)

    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["checked_through"] == 6
    assert outcome["corruption"]["seq"] == 7 and outcome["corruption"]["reason"] == "crc mismatch"
    usage = subprocess.run([sys.executable, "-m", "engine.persistence.journal_scan", "x"],
                           capture_output=True, text=True, timeout=60, check=False, cwd=ROOT)
    assert usage.returncode == 2 and "usage:" in usage.stderr
