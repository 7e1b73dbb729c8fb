"""How far a journal was checked at an earlier start: where a restart's checksum pass begins.

A restart from a snapshot replays only the records after it, but the records before it
are still checked (`engine.runtime.snapshots`), so a damaged journal is found while a
backup may still hold good copies. Checking costs about 3 us a record, most of it
SQLite handing the rows over: 3 seconds at a million records, on every start, which
alone broke the restart target (under 2 s). A committed record is never rewritten (the
journal only grows), so what one start checked need not be checked again: this file
(`journal.sqlite.verified`) says "records 1..N of journal J were checked, record N has
CRC C". The next start checks that record N is still there with CRC C (one query) and
checks only the records after N.

What this gives up, and why that is safe: damage to records 1..N *after* they were
checked is not found by a restart from a snapshot. Such a restart never reads them:
its state is the snapshot (checked by its own CRC) and the records after it (each
checked as it is read). A start without a usable snapshot replays, and so checks,
every record and refuses at the first bad one; `tradebus journal verify` checks them
all; and after the session starts the node checks them again in a child process
(`engine.runtime.journal_audit`), off the loop, and reports damage.

The file is written whole to a temporary name and renamed over the old one, so a
crash leaves the old file or the new one. A file that is missing, unreadable, of
another journal, or names a record that is gone or changed (a repaired or restored
journal) is ignored: the pass then starts at seq 1, which is never wrong, only slower.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import Final

import msgspec

from engine.persistence.snapshots import journal_anchor

__all__ = ("VERIFIED_SUFFIX", "VerifiedThrough", "mark_verified", "read_verified",
           "verified_path", "verify_from", "write_verified")

logger = logging.getLogger(__name__)

VERIFIED_SUFFIX: Final = ".verified"


class VerifiedThrough(msgspec.Struct, frozen=True, kw_only=True):
    """Records 1..`seq` of journal `journal_id` were checked; record `seq` has CRC `crc`."""

    journal_id: str
    seq: int
    crc: int


def verified_path(journal: Path) -> Path:
    """Beside the journal: its name plus `.verified`."""
    return journal.with_name(journal.name + VERIFIED_SUFFIX)


def read_verified(journal: Path) -> VerifiedThrough | None:
    """What `journal`'s file says was checked, None when there is no usable file."""
    try:
        return msgspec.json.decode(verified_path(journal).read_bytes(), type=VerifiedThrough)
    except FileNotFoundError:
        return None
    except (OSError, msgspec.DecodeError) as error:
        logger.warning("journal %s: its verified mark %s is unusable (%s): every record "
                       "is checked again", journal, verified_path(journal), error)
        return None


def write_verified(journal: Path, through: VerifiedThrough) -> None:
    """Record that records 1..`through.seq` were checked. Never raises: a mark that is
    not written only means the next start checks more."""
    path = verified_path(journal)
    temporary = path.with_name(path.name + ".tmp")
    try:
        temporary.write_bytes(msgspec.json.encode(through))
        os.replace(temporary, path)
    except OSError as error:
        logger.warning("journal %s: its verified mark could not be written (%s): the next "
                       "start checks every record", journal, error)


def verify_from(journal: Path, journal_id: str | None) -> int:
    """The first seq a checksum pass over `journal` must check: after the records its
    verified mark vouches for, or 1 when the mark is missing or does not fit the file."""
    through = read_verified(journal)
    if through is None or through.seq < 1 or journal_id is None:
        return 1
    if through.journal_id != journal_id:
        return 1  # the journal was replaced: its mark moved with the old one, or not
    try:
        anchor = journal_anchor(journal, through.seq)
    except sqlite3.Error:
        return 1
    if anchor is None or anchor.crc != through.crc:
        return 1  # cut (repaired) or rewritten: check everything
    return through.seq + 1


def mark_verified(journal: Path, journal_id: str | None, seq: int) -> None:
    """Records 1..`seq` of `journal` were all checked (by a replay or a checksum pass):
    say so for the next start. Never raises (see `write_verified`)."""
    if journal_id is None or seq < 1:
        return
    try:
        anchor = journal_anchor(journal, seq)
    except sqlite3.Error as error:
        logger.warning("journal %s: its verified mark was not written (%s)", journal, error)
        return
    if anchor is not None:
        write_verified(journal, VerifiedThrough(journal_id=journal_id, seq=seq,
                                                crc=anchor.crc))
