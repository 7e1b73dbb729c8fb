"""Journal integrity on real SQLite files: the all-field checksum, the high-water mark,
the config identity, verify, repair and moving a journal aside (issue 7)."""

from __future__ import annotations

import argparse
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import anyio
import pytest

from api.cli.journal import add_parser as add_journal_parser, run_journal
from engine.errors import ForeignJournal, JournalDamaged
from engine.persistence import (
    JournalIdentity,
    JournalReader,
    JournalWriter,
    check_journal,
    move_journal_aside,
    read_mark,
    repair_journal,
    verify_journal,
)
from engine.persistence.journal_mark import mark_path
from engine.testing.factories import INSTRUMENT_ID, make_bars
from engine.topics import bars_topic

START_NS = 1_672_531_200_000_000_000
IDENTITY = JournalIdentity.of({"account account_id": "PAPER-001",
                               "strategy sma-1 parameter fast": 10})


def write_journal(path: Path, count: int, identity: JournalIdentity | None = None) -> None:
    """Write `count` bar records (every other one an input) in one session."""

    async def write() -> None:
        async with JournalWriter(path, identity=identity) as journal:
            async with anyio.create_task_group() as group:
                await group.start(journal.run)
                for index, bar in enumerate(make_bars([30_000.0] * count, start_ns=START_NS)):
                    journal.append(bars_topic(INSTRUMENT_ID, "1m"), bar,
                                   is_input=index % 2 == 0)
                await journal.flush()
                group.cancel_scope.cancel()

    anyio.run(write, backend="asyncio")


def execute(path: Path, sql: str) -> None:
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(sql)


def xor(column: str, bit: int) -> str:
    return f"({column} | {bit}) - ({column} & {bit})"


FLIPS = {
    "session": f"session = {xor('session', 4)}",
    "ts_init": f"ts_init = {xor('ts_init', 1 << 50)}",  # 13 days: the clock jump
    "topic": "topic = 'c' || substr(topic, 2)",
    "kind": "kind = 'c' || substr(kind, 2)",
    "is_input": "is_input = 1 - is_input",
    "payload": "payload = substr(payload, 1, 10) || x'00' || substr(payload, 12)",
    "crc": f"crc = {xor('crc', 1)}",
}


@pytest.mark.parametrize("column", FLIPS)
def test_a_change_in_any_column_fails_the_checksum_at_its_seq(tmp_path: Path, column: str) -> None:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 10)
    execute(path, f"UPDATE journal SET {FLIPS[column]} WHERE seq = 6")
    reader = JournalReader(path, chunk_size=4)

    seqs = [record.seq for record in reader.records()]

    assert seqs == [1, 2, 3, 4, 5]
    assert reader.corruption is not None
    assert (reader.corruption.seq, reader.corruption.skipped) == (6, 5)
    assert reader.corruption.reason.startswith("crc mismatch")


def test_a_topic_no_longer_utf8_is_a_mismatch_not_a_decoding_error(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 3)
    execute(path, "UPDATE journal SET topic = CAST(x'ff626172' AS TEXT) WHERE seq = 2")
    reader = JournalReader(path)

    assert [record.seq for record in reader.records()] == [1]
    assert reader.corruption is not None and reader.corruption.reason == "crc mismatch"


def test_the_mark_follows_each_commit_and_survives_a_torn_slot(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 5)
    first = read_mark(path)
    write_journal(path, 3)
    second = read_mark(path)
    with closing(sqlite3.connect(path)) as connection:
        last_crc = connection.execute("SELECT crc FROM journal WHERE seq = 8").fetchone()[0]

    assert first is not None and second is not None
    assert (first.seq, second.seq, second.crc) == (5, 8, last_crc)
    assert second.generation > first.generation
    # Tear the newer slot: the older one (which claims less) is read.
    data = bytearray(mark_path(path).read_bytes())
    newer = 512 * (second.generation % 2)
    data[newer + 20] ^= 0xFF
    mark_path(path).write_bytes(bytes(data))
    fallback = read_mark(path)
    assert fallback is not None and fallback.generation == second.generation - 1
    # Both torn: unreadable, refused.
    mark_path(path).write_bytes(bytes(1024))
    with pytest.raises(JournalDamaged, match="high-water mark .* is unreadable"):
        read_mark(path)


def test_records_lost_after_the_mark_are_refused_naming_the_range(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 10)
    execute(path, "DELETE FROM journal WHERE seq > 7")  # as a lost -wal would leave it

    with pytest.raises(JournalDamaged, match=r"records 8\.\.10 are missing"):
        check_journal(path)
    with pytest.raises(JournalDamaged, match="records 8..10 are missing"):
        async_open(path)


def async_open(path: Path) -> None:
    async def open_writer() -> None:
        async with JournalWriter(path):
            pass

    anyio.run(open_writer, backend="asyncio")


