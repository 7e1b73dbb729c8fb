"""Whether a journal may be opened, what is wrong with it, and the operator's remedies.

`check_journal` is what the daemon (and every `JournalWriter`) runs before it reads or
writes: the file is a readable journal of this schema version, holds every record its
high-water mark says was committed (`journal_mark`), and was written by the same config
(`JournalIdentity`). It is cheap (a few queries, no scan); each record's checksum is
checked as recovery reads it. Any failure raises (`JournalDamaged`, `ForeignJournal`)
with a message naming the seq and what is affected, and advice: nothing committed is
ever deleted or skipped here.

`verify_journal` is the full report (`tradebus journal verify`); `repair_journal` keeps
the valid prefix in a new file and keeps the original under a backup name (`tradebus
journal repair --yes`); `move_journal_aside` renames a journal and its companion files
so a new one can start (`tradebus run --new-journal`). Neither deletes a file.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections import Counter
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import msgspec

from engine.errors import ForeignJournal, JournalDamaged, JournalError
from engine.persistence.journal_mark import (
    MARK_SUFFIX,
    HighWaterMark,
    MarkWriter,
    mark_path,
    read_mark,
)
from engine.persistence.journal_reader import (
    DAMAGE_ADVICE,
    JournalReader,
    check_version,
    connect_read_only,
    table_names,
)
from engine.persistence.journal_schema import SCHEMA, SCHEMA_VERSION, JournalIdentity
from engine.persistence.journal_verified import VERIFIED_SUFFIX

__all__ = (
    "JournalFacts",
    "JournalReport",
    "RepairResult",
    "check_journal",
    "companion_files",
    "inspect_journal",
    "move_journal_aside",
    "prepare_journal",
    "refuse_partial_read",
    "repair_journal",
    "verify_journal",
)

logger = logging.getLogger(__name__)

_COMPANIONS: Final = ("-wal", "-shm", MARK_SUFFIX, VERIFIED_SUFFIX)
_FOREIGN_ADVICE: Final = (
    "run with the config that wrote this journal, or start a new journal with `tradebus run "
    "--new-journal` (the old one is moved aside under a timestamped name, not deleted)"
)


class JournalFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What a few queries tell about a journal file, before any record is read."""

    path: str
    exists: bool
    records: int = 0
    last_seq: int = 0
    journal_id: str | None = None
    identity: JournalIdentity | None = None
    mark: HighWaterMark | None = None
    problem: str | None = None
    """Why the file cannot be used as it is (the first found), None when it can."""
    foreign: bool = False
    """`problem` is a version the build does not read, not damage."""


def inspect_journal(path: Path) -> JournalFacts:
    """Gather `JournalFacts` about `path` (never raises on a bad file: it says so)."""
    where = str(path)
    mark_error: str | None = None
    try:
        mark = read_mark(path)
    except JournalDamaged as error:
        mark, mark_error = None, str(error)
    if not path.exists() or path.stat().st_size == 0:
        state = "missing" if not path.exists() else "empty (0 bytes)"
        return JournalFacts(path=where, exists=path.exists(), mark=mark,
                            problem=mark_error or _lost_everything(path, state, mark))
    try:
        with closing(connect_read_only(path)) as connection:
            tables = table_names(connection)
            if "journal" not in tables:
                return JournalFacts(path=where, exists=True, mark=mark, problem=mark_error
                                    or _lost_everything(path, "without records", mark))
            try:
                check_version(path, connection)
            except ForeignJournal as error:
                return JournalFacts(path=where, exists=True, mark=mark, problem=str(error),
                                    foreign=True)
            meta = _meta(connection) if "journal_meta" in tables else {}
            # Two queries: together SQLite scans the table (~110 ms at 1,000,000 records);
            # apart, the count walks the small kind index and the max is one rowid seek.
            (records,) = connection.execute("SELECT count(*) FROM journal").fetchone()
            (last_seq,) = connection.execute(
                "SELECT coalesce(max(seq), 0) FROM journal").fetchone()
            marked_crc = None
            if mark is not None and mark.seq > 0:
                row = connection.execute("SELECT crc FROM journal WHERE seq = ?",
                                         (mark.seq,)).fetchone()
                marked_crc = None if row is None else row[0]
    except sqlite3.DatabaseError as error:
        claimed = (f" (its high-water mark says records 1..{mark.seq} were committed)"
                   if mark is not None and mark.seq else "")
        return JournalFacts(path=where, exists=True, mark=mark,
                            problem=f"journal {path}: not a readable SQLite file: {error}"
                                    f"{claimed}")
    identity = meta.get("identity")
    facts = JournalFacts(
        path=where, exists=True, records=int(records), last_seq=int(last_seq),
        journal_id=meta.get("journal_id"), mark=mark,
        identity=msgspec.json.decode(identity, type=JournalIdentity) if identity else None,
    )
    return msgspec.structs.replace(
        facts, problem=mark_error or _mark_problem(path, facts, marked_crc))


