"""A checksum pass over a range of journal records, in this process or in a child.

Recovery checks every record it replays as it reads it; the records a restart from a
snapshot skips are checked by this pass instead: in a thread while the restart replays
(`engine.runtime.snapshots`), and, for the records an earlier start already checked, once
more after the session started, in a child process (`engine.runtime.journal_audit`) so
that a pass over millions of records never competes with the event loop for the GIL.

    python -m engine.persistence.journal_scan JOURNAL FROM_SEQ THROUGH_SEQ

prints one JSON line, a `ScanOutcome`, and exits 0 whatever it found (2 on bad usage).
The child lowers its own priority: it only reads, and the daemon is what matters.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import msgspec

from engine.errors import JournalError
from engine.persistence.journal_reader import JournalReader
from engine.persistence.journal_schema import JournalCorruption

__all__ = ("ScanOutcome", "main", "scan_checksums")


class ScanOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """What a pass over records `from_seq`..`through_seq` found."""

    from_seq: int
    through_seq: int
    checked_through: int
    """The last seq checked good (every record from `from_seq` up to it)."""
    corruption: JournalCorruption | None = None
    """The first bad record, None when every record in the range checked out."""
    error: str | None = None
    """The file could not be read at all (a damaged or foreign file): why."""

    @property
    def clean(self) -> bool:
        return self.corruption is None and self.error is None


def scan_checksums(journal: Path, from_seq: int, through_seq: int) -> ScanOutcome:
    """Check records `from_seq`..`through_seq` of `journal` (seq order, CRC, no decoding)."""
    reader = JournalReader(journal, chunk_size=8192)
    try:
        for _ in reader.records(from_seq=from_seq, through_seq=through_seq, kinds=()):
            pass  # nothing is yielded: every record is only checked
    except JournalError as error:
        return ScanOutcome(from_seq=from_seq, through_seq=through_seq,
                           checked_through=reader.last_good_seq, error=str(error))
    return ScanOutcome(from_seq=from_seq, through_seq=through_seq,
                       checked_through=reader.last_good_seq, corruption=reader.corruption)


def main(argv: list[str]) -> int:
    if len(argv) != 3 or not argv[1].isdigit() or not argv[2].isdigit():
        sys.stderr.write("usage: python -m engine.persistence.journal_scan JOURNAL FROM_SEQ "
                         "THROUGH_SEQ\n")
        return 2
    if hasattr(os, "nice"):
        os.nice(10)
    outcome = scan_checksums(Path(argv[0]), int(argv[1]), int(argv[2]))
    sys.stdout.write(msgspec.json.encode(outcome).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
