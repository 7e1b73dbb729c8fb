"""Issue 7 end to end: `tradebus run` on a damaged or foreign journal refuses, says what
is wrong in one line (the seq, what is lost), exits 10 or 11, and changes nothing; the
operator's `journal verify` / `journal repair --yes` and `run --new-journal` decide.

One clean paper session makes the journal (a module fixture); each case copies it,
damages the copy the way a disk, an operator or a crash would, and runs the daemon as a
real subprocess on it.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from test_e2e_daemon_crash import (
    ROOT,
    daemon_command,
    journal_path,
    run_to_the_end,
    write_bars,
    write_config,
)

from engine.persistence import JournalReader
from engine.runtime import InstanceLock

pytestmark = pytest.mark.e2e

MIDDLE = 300  # the record each column flip damages: mid-journal, not the marked last one


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("base")
    config = write_config(folder / "daemon", write_bars(folder))
    run_to_the_end(config)
    return config.parent


def copy_of(base: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(base, tmp_path / "daemon"))


def run_daemon(folder: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = daemon_command(folder / "paper.toml")
    command["args"] = [*command["args"], *extra]
    return subprocess.run(**command, capture_output=True, text=True, timeout=120, check=False)


def cli(folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    command = daemon_command(folder / "paper.toml")
    command["args"] = [sys.executable, "-m", "api.cli", "journal", *argv,
                       "--journal", str(journal_path(folder))]
    return subprocess.run(**command, capture_output=True, text=True, timeout=120, check=False)


def fingerprint(folder: Path) -> dict[str, str]:
    """Every journal file of the data dir and its SHA-256: what a refusal must not change
    (the -shm index and an empty -wal, which a read-only reader may make, hold nothing)."""
    return {file.name: hashlib.sha256(file.read_bytes()).hexdigest()
            for file in sorted((folder / "tradebus-data").glob("journal*"))
            if not file.name.endswith("-shm") and file.stat().st_size > 0}


def execute(path: Path, sql: str) -> None:
    with closing(sqlite3.connect(path)) as connection, connection:
        assert connection.execute(sql).rowcount == 1


def xor(column: str, bit: int) -> str:
    return f"({column} | {bit}) - ({column} & {bit})"


def flip_first_char(column: str) -> str:
    first = f"unicode(substr({column}, 1, 1))"
    return f"char({xor(first, 1)}) || substr({column}, 2)"


def flip_payload_on_disk(path: Path, seq: int) -> None:
    """Flip one bit of record `seq`'s payload in the database file's bytes."""
    with closing(sqlite3.connect(path)) as connection:
        payload = connection.execute("SELECT payload FROM journal WHERE seq = ?",
                                     (seq,)).fetchone()[0]
    data = bytearray(path.read_bytes())
    at = data.find(payload)
    assert at >= 0 and data.find(payload, at + 1) < 0
    data[at + len(payload) // 2] ^= 0x04
    path.write_bytes(bytes(data))


COLUMN_FLIPS = {
    "seq": f"UPDATE journal SET seq = {xor('seq', 1 << 30)} WHERE seq = {MIDDLE}",
    "session": f"UPDATE journal SET session = {xor('session', 2)} WHERE seq = {MIDDLE}",
    "ts_init": f"UPDATE journal SET ts_init = {xor('ts_init', 1 << 50)} WHERE seq = {MIDDLE}",
    "topic": f"UPDATE journal SET topic = {flip_first_char('topic')} WHERE seq = {MIDDLE}",
    "kind": f"UPDATE journal SET kind = {flip_first_char('kind')} WHERE seq = {MIDDLE}",
    "is_input": f"UPDATE journal SET is_input = 1 - is_input WHERE seq = {MIDDLE}",
    "crc": f"UPDATE journal SET crc = {xor('crc', 1)} WHERE seq = {MIDDLE}",
}


def assert_refused(done: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """Exit `code`, no traceback, one stderr line holding every word; return that line."""
    assert done.returncode == code, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    lines = [line for line in done.stderr.splitlines() if all(word in line for word in words)]
    assert lines, done.stderr[-3000:]
    return lines[0]


@pytest.mark.parametrize("column", [*COLUMN_FLIPS, "payload (on disk)"])
def test_a_flipped_bit_in_any_column_is_refused_naming_the_seq(
    base: Path, tmp_path: Path, column: str
) -> None:
    folder = copy_of(base, tmp_path)
    path = journal_path(folder)
    total = JournalReader(path).count()
    if column in COLUMN_FLIPS:
        execute(path, COLUMN_FLIPS[column])
    else:
        flip_payload_on_disk(path, MIDDLE)
    before = fingerprint(folder)

    done = run_daemon(folder)

    line = assert_refused(done, 10, f"damaged at seq {MIDDLE}",
                          f"{total - MIDDLE + 1} committed records", "journal verify")
    assert ("seq gap" in line) if column == "seq" else ("crc mismatch" in line)
    assert fingerprint(folder) == before  # nothing committed was dropped


WRITER = """
import sys, time, anyio
from engine.events import TimerFired
from engine.persistence import JournalWriter

async def main() -> None:
    async with JournalWriter(sys.argv[1]) as journal:
        async with anyio.create_task_group() as group:
            await group.start(journal.run)
            last = 0
            for index in range(50):
                last = journal.append("system.clock", TimerFired(
                    ts_event=index, ts_init=index, name="extra", owner="test"))
            await journal.wait_committed(last)
            print(last, flush=True)
            await anyio.sleep(60)

