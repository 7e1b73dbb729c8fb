"""The journal's on-disk layout and the value types its reader and writer speak.

One row per handled message, keyed by `seq` (1-based, strictly increasing across
sessions): the message as msgpack (`engine.events.codec`) with a CRC-32 of those bytes,
plus the columns a reader filters on without decoding (session, ts_init, topic, kind,
is_input). `journal_meta` holds the schema version; a journal written by a different
version is refused rather than misread. Changing a column is a new version; message
fields evolve by msgspec's rules inside the payload and need none.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Final, TypeAlias

import msgspec

from engine.events.codec import AnyMessage

__all__ = (
    "COMMIT_SECONDS_BUCKETS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "JournalCorruption",
    "JournalRecord",
    "JournalStatistics",
    "Row",
    "SessionSummary",
    "insert_statements",
)

SCHEMA_VERSION: Final = 1
"""The layout version stored under `schema_version` in `journal_meta`."""

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY,
    session INTEGER NOT NULL,
    ts_init INTEGER NOT NULL,
    topic TEXT NOT NULL,
    kind TEXT NOT NULL,
    is_input INTEGER NOT NULL,
    crc INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_kind ON journal (kind);
CREATE TABLE IF NOT EXISTS journal_meta (key TEXT PRIMARY KEY, value TEXT);
"""

Row: TypeAlias = tuple[int, int, int, str, str, int, int, bytes]
"""One journal row in column order: seq, session, ts_init, topic, kind, is_input, crc, payload."""


# The most rows one INSERT binds: SQLite allows 32766 host parameters (999 before 3.32),
# 8 per row; a power of two, like every chunk, so few distinct statements get prepared.
_MAX_ROWS: Final = 2048 if sqlite3.sqlite_version_info >= (3, 32, 0) else 64


def insert_statements(batch: Sequence[Row]) -> Iterator[tuple[str, list[object]]]:
    """Yield (multi-row INSERT, flat parameters) covering `batch` in order.

    Not `executemany`: it steps once per row, and every step hands the GIL to the
    worker thread and back. When the event loop's thread is busy each hand-off waits
    out the interpreter's switch interval (5 ms), so a 4096-row batch took seconds
    and commits starved exactly under load. One statement per chunk steps once.
    Chunks are powers of two (at most 12 statements per batch), so the statements stay
    in sqlite3's statement cache.
    """
    start = 0
    while start < len(batch):
        size = min(_MAX_ROWS, 1 << ((len(batch) - start).bit_length() - 1))
        yield _insert_sql(size), [value for row in batch[start : start + size] for value in row]
        start += size


@lru_cache(maxsize=16)
def _insert_sql(rows: int) -> str:
    return "INSERT INTO journal VALUES " + ", ".join(("(?, ?, ?, ?, ?, ?, ?, ?)",) * rows)


class JournalRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One journaled message, decoded and checked. Its JSON form is the export format."""

    seq: int
    session: int
    ts_init: int
    topic: str
    kind: str
    is_input: bool
    message: AnyMessage


class JournalCorruption(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Where reading stopped: the first bad record and how many records it and its tail hold.

    `reason` starts with one of "crc mismatch", "undecodable payload" or "seq gap".
    """

    seq: int
    reason: str
    skipped: int


class SessionSummary(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One writer session: its seq range, the ts_init of its first and last record, counts."""

    session: int
    first_seq: int
    last_seq: int
    first_ts: int
    last_ts: int
    records: int
    inputs: int


COMMIT_SECONDS_BUCKETS: Final = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                  0.025, 0.05, 0.1, 0.25, 1.0)
"""Upper bounds (seconds) of the commit latency histogram the writer keeps."""


class JournalStatistics(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Counters of one writer session (what `api/metrics.py` exports)."""

    appended: int
    committed: int
    batches: int
    bytes_written: int
    pending: int
    max_batch: int
    session: int
    commit_seconds_buckets: tuple[int, ...] = ()
    """Commits that took at most each `COMMIT_SECONDS_BUCKETS` bound (cumulative)."""
    commit_seconds_sum: float = 0.0
    """Monotonic seconds spent in commits (the batch's INSERT to its COMMIT)."""