@pytest.mark.parametrize("damage", ["emptied", "deleted", "mark deleted", "replaced"])
def test_a_lost_or_replaced_file_is_refused(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 4)
    if damage == "emptied":
        path.write_bytes(b"")
        expected = "empty .* records 1..4 were committed"
    elif damage == "deleted":
        path.unlink()
        expected = "missing, but .* records 1..4 were committed"
    elif damage == "mark deleted":
        mark_path(path).unlink()
        expected = "no high-water mark"
    else:
        other = tmp_path / "other.sqlite"
        write_journal(other, 4)
        path.unlink()
        other.rename(path)
        expected = "belongs to another journal"

    with pytest.raises(JournalDamaged, match=expected):
        check_journal(path)
    assert path.exists() == (damage != "deleted")


def test_a_journal_of_another_config_is_refused_naming_the_difference(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 3, IDENTITY)
    other = JournalIdentity.of({"account account_id": "PAPER-001",
                                "strategy sma-1 parameter fast": 12})

    check_journal(path, IDENTITY)
    with pytest.raises(ForeignJournal, match=r"strategy sma-1 parameter fast: 10 in the "
                                             r"journal, 12 in the config"):
        check_journal(path, other)
    with pytest.raises(ForeignJournal):
        write_journal(path, 1, other)
    assert JournalReader(path).count() == 3


def test_an_empty_journal_takes_the_new_config_identity(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 0, IDENTITY)
    other = JournalIdentity.of({"account account_id": "PAPER-002"})

    write_journal(path, 2, other)

    assert check_journal(path, other).identity == other


def test_a_version_1_journal_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 2)
    execute(path, "UPDATE journal_meta SET value = '1' WHERE key = 'schema_version'")

    with pytest.raises(ForeignJournal, match="schema version 1 .*checksums cover the payload "
                                             "only.*reads version 2") as caught:
        check_journal(path)
    assert "--new-journal" in caught.value.advice


def test_verify_reports_and_repair_keeps_the_prefix_with_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 10, IDENTITY)
    execute(path, "UPDATE journal SET crc = crc + 1 WHERE seq = 7")

    report = verify_journal(path)
    result = repair_journal(path, report, now_ns=START_NS)

    assert report.damaged
    assert (report.first_bad_seq, report.after_bad, report.valid_through) == (7, 4, 6)
    assert report.dropped_kinds == {"bar": 4}
    assert (result.kept_through, result.dropped) == (6, 4)
    backup = Path(result.backup)
    assert backup.name == "journal.damaged-20230101T000000Z.sqlite"
    assert JournalReader(backup).count() == 10  # the original, untouched
    assert not verify_journal(path).damaged
    assert check_journal(path, IDENTITY).last_seq == 6
    write_journal(path, 2, IDENTITY)  # the next session continues at 7
    assert [record.seq for record in JournalReader(path).records()] == list(range(1, 9))


def test_repair_accepts_records_lost_with_the_wal(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 10)
    execute(path, "DELETE FROM journal WHERE seq > 7")

    report = verify_journal(path)
    repair_journal(path, report, now_ns=START_NS)

    assert (report.missing, report.valid_through, report.first_bad_seq) == ((8, 10), 7, None)
    assert check_journal(path).last_seq == 7


def test_move_aside_renames_the_journal_and_its_companions(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 3)
    (tmp_path / "journal.sqlite-wal").write_bytes(b"")  # as a live one would have

    first = move_journal_aside(path, now_ns=START_NS)
    write_journal(path, 1)
    second = move_journal_aside(path, now_ns=START_NS)

    assert first is not None and second is not None
    assert first.name == "journal.old-20230101T000000Z.sqlite"
    assert second.name == "journal.old-20230101T000000Z-1.sqlite"
    assert mark_path(first).exists() and first.with_name(first.name + "-wal").exists()
    assert JournalReader(first).count() == 3 and not path.exists()
    assert move_journal_aside(path, now_ns=START_NS) is None


@pytest.fixture
def journal_cli() -> Iterator[Callable[..., int]]:
    parser = argparse.ArgumentParser(prog="tradebus")
    add_journal_parser(parser.add_subparsers(dest="command", required=True))
    yield lambda *argv: run_journal(parser.parse_args(["journal", *argv]))


def test_cli_verify_exits_0_clean_10_damaged_and_repair_needs_yes(
    tmp_path: Path, journal_cli: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 6)

    assert journal_cli("verify", "--journal", str(path)) == 0
    assert "status: clean" in capsys.readouterr().out
    execute(path, "UPDATE journal SET is_input = 1 - is_input WHERE seq = 4")
    assert journal_cli("verify", "--journal", str(path)) == 10
    out = capsys.readouterr().out
    assert "status: damaged: seq 4: crc mismatch" in out
    assert "first bad seq 4; 3 records from there on; valid through seq 3" in out
    assert journal_cli("repair", "--journal", str(path)) == 2
    captured = capsys.readouterr()
    assert "repair keeps seq 1..3; drops 3 records from seq 4 on (bar 3)" in captured.out
    assert "--yes" in captured.err and JournalReader(path).count() == 6
    assert journal_cli("repair", "--journal", str(path), "--yes") == 0
    assert journal_cli("verify", "--journal", str(path)) == 0