anyio.run(main)
"""


def commit_into_the_wal_and_kill(path: Path) -> int:
    """Commit 50 more records in a child (into the -wal file, not yet checkpointed), then
    SIGKILL it so the WAL stays; return the last committed seq."""
    with subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT,
                          stdout=subprocess.PIPE, text=True,
                          env=daemon_command(path)["env"]) as child:
        try:
            assert child.stdout is not None
            last = int(child.stdout.readline())
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
    assert path.with_name(path.name + "-wal").stat().st_size > 0
    return last


@pytest.mark.parametrize("damage", ["wal deleted", "wal truncated"])
def test_committed_records_lost_with_the_wal_are_refused(
    base: Path, tmp_path: Path, damage: str
) -> None:
    folder = copy_of(base, tmp_path)
    path = journal_path(folder)
    last = commit_into_the_wal_and_kill(path)
    wal = path.with_name(path.name + "-wal")
    if damage == "wal deleted":
        wal.unlink()
        path.with_name(path.name + "-shm").unlink(missing_ok=True)
    else:
        with wal.open("r+b") as handle:
            handle.truncate(wal.stat().st_size // 2)
    before = fingerprint(folder)

    done = run_daemon(folder)

    assert_refused(done, 10, f"..{last} are missing", f"says seq {last} was committed")
    assert fingerprint(folder) == before


@pytest.mark.parametrize("damage", ["truncated", "emptied", "deleted", "random bytes"])
def test_a_cut_emptied_deleted_or_garbled_file_is_refused(
    base: Path, tmp_path: Path, damage: str
) -> None:
    folder = copy_of(base, tmp_path)
    path = journal_path(folder)
    last = JournalReader(path).last_seq()
    size = path.stat().st_size
    if damage == "truncated":
        with path.open("r+b") as handle:
            handle.truncate(size // 2)
    elif damage == "emptied":
        path.write_bytes(b"")
    elif damage == "deleted":
        path.unlink()
    else:
        path.write_bytes(random.Random(7).randbytes(size))
    before = fingerprint(folder)

    done = run_daemon(folder)

    if damage == "random bytes":
        words = ("not a readable SQLite file", f"records 1..{last} were committed")
    elif damage == "truncated":
        words = (f"{last}",)  # names what the mark says was committed, or the bad seq
    else:
        words = (f"records 1..{last} were committed", "all of them are lost")
    assert_refused(done, 10, "journal", *words)
    assert fingerprint(folder) == before
    assert path.exists() == (damage != "deleted")  # no new journal was started either


def test_verify_and_repair_round_trip_keeps_the_prefix_and_a_backup(
    base: Path, tmp_path: Path
) -> None:
    folder = copy_of(base, tmp_path)
    path = journal_path(folder)
    total = JournalReader(path).count()
    execute(path, COLUMN_FLIPS["crc"])
    original = hashlib.sha256(path.read_bytes()).hexdigest()

    verify = cli(folder, "verify")
    assert verify.returncode == 10, verify.stderr
    assert f"first bad seq {MIDDLE}; {total - MIDDLE + 1} records from there on" in verify.stdout

    unconfirmed = cli(folder, "repair")
    assert unconfirmed.returncode == 2 and "--yes" in unconfirmed.stderr
    assert f"repair keeps seq 1..{MIDDLE - 1}; drops {total - MIDDLE + 1} records from seq " \
           f"{MIDDLE} on (" in unconfirmed.stdout
    assert "bar " in unconfirmed.stdout  # counts by kind
    assert hashlib.sha256(path.read_bytes()).hexdigest() == original  # not touched

    with InstanceLock(folder / "tradebus-data", command="tradebus run"):  # a daemon runs
        locked = cli(folder, "repair", "--yes")
    assert_refused(locked, 12, "not repaired", "in use by pid")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == original  # not touched

    repaired = cli(folder, "repair", "--yes")
    assert repaired.returncode == 0, repaired.stderr
    [backup] = (folder / "tradebus-data").glob("journal.damaged-*.sqlite")
    assert hashlib.sha256(backup.read_bytes()).hexdigest() == original
    assert cli(folder, "verify").returncode == 0
    assert JournalReader(path).last_seq() == MIDDLE - 1

    resumed = run_daemon(folder)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    records = list(JournalReader(path).records())
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    assert records[MIDDLE - 1].session == 2  # the new session continues the kept prefix


def test_a_foreign_journal_is_refused_naming_the_difference_and_new_journal_keeps_it(
    base: Path, tmp_path: Path
) -> None:
    folder = copy_of(base, tmp_path)
    config = folder / "paper.toml"
    config.write_text(config.read_text().replace("fast_period = 10", "fast_period = 12", 1))
    before = fingerprint(folder)

    refused = run_daemon(folder)

    assert_refused(refused, 11, "written by another config",
                   "strategy sma-cross parameter fast_period: 10 in the journal, 12 in the config",
                   "--new-journal")
    assert fingerprint(folder) == before

    accepted = run_daemon(folder, "--new-journal")
    assert accepted.returncode == 0, accepted.stderr[-3000:]
    [old] = (folder / "tradebus-data").glob("journal.old-*.sqlite")
    assert hashlib.sha256(old.read_bytes()).hexdigest() == before["journal.sqlite"]
    assert {r.session for r in JournalReader(journal_path(folder)).records()} == {1}
