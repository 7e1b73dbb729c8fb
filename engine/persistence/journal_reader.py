"""Read the event journal back, checked: what recovery replays and the CLI exports.

Reading uses the stdlib `sqlite3` in read-only mode, so it can run beside a live writer
(WAL readers never block it) and never changes the file. Every record is checked before
it is yielded: its CRC over every field (`record_crc`), its payload decoding, and that
its seq follows the previous one. The first record that fails ends the read and is
reported in `corruption`; every record before it is yielded. A file SQLite itself
cannot read (random bytes, a page cut off) raises `JournalDamaged` naming the last seq
read. Nothing here deletes anything: what to do with a damaged journal is the
operator's decision (`engine.persistence.journal_check`).
"""

from __future__ import annotations

import logging
import sqlite3
import struct
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import msgspec

from engine.errors import ForeignJournal, JournalDamaged
from engine.events.codec import decode_msgpack
from engine.persistence.journal_schema import (
    SCHEMA_VERSION,
    JournalCorruption,
    JournalRecord,
    SessionSummary,
    names_crc,
    record_crc,
)

__all__ = ("DAMAGE_ADVICE", "JournalReader", "check_version", "connect_read_only", "table_names")

DAMAGE_ADVICE: Final = (
    "run `tradebus journal verify` for a report, then `tradebus journal repair --yes` to keep "
    "the valid records (the original is kept as a backup), or restore the journal from a "
    "backup; the daemon will not start on it until then"
)

logger = logging.getLogger(__name__)

_SELECT: Final = (
    "SELECT seq, session, ts_init, topic, kind, is_input, crc, payload FROM journal"
    " WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?"
)
_LAST_SEQ: Final = (1 << 63) - 1
_SESSIONS: Final = """
SELECT s.session, s.first_seq, s.last_seq, f.ts_init, l.ts_init, s.records, s.inputs
FROM (
    SELECT session, min(seq) AS first_seq, max(seq) AS last_seq, count(*) AS records,
           sum(is_input) AS inputs
    FROM journal GROUP BY session
) AS s
JOIN journal AS f ON f.seq = s.first_seq
JOIN journal AS l ON l.seq = s.last_seq
ORDER BY s.session
"""