def _meta(connection: sqlite3.Connection) -> dict[str, str]:
    return {bytes(key).decode(): bytes(value).decode()
            for key, value in connection.execute("SELECT key, value FROM journal_meta")}


def _lost_everything(path: Path, state: str, mark: HighWaterMark | None) -> str | None:
    if mark is None or mark.seq == 0:
        return None  # never written to: a first start
    return (f"journal {path}: {state}, but its high-water mark says records 1..{mark.seq} "
            "were committed: all of them are lost (the file was deleted, emptied or "
            "replaced)")


def _mark_problem(path: Path, facts: JournalFacts, marked_crc: int | None) -> str | None:
    mark = facts.mark
    if mark is None:
        if facts.records == 0:
            return None
        return (f"journal {path}: no high-water mark ({mark_path(path).name}) beside its "
                f"{facts.records} records: cannot tell whether committed records were lost")
    if facts.journal_id is not None and mark.journal_id != facts.journal_id:
        return (f"journal {path}: its high-water mark belongs to another journal (id "
                f"{mark.journal_id}, the file's is {facts.journal_id}): the file was replaced")
    if mark.seq == 0:
        return None
    if marked_crc is None:
        if facts.last_seq < mark.seq:
            return (f"journal {path}: records {facts.last_seq + 1}..{mark.seq} are missing: "
                    f"the high-water mark says seq {mark.seq} was committed, the journal "
                    f"ends at seq {facts.last_seq} (its -wal file lost or truncated, or the "
                    "file restored from an older copy)")
        return f"journal {path}: record {mark.seq}, which the high-water mark names, is missing"
    if marked_crc != mark.crc:
        return (f"journal {path}: record {mark.seq} is not the one committed (crc "
                f"{marked_crc}, the high-water mark says {mark.crc})")
    return None


def check_journal(path: Path, identity: JournalIdentity | None = None) -> JournalFacts:
    """Refuse a journal that lost committed records or is not this config's; return its facts.

    With `identity`, a journal holding records written by another config is refused
    (one that holds none takes the new identity when the writer opens it).

    Raises:
        JournalDamaged: unreadable, or committed records are missing (the mark says so).
        ForeignJournal: another schema version or another config wrote it.
    """
    facts = inspect_journal(path)
    if facts.problem is not None:
        if facts.foreign:
            raise ForeignJournal(facts.problem, advice=_FOREIGN_ADVICE)
        raise JournalDamaged(facts.problem, advice=DAMAGE_ADVICE)
    if identity is not None and facts.records > 0:
        if facts.identity is None:
            raise ForeignJournal(f"journal {path}: does not say which config wrote its "
                                 f"{facts.records} records", advice=_FOREIGN_ADVICE)
        differences = facts.identity.differences(identity)
        if differences:
            shown = "; ".join(differences[:5])
            more = f"; and {len(differences) - 5} more" if len(differences) > 5 else ""
            raise ForeignJournal(
                f"journal {path}: written by another config ({facts.records} records): "
                f"{shown}{more}", advice=_FOREIGN_ADVICE)
    return facts


