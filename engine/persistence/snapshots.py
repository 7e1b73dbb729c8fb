"""The snapshot store: the node's state as of a journal seq, in a SQLite file beside the journal.

A snapshot is only a cache of what replaying the journal up to its seq rebuilds: recovery
starts from the newest one that checks out and replays the journal after it, so restart
time is bounded by the snapshot interval, not by history. One row per snapshot, keyed by
the journal seq it was taken after, holding the encoded state (msgpack, made by the
caller), its CRC-32, the format version, a fingerprint of what made it (the graph's
actors and configuration: a changed graph cannot reuse it) and the journal's anchor (the
CRC and time of the record at that seq: a different or truncated journal cannot either).

Anything that does not check out is skipped with its reason; `latest` says why none
was usable, and the caller replays in full. The store keeps the newest `keep` rows, and a
write at seq N drops every row after N: those belong to another history (a journal
moved aside for a new one, a snapshot that failed its checks), and left in place they
would crowd out this journal's. `set_aside` renames the file (kept, not deleted) when
the node must never start from it again. Every method is blocking: the node calls them
in a worker thread.
"""

from __future__ import annotations

import sqlite3
import time
import zlib
from contextlib import closing
from pathlib import Path
from typing import Any, Final

import msgspec

__all__ = (
    "SNAPSHOT_VERSION", "JournalAnchor", "SnapshotRow", "SnapshotStore", "journal_anchor",
    "journal_time",
)

SNAPSHOT_VERSION: Final = 1
"""The state format's version: bumped whenever an actor's snapshot Struct changes."""
_READ_ATTEMPTS: Final = 5
"""Tries of a journal read that fails for a moment (see `journal_anchor`)."""

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS snapshots (
    seq INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    anchor_crc INTEGER NOT NULL,
    ts_init INTEGER NOT NULL,
    crc INTEGER NOT NULL,
    body BLOB NOT NULL
)
"""


class JournalAnchor(msgspec.Struct, frozen=True, kw_only=True):
    """The journal record a snapshot was taken after: its seq, payload CRC and time."""

    seq: int
    crc: int
    ts_init: int


class SnapshotRow(msgspec.Struct, frozen=True, kw_only=True):
    """One stored snapshot, checked: the encoded state and the anchor it follows."""

    anchor: JournalAnchor
    body: bytes


def journal_anchor(journal_path: Path, seq: int) -> JournalAnchor | None:
    """The journal's record at `seq` as an anchor, or None if the journal has none there.

    A read that fails for a moment (a lock another connection holds while it recovers
    the WAL after a crash) is tried again: taken for "no such record", it made a restart
    skip a good snapshot and replay the whole journal.

    Raises:
        sqlite3.Error: the journal stayed unreadable.
    """
    if seq < 1 or not journal_path.exists():
        return None
    uri = f"{journal_path.resolve().as_uri()}?mode=ro"
    for attempt in range(1, _READ_ATTEMPTS + 1):
        try:
            with closing(sqlite3.connect(uri, uri=True)) as connection:
                row = connection.execute(
                    "SELECT crc, ts_init FROM journal WHERE seq = ?", (seq,)).fetchone()
            break
        except sqlite3.OperationalError:
            if attempt == _READ_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)  # in a worker thread: the loop never waits here
    return None if row is None else JournalAnchor(seq=seq, crc=int(row[0]), ts_init=int(row[1]))


def journal_time(journal_path: Path, after_seq: int, through_seq: int) -> int | None:
    """The largest `ts_init` of the journal's records after `after_seq` through
    `through_seq` (the time a replay holds there), None when it has none in that range."""
    uri = f"{journal_path.resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as connection:
        row = connection.execute("SELECT max(ts_init) FROM journal WHERE seq > ? AND seq <= ?",
                                 (after_seq, through_seq)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


class SnapshotStore:
    """Write, list and check snapshots in one SQLite file (made on first write)."""

    def __init__(self, path: Path, *, keep: int = 3) -> None:
        if keep < 1:
            raise ValueError(f"keep {keep}: must be at least 1")
        self.path = path
        self.keep = keep

    def write(self, anchor: JournalAnchor, fingerprint: str, body: bytes) -> None:
        """Store one snapshot (replacing one at the same seq) and drop all but the newest."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path)) as connection, connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(_SCHEMA)
            connection.execute(
                "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
                (anchor.seq, SNAPSHOT_VERSION, fingerprint, anchor.crc, anchor.ts_init,
                 zlib.crc32(body), body))
            connection.execute("DELETE FROM snapshots WHERE seq > ?", (anchor.seq,))
            connection.execute(
                "DELETE FROM snapshots WHERE seq NOT IN "
                "(SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)", (self.keep,))

    def set_aside(self, label: str) -> Path | None:
        """Rename the file (and SQLite's -wal/-shm beside it) to `<name>.<label>`, so no
        start uses it again; return the new name, None when there was no file."""
        if not self.path.exists():
            return None
        target = self.path.with_name(f"{self.path.name}.{label}")
        counter = 0
        while target.exists():
            counter += 1
            target = self.path.with_name(f"{self.path.name}.{label}-{counter}")
        for suffix in ("-wal", "-shm"):
            companion = self.path.with_name(self.path.name + suffix)
            if companion.exists():
                companion.rename(target.with_name(target.name + suffix))
        self.path.rename(target)
        return target

    def seqs(self) -> list[int]:
        """The journal seqs of the snapshots stored, oldest first."""
        rows = self._select("SELECT seq FROM snapshots ORDER BY seq")
        return [int(row[0]) for row in rows]

    def latest(self, journal_path: Path, fingerprint: str) -> tuple[SnapshotRow | None, str]:
        """The newest snapshot that checks out against the journal, or None and why not.

        Newest first; each one is skipped for a version other than this code's, a CRC
        mismatch, a fingerprint of another graph, or an anchor the journal does not
        hold (the journal is shorter, was replaced or truncated). The reason returned
        with a snapshot says which newer ones were skipped (empty when none was).
        """
        try:
            rows = self._select("SELECT seq, version, fingerprint, anchor_crc, ts_init, crc, "
                                "body FROM snapshots ORDER BY seq DESC")
        except sqlite3.Error as error:
            return None, f"the snapshot file {self.path} is unreadable ({error})"
        if not rows:
            return None, f"no snapshot in {self.path}"
        skipped: list[str] = []
        for seq, version, stored_fingerprint, anchor_crc, ts_init, crc, body in rows:
            reason = None
            if version != SNAPSHOT_VERSION:
                reason = f"format version {version}, this code reads {SNAPSHOT_VERSION}"
            elif not isinstance(body, bytes) or zlib.crc32(body) != crc:
                reason = "checksum mismatch"
            elif stored_fingerprint != fingerprint:
                reason = "taken by a differently configured graph"
            else:
                try:
                    anchor = journal_anchor(journal_path, int(seq))
                except sqlite3.Error as error:
                    reason = f"the journal could not be read at seq {seq} ({error})"
                else:
                    if anchor is None or anchor.crc != anchor_crc or anchor.ts_init != ts_init:
                        reason = f"the journal holds no matching record at seq {seq}"
                    else:
                        return SnapshotRow(anchor=anchor, body=body), "; ".join(skipped)
            skipped.append(f"snapshot at seq {seq}: {reason}")
        return None, "; ".join(skipped)

    def _select(self, sql: str) -> list[tuple[Any, ...]]:
        if not self.path.exists():
            return []
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            tables = {row[0] for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "snapshots" not in tables:
                return []
            return list(connection.execute(sql).fetchall())
