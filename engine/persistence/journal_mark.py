"""The journal's high-water mark: the last committed seq and its CRC, kept beside SQLite.

SQLite keeps a WAL journal consistent, but not complete: delete or truncate the `-wal`
file, empty or replace the database file, and it opens a shorter, perfectly valid
journal, and a restart would replay less than was committed without a word. The mark
is a small file next to the journal (`journal.sqlite.mark`) saying "records up to seq N
were committed, the last one with CRC C, in journal J" (J: the id the journal holds in
`journal_meta`); a journal that lacks record N, holds it with another CRC, or has
another id, has lost committed records, and `journal_check` says so.

Order of writes: the writer updates the mark only after a commit returned, so it never
claims a record that is not in the WAL (a crash between the two leaves the mark behind
the journal, which is harmless: what follows it is checked by its CRCs). With
`synchronous = "full"` the commit is on disk before the mark is written; with "normal" a
power loss can lose the last commits and the mark with them or not: if the mark
survives, the loss is reported, which is the truth.

Layout and cost: two 512-byte slots, written alternately with one `pwrite` each (no
rename, no fsync: a few microseconds per commit, on the commit path). Each slot carries
a generation number and its own CRC; the reader takes the valid slot with the higher
generation, so a write torn by a crash leaves the other slot, the previous mark, which
claims less and is safe. A sector (512 bytes) is written whole by disks, so a slot is
torn only by a crash mid-`pwrite`, which its CRC finds.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import Final

import msgspec

from engine.errors import JournalDamaged

__all__ = ("MARK_SUFFIX", "HighWaterMark", "MarkWriter", "mark_path", "read_mark")

MARK_SUFFIX: Final = ".mark"
_MAGIC: Final = b"TBHWMK02"
_SLOT: Final = 512
_BODY: Final = struct.Struct("<8s16sQqI")  # magic, journal id, generation, seq, record crc
_CHECKED: Final = struct.Struct(f"<{_BODY.size}sI")  # body, crc of the body


class HighWaterMark(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Records up to `seq` were committed to journal `journal_id`; record `seq` has `crc`."""

    journal_id: str
    seq: int
    crc: int
    generation: int


def mark_path(journal: Path) -> Path:
    """Where the mark of `journal` is: beside it, its name plus `.mark`."""
    return journal.with_name(journal.name + MARK_SUFFIX)


def read_mark(journal: Path) -> HighWaterMark | None:
    """The mark of `journal`, None when it has none.

    Raises:
        JournalDamaged: the mark file exists but neither slot is valid.
    """
    path = mark_path(journal)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise JournalDamaged(f"journal {journal}: its high-water mark {path} cannot be read: "
                             f"{error.strerror}", advice=_MARK_ADVICE) from error
    slots = [mark for mark in (_decode(data[offset:offset + _CHECKED.size])
                               for offset in (0, _SLOT)) if mark is not None]
    if not slots:
        raise JournalDamaged(
            f"journal {journal}: its high-water mark {path} is unreadable ({len(data)} bytes, "
            "no valid slot): cannot tell whether committed records were lost",
            advice=_MARK_ADVICE)
    return max(slots, key=lambda mark: mark.generation)


_MARK_ADVICE: Final = (
    "run `tradebus journal verify` to check the journal itself; `tradebus journal repair "
    "--yes` writes a new mark for the records it keeps (the original files are kept)"
)


def _decode(slot: bytes) -> HighWaterMark | None:
    if len(slot) != _CHECKED.size:
        return None
    body, crc = _CHECKED.unpack(slot)
    if zlib.crc32(body) != crc:
        return None
    magic, journal_id, generation, seq, record_crc = _BODY.unpack(body)
    if magic != _MAGIC:
        return None
    return HighWaterMark(journal_id=journal_id.hex(), seq=seq, crc=record_crc,
                         generation=generation)


class MarkWriter:
    """Keep a journal's mark: `write(seq, crc)` after each commit. One per open journal.

    Opened on an existing mark it continues its generations; `write` is one `pwrite`.
    """

    def __init__(self, journal: Path, journal_id: str) -> None:
        self.path = mark_path(journal)
        self._journal = journal
        self._id = bytes.fromhex(journal_id)
        self._fd: int | None = None
        self._generation = 0

    def open(self, seq: int, crc: int) -> None:
        """Open (or make) the mark file and mark `seq` (the journal's last record).

        Raises:
            OSError: the file cannot be made or written.
        """
        try:
            current = read_mark(self._journal)
        except JournalDamaged:
            current = None  # the opener checked the journal; this mark is rewritten
        self._generation = current.generation if current is not None else 0
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        self.write(seq, crc)

    def write(self, seq: int, crc: int) -> None:
        """Mark records up to `seq` committed (call it after the commit returned)."""
        if self._fd is None:
            raise RuntimeError(f"high-water mark {self.path}: not open")
        self._generation += 1
        body = _BODY.pack(_MAGIC, self._id, self._generation, seq, crc)
        os.pwrite(self._fd, _CHECKED.pack(body, zlib.crc32(body)),
                  _SLOT * (self._generation % 2))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