class JournalReport(msgspec.Struct, frozen=True, kw_only=True):
    """`verify_journal`'s findings: what the file holds, and the first thing wrong."""

    facts: JournalFacts
    sessions: int
    valid_through: int
    """Every record 1..valid_through passed its checks (what a repair keeps)."""
    first_bad_seq: int | None
    reason: str | None
    after_bad: int
    """Records in the file from `first_bad_seq` on (a repair drops them)."""
    dropped_kinds: dict[str, int]
    missing: tuple[int, int] | None
    """A seq range the mark says was committed that the file does not hold at all."""

    @property
    def damaged(self) -> bool:
        return self.reason is not None

    def lines(self) -> list[str]:
        """The report as `tradebus journal verify` prints it."""
        facts = self.facts
        out = [f"journal {facts.path}"]
        if facts.identity is not None:
            out.append(f"written by config {facts.identity.digest[:16]}"
                       f" (journal id {facts.journal_id})")
        mark = facts.mark
        out.append(f"records {facts.records} (seq 1..{facts.last_seq}), sessions {self.sessions}")
        out.append(f"high-water mark: seq {mark.seq}" if mark is not None
                   else "high-water mark: none")
        if not self.damaged:
            out.append("status: clean")
            return out
        out.append(f"status: damaged: {self.reason}")
        if self.first_bad_seq is not None:
            out.append(f"first bad seq {self.first_bad_seq}; {self.after_bad} records from "
                       f"there on; valid through seq {self.valid_through}")
            if self.dropped_kinds:
                out.append("records from there on by kind: " + ", ".join(
                    f"{kind} {count}" for kind, count in sorted(self.dropped_kinds.items())))
        if self.missing is not None:
            out.append(f"committed but not in the file: seq {self.missing[0]}..{self.missing[1]}"
                       f" ({self.missing[1] - self.missing[0] + 1} records, kinds unknown)")
        return out


def verify_journal(path: Path) -> JournalReport:
    """Check every record of `path` (CRCs, seq order, payloads) and its mark. Read-only."""
    facts = inspect_journal(path)
    reader = JournalReader(path)
    reason = facts.problem
    first_bad: int | None = None
    try:
        for _ in reader.records():
            pass
        sessions = len(reader.sessions())
    except JournalError as error:
        reason = reason or str(error)
        first_bad = reader.last_good_seq + 1 if facts.records else None
        sessions = 0
    corruption = reader.corruption
    if corruption is not None:
        reason = f"seq {corruption.seq}: {corruption.reason}"
        first_bad = corruption.seq
    valid_through = reader.last_good_seq
    after_bad, kinds = _tail(path, first_bad) if first_bad is not None else (0, {})
    mark = facts.mark
    missing = None
    if mark is not None and mark.seq > max(valid_through, facts.last_seq):
        missing = (max(valid_through, facts.last_seq) + 1, mark.seq)
    return JournalReport(facts=facts, sessions=sessions, valid_through=valid_through,
                         first_bad_seq=first_bad, reason=reason, after_bad=after_bad,
                         dropped_kinds=kinds, missing=missing)


def _tail(path: Path, first_bad: int) -> tuple[int, dict[str, int]]:
    """How many records the file holds from `first_bad` on, by kind (as far as readable)."""
    try:
        with closing(connect_read_only(path)) as connection:
            kinds = Counter({bytes(kind).decode(errors="replace"): int(count) for kind, count in
                             connection.execute("SELECT kind, count(*) FROM journal WHERE seq"
                                                " >= ? GROUP BY kind", (first_bad,))})
    except sqlite3.DatabaseError:
        return 0, {}
    return sum(kinds.values()), dict(kinds)


class RepairResult(msgspec.Struct, frozen=True, kw_only=True):
    """What `repair_journal` did: kept 1..kept_through, dropped the rest, backed up."""

    kept_through: int
    dropped: int
    dropped_kinds: dict[str, int]
    missing: tuple[int, int] | None
    backup: str


