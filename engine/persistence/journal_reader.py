"""Read the event journal back, checked: what recovery replays and the CLI exports.

Reading uses the stdlib `sqlite3` in read-only mode, so it can run beside a live writer
(WAL readers never block it) and never changes the file. Every record is checked before
it is yielded: its CRC, its payload decoding, and that its seq follows the previous
one. The first record that fails ends the read and is reported in `corruption`; every
record before it is yielded, so nothing committed before a torn write is lost. Recovery
then drops the bad tail with `truncate_after` before a new session appends.
"""

from __future__ import annotations

import logging
import sqlite3
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import msgspec

from engine.errors import JournalError
from engine.events.codec import decode_msgpack
from engine.persistence.journal_schema import (
    SCHEMA_VERSION,
    JournalCorruption,
    JournalRecord,
    SessionSummary,
)

__all__ = ("JournalReader", "truncate_after")

logger = logging.getLogger(__name__)

_SELECT: Final = (
    "SELECT seq, session, ts_init, topic, kind, is_input, crc, payload FROM journal"
    " WHERE seq >= ? ORDER BY seq LIMIT ?"
)
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

    def records(
        self,
        *,
        from_seq: int = 1,
        inputs_only: bool = False,
        kinds: Iterable[str] | None = None,
    ) -> Iterator[JournalRecord]:
        """Yield checked records from `from_seq` on, `chunk_size` rows per query.

        Filters apply after the checks: a bad record stops the read even when the
        filters would have left it out. Seq continuity is checked between the records
        read (from `from_seq` on), not before the first one.

        Raises:
            JournalError: the file is not a readable journal.
        """
        self.corruption = None
        wanted = None if kinds is None else frozenset(kinds)
        with self._connect() as connection:
            if connection is None:
                return
            expected: int | None = None
            next_seq = from_seq
            while rows := connection.execute(_SELECT, (next_seq, self.chunk_size)).fetchall():
                for seq, session, ts_init, topic, kind, is_input, crc, payload in rows:
                    reason = None
                    if expected is not None and seq != expected:
                        reason = f"seq gap: expected {expected}, found {seq}"
                    elif not isinstance(payload, bytes) or zlib.crc32(payload) != crc:
                        reason = "crc mismatch"
                    elif (not inputs_only or is_input) and (wanted is None or kind in wanted):
                        try:
                            message = decode_msgpack(payload)
                        except msgspec.DecodeError as error:  # ValidationError included
                            reason = f"undecodable payload: {error}"
                        else:
                            yield JournalRecord(
                                seq=seq, session=session, ts_init=ts_init, topic=topic,
                                kind=kind, is_input=bool(is_input), message=message,
                            )
                    if reason is not None:
                        self._stop_at(connection, seq, reason)
                        return
                    expected = seq + 1
                next_seq = rows[-1][0] + 1

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
        """Open read-only; yield None when there is no file or no journal table in it."""
        if not self.path.exists():
            yield None
            return
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        try:
            connection = sqlite3.connect(uri, uri=True)
        except sqlite3.Error as error:
            raise JournalError(f"journal {self.path}: cannot be opened: {error}") from error
        try:
            tables = {
                str(row[0])
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if "journal" not in tables:
                yield None
                return
            if "journal_meta" in tables:
                _check_version(self.path, connection)
            yield connection
        except sqlite3.DatabaseError as error:
            raise JournalError(f"journal {self.path}: cannot be read: {error}") from error
        finally:
            connection.close()


def _check_version(path: Path, connection: sqlite3.Connection) -> None:
    row = connection.execute(
        "SELECT value FROM journal_meta WHERE key = 'schema_version'"
    ).fetchone()
    if row is not None and str(row[0]) != str(SCHEMA_VERSION):
        raise JournalError(
            f"journal {path}: schema version {row[0]}: this build reads version {SCHEMA_VERSION}"
        )


def truncate_after(path: str | Path, seq: int) -> int:
    """Delete every record after `seq` and return how many went; a missing file is a no-op.

    Recovery calls this with the seq before a reported corruption, so the next writer
    session continues at `seq + 1`. Never call it while a writer has the file open.

    Raises:
        JournalError: the file is not a writable journal.
    """
    if seq < 0:
        raise ValueError(f"seq {seq}: must not be negative")
    target = Path(path)
    if not target.exists():
        return 0
    connection = sqlite3.connect(target)
    try:
        with connection:
            cursor = connection.execute("DELETE FROM journal WHERE seq > ?", (seq,))
        return cursor.rowcount
    except sqlite3.Error as error:
        raise JournalError(f"journal {target}: cannot truncate after seq {seq}: {error}") from error
    finally:
        connection.close()
