"""The journal's on-disk layout and the value types its reader and writer speak.

One row per handled message, keyed by `seq` (1-based, strictly increasing across
sessions): the message as msgpack (`engine.events.codec`), the columns a reader filters
on without decoding (session, ts_init, topic, kind, is_input), and a CRC-32 over *every*
one of those fields (`record_crc`): a flipped bit in any column is found, not replayed.

`journal_meta` holds the schema version, the journal's own id (`journal_id`, made when
the file is created; the high-water mark names it, `journal_mark`) and the identity of
the config that writes it (`JournalIdentity`). A journal written by a different version
is refused rather than misread: version 1 checksummed the payload only. Changing a
column is a new version; message fields evolve by msgspec's rules inside the payload
and need none.
"""

from __future__ import annotations

import hashlib
import sqlite3
import struct
import zlib
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Final, TypeAlias

import msgspec

from engine.events.codec import AnyMessage

__all__ = (
    "COMMIT_SECONDS_BUCKETS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "JournalCorruption",
    "JournalIdentity",
    "JournalRecord",
    "JournalStatistics",
    "Row",
    "SessionSummary",
    "insert_statements",
    "names_crc",
    "record_crc",
    "text_names_crc",
)

SCHEMA_VERSION: Final = 2
"""The layout version stored under `schema_version` in `journal_meta` (1: the CRC covered
the payload only; 2: it covers every field)."""

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


_HEADER: Final = struct.Struct("<qqqB")


@lru_cache(maxsize=4096)
def names_crc(topic: bytes, kind: bytes) -> int:
    """The CRC-32 of a record's topic and kind as stored (UTF-8), each NUL-ended: the
    start of `record_crc`. Cached: a journal has few (topic, kind) pairs."""
    return zlib.crc32(b"%b\0%b\0" % (topic, kind))


@lru_cache(maxsize=4096)
def text_names_crc(topic: str, kind: str) -> int:
    """`names_crc` of a topic and kind as the writer has them (str)."""
    return names_crc(topic.encode(), kind.encode())


def record_crc(
    seq: int, session: int, ts_init: int, names: int, is_input: int, payload: bytes
) -> int:
    """The CRC-32 of one record's every field: `names` (`names_crc` of its topic and
    kind), then seq, session, ts_init and is_input (little-endian int64s and a byte),
    then the payload. The writer and the reader both call this.

    Raises:
        struct.error: a number outside int64 (a reader reports it as a mismatch).
    """
    return zlib.crc32(payload, zlib.crc32(_HEADER.pack(seq, session, ts_init, is_input), names))


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


class JournalIdentity(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Whose journal it is: the config fields a replay's history depends on, readable.

    `fields` maps a readable name ("strategy sma-1 parameter fast") to its value as
    canonical JSON; `digest` is the SHA-256 of the whole, sorted. Built by the
    composition root from the daemon config (the account, venues, instruments,
    strategies and their parameters; not the runtime, risk or feed settings, which an
    operator may change between sessions without changing what happened).
    """

    fields: dict[str, str]

    @classmethod
    def of(cls, fields: Mapping[str, object]) -> JournalIdentity:
        """Make an identity from plain values (each encoded as canonical JSON)."""
        return cls(fields={name: _canonical(value) for name, value in sorted(fields.items())})

    @property
    def digest(self) -> str:
        return hashlib.sha256(_canonical(self.fields).encode()).hexdigest()

    def differences(self, config: JournalIdentity) -> list[str]:
        """What differs from `config`, one phrase each, `self` being the journal's."""
        phrases: list[str] = []
        for name in sorted(self.fields.keys() | config.fields.keys()):
            journal, current = self.fields.get(name), config.fields.get(name)
            if journal == current:
                continue
            if current is None:
                phrases.append(f"{name}: {_readable(journal)} in the journal, not in the config")
            elif journal is None:
                phrases.append(f"{name}: not in the journal, {_readable(current)} in the config")
            else:
                phrases.append(f"{name}: {_readable(journal)} in the journal, "
                               f"{_readable(current)} in the config")
        return phrases


def _canonical(value: object) -> str:
    return msgspec.json.encode(value, order="sorted").decode()


def _readable(text: str | None) -> str:
    """A canonical JSON value as an operator reads it: strings without their quotes."""
    if text is None:
        return "-"
    value = msgspec.json.decode(text)
    return value if isinstance(value, str) else text