def repair_journal(path: Path, report: JournalReport, *, now_ns: int) -> RepairResult:
    """Keep records 1..`report.valid_through` in a new journal at `path`; the original
    file (and its -wal, -shm and mark) is moved to a backup name, not deleted.

    The kept rows are copied as they are (their checksums stay valid); the new file keeps
    the journal's id and identity when they were readable, and a new mark names its
    last record. Never run it while a daemon has the journal open.

    Raises:
        JournalError: the new file cannot be written (the original is then back in place).
    """
    backup = move_journal_aside(path, now_ns=now_ns, label="damaged")
    if backup is None:
        raise JournalError(f"journal {path}: no such file to repair")
    facts = report.facts
    journal_id = facts.journal_id or os.urandom(16).hex()
    try:
        with closing(sqlite3.connect(path, isolation_level=None)) as target:
            target.execute("PRAGMA journal_mode=WAL")
            target.executescript(SCHEMA)
            target.execute("BEGIN")
            meta = {"schema_version": str(SCHEMA_VERSION), "journal_id": journal_id}
            if facts.identity is not None:
                meta["identity"] = msgspec.json.encode(facts.identity).decode()
            target.executemany("INSERT INTO journal_meta VALUES (?, ?)", sorted(meta.items()))
            last_crc = _copy_prefix(backup, target, report.valid_through)
            target.execute("COMMIT")
    except (sqlite3.Error, OSError) as error:
        for suffix in ("", *_COMPANIONS):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        move_back = companion_files(backup)
        for file in move_back:
            file.rename(path.with_name(path.name + file.name[len(backup.name):]))
        raise JournalError(f"journal {path}: repair failed, the original is back: {error}"
                           ) from error
    writer = MarkWriter(path, journal_id)
    writer.open(report.valid_through, last_crc)
    writer.close()
    return RepairResult(kept_through=report.valid_through, dropped=report.after_bad,
                        dropped_kinds=report.dropped_kinds, missing=report.missing,
                        backup=str(backup))


def _copy_prefix(source: Path, target: sqlite3.Connection, through: int) -> int:
    """Copy rows 1..through from `source`; return the last one's crc (0 for none)."""
    if through == 0:
        return 0
    last_crc = 0
    with closing(connect_read_only(source)) as connection:
        cursor = connection.execute(
            "SELECT seq, session, ts_init, topic, kind, is_input, crc, payload FROM journal"
            " WHERE seq <= ? ORDER BY seq", (through,))
        while rows := cursor.fetchmany(1024):
            target.executemany("INSERT INTO journal VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               [(seq, session, ts_init, bytes(topic).decode(),
                                 bytes(kind).decode(), is_input, crc, payload)
                                for seq, session, ts_init, topic, kind, is_input, crc, payload
                                in rows])
            last_crc = rows[-1][6]
    return int(last_crc)


def companion_files(path: Path) -> list[Path]:
    """`path` and the files SQLite and the mark keep beside it, those that exist."""
    return [file for file in (path.with_name(path.name + suffix)
                              for suffix in ("", *_COMPANIONS)) if file.exists()]


def move_journal_aside(path: Path, *, now_ns: int, label: str = "old") -> Path | None:
    """Rename `path` and its companions to `<stem>.<label>-<UTC time><suffix>`; return
    the new main file's path, None when there was no journal. Deletes nothing.

    The -wal file moves with it (SQLite finds it by name), so the moved journal keeps
    every committed record and stays readable (`tradebus journal verify --journal`).
    """
    files = companion_files(path)
    if not files:
        return None
    stamp = datetime.fromtimestamp(now_ns // 1_000_000_000, tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    stem = f"{path.stem}.{label}-{stamp}"
    counter = 0
    while True:
        target = path.with_name(f"{stem}{f'-{counter}' if counter else ''}{path.suffix}")
        if not any(target.with_name(target.name + suffix).exists()
                   for suffix in ("", *_COMPANIONS)):
            break
        counter += 1
    for file in files:
        file.rename(target.with_name(target.name + file.name[len(path.name):]))
    return target


def prepare_journal(
    path: Path, identity: JournalIdentity | None, *, start_new: bool, now_ns: int
) -> JournalFacts:
    """What a daemon runs before recovery reads the journal: move the old journal aside
    when the operator asked for a new one (`start_new`), then `check_journal`.

    Raises:
        JournalDamaged, ForeignJournal: as `check_journal`.
    """
    if start_new:
        moved = move_journal_aside(path, now_ns=now_ns)
        if moved is not None:
            logger.warning("journal %s: moved aside to %s (a new journal was asked for); a "
                           "new journal starts", path, moved)
    return check_journal(path, identity)


def refuse_partial_read(reader: JournalReader) -> None:
    """Raise when the last read of `reader` stopped at a bad record: recovery replayed
    only the records before it, which is not the whole history, so the daemon must not
    go on (nor cut the journal there) without the operator.

    Raises:
        JournalDamaged: naming the seq, why, and how many committed records follow.
    """
    corruption = reader.corruption
    if corruption is not None:
        raise JournalDamaged(
            f"journal {reader.path}: damaged at seq {corruption.seq} ({corruption.reason}): "
            f"{corruption.skipped} committed records from there on cannot be replayed",
            advice=DAMAGE_ADVICE)