class JournalReader:
    """Stream a journal file's records in seq order; a missing file reads as empty.

    `corruption` is None after a clean read, or where the last `records` read stopped.
    """

    def __init__(self, path: str | Path, *, chunk_size: int = 1024) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size {chunk_size}: must be at least 1")
        self.path = Path(path)
        self.chunk_size = chunk_size
        self.corruption: JournalCorruption | None = None
        self.last_good_seq = 0
        """The last seq the last `records` read checked good (every record up to it)."""

    def records(
        self,
        *,
        from_seq: int = 1,
        through_seq: int = _LAST_SEQ,
        inputs_only: bool = False,
        kinds: Iterable[str] | None = None,
    ) -> Generator[JournalRecord, None, None]:
        """Yield checked records from `from_seq` through `through_seq` (default: the last),
        `chunk_size` rows per query.

        Filters apply after the checks: a bad record stops the read even when the
        filters would have left it out. Seq continuity is checked from `from_seq` on: a
        read after a snapshot at seq N (from N + 1) that finds N + 2 first reports N + 1
        missing, as a read from seq 1 would.

        Raises:
            JournalError: the file is not a readable journal.
        """
        self.corruption = None
        wanted = None if kinds is None else frozenset(kinds)
        with self._connect() as connection:
            if connection is None:
                return
            expected = next_seq = from_seq
            self.last_good_seq = from_seq - 1
            # A journal has few (topic, kind) pairs: each one's CRC and text made once.
            names: dict[tuple[object, object], _Names | None] = {}
            while rows := self._fetch(connection, next_seq, through_seq):
                for seq, session, ts_init, topic, kind, is_input, crc, payload in rows:
                    try:
                        named = names[topic, kind]
                    except KeyError:
                        named = names[topic, kind] = _names(topic, kind)
                    reason = _check(seq, session, ts_init, named, is_input, crc, payload,
                                    expected)
                    if reason is None and (not inputs_only or is_input) and (
                            wanted is None or named[2] in wanted):  # type: ignore[index]
                        try:
                            message = decode_msgpack(payload)
                        except msgspec.DecodeError as error:  # ValidationError included
                            reason = f"undecodable payload: {error}"
                        else:
                            yield JournalRecord(
                                seq=seq, session=session, ts_init=ts_init,
                                topic=named[1], kind=named[2],  # type: ignore[index]
                                is_input=bool(is_input), message=message,
                            )
                    if reason is not None:
                        self._stop_at(connection, expected if reason.startswith("seq gap")
                                      else seq, reason)
                        return
                    expected = seq + 1
                    self.last_good_seq = seq
                next_seq = rows[-1][0] + 1

    def _fetch(self, connection: sqlite3.Connection, next_seq: int,
               through_seq: int) -> list[tuple[Any, ...]]:
        try:
            rows: list[tuple[Any, ...]] = connection.execute(
                _SELECT, (next_seq, through_seq, self.chunk_size)).fetchall()
        except sqlite3.DatabaseError as error:
            raise JournalDamaged(
                f"journal {self.path}: unreadable after seq {next_seq - 1}: {error}",
                advice=DAMAGE_ADVICE) from error
        return rows

    def sessions(self) -> list[SessionSummary]:
        """Summarize each writer session, oldest first (from the columns: no CRC check)."""
        with self._connect() as connection:
            if connection is None:
                return []
            return [
                SessionSummary(
                    session=row[0], first_seq=row[1], last_seq=row[2], first_ts=row[3],
                    last_ts=row[4], records=row[5], inputs=int(row[6] or 0),
                )
                for row in connection.execute(_SESSIONS)
            ]

    def count(self) -> int:
        """Return how many records the file holds (checked or not)."""
        return self._scalar("SELECT count(*) FROM journal")

    def last_seq(self) -> int:
        """Return the highest seq in the file, 0 when empty."""
        return self._scalar("SELECT coalesce(max(seq), 0) FROM journal")

    def _scalar(self, sql: str) -> int:
        with self._connect() as connection:
            if connection is None:
                return 0
            return int(connection.execute(sql).fetchone()[0])

    def _stop_at(self, connection: sqlite3.Connection, seq: int, reason: str) -> None:
        skipped = int(
            connection.execute("SELECT count(*) FROM journal WHERE seq >= ?", (seq,)).fetchone()[0]
        )
        self.corruption = JournalCorruption(seq=seq, reason=reason, skipped=skipped)
        logger.warning(
            "journal %s: corrupt at seq %d (%s): %d records from there on not read",
            self.path, seq, reason, skipped,
        )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection | None]:
        """Open read-only; yield None when there is no file or no journal table in it.

        Raises:
            JournalDamaged: SQLite cannot read the file (not a database, malformed).
            ForeignJournal: another schema version wrote it.
        """
        if not self.path.exists():
            yield None
            return
        try:
            connection = connect_read_only(self.path)
            tables = table_names(connection)
        except sqlite3.DatabaseError as error:
            raise JournalDamaged(f"journal {self.path}: not a readable SQLite file: {error}",
                                 advice=DAMAGE_ADVICE) from error
        try:
            if "journal" not in tables:
                yield None
                return
            if "journal_meta" in tables:
                check_version(self.path, connection)
            yield connection
        except sqlite3.DatabaseError as error:
            raise JournalDamaged(f"journal {self.path}: cannot be read: {error}",
                                 advice=DAMAGE_ADVICE) from error
        finally:
            connection.close()


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only stdlib connection; TEXT comes back as bytes (a flipped bit that is not
    UTF-8 any more is a checksum mismatch, not a decoding error)."""
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    connection.text_factory = bytes
    return connection


def table_names(connection: sqlite3.Connection) -> set[str]:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {row[0].decode() if isinstance(row[0], bytes) else str(row[0]) for row in rows}


def check_version(path: Path, connection: sqlite3.Connection) -> None:
    """Refuse a journal another schema version wrote (version 1 is not migrated: its
    checksums do not cover the columns, so what they hold cannot be vouched for).

    Raises:
        ForeignJournal: naming the versions and what to do.
    """
    row = connection.execute(
        "SELECT value FROM journal_meta WHERE key = 'schema_version'"
    ).fetchone()
    if row is None:
        return
    stored = row[0].decode() if isinstance(row[0], bytes) else str(row[0])
    if stored != str(SCHEMA_VERSION):
        why = (" (its checksums cover the payload only, so its other columns cannot be "
               "vouched for)" if stored == "1" else "")
        raise ForeignJournal(
            f"journal {path}: schema version {stored}{why}: this build reads version "
            f"{SCHEMA_VERSION}",
            advice="start a new journal with `tradebus run --new-journal` (the old one is "
                   "moved aside under a timestamped name, not deleted), or use the tradebus "
                   "version that wrote it to read it")


_Names = tuple[int, str, str]
"""A record's topic and kind as checked: their `names_crc`, and the two as text."""


def _names(topic: object, kind: object) -> _Names | None:
    """`_Names` of a row's topic and kind columns; None when either is not text (bytes)."""
    if not (isinstance(topic, bytes) and isinstance(kind, bytes)):
        return None
    # The writer stores UTF-8: bytes that are not fail the CRC, which is what is reported.
    return (names_crc(topic, kind), topic.decode(errors="replace"),
            kind.decode(errors="replace"))


def _check(
    seq: int, session: object, ts_init: object, named: _Names | None,
    is_input: object, crc: object, payload: object, expected: int,
) -> str | None:
    """Why a row fails its checks, or None: seq order first, then the checksum."""
    if seq != expected:
        return f"seq gap: record {expected} is missing, the next is {seq}"
    # Exact types (what sqlite3 returns), tested the cheap way: this runs for every record.
    if named is None or not (type(session) is int and type(ts_init) is int
                             and type(is_input) is int and type(payload) is bytes
                             and type(crc) is int):
        return "crc mismatch: a column holds a value of the wrong type"
    try:
        actual = record_crc(seq, session, ts_init, named[0], is_input, payload)
    except struct.error:
        return "crc mismatch: a number out of range"
    if actual != crc:
        return "crc mismatch"
    return None
