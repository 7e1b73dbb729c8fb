"""Tell a storage failure (disk full, read-only, no permission) from every other error.

SQLite and the OS report a full disk or an unwritable data dir in their own words
(`sqlite3.OperationalError("database or disk is full")`, `OSError(ENOSPC)`,
`"attempt to write a readonly database"`, `EROFS`, ...). Wherever the daemon writes
(the journal, the recording, the lock file), such an error becomes one
`StorageFailure` that says which file, what is wrong and what the operator can do:
not a traceback, and not a misleading "not a recording".
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path
from typing import Final

from engine.errors import StorageFailure

__all__ = ("storage_failure",)

# SQLite's primary result codes (the low byte of an extended code).
_SQLITE_READONLY: Final = 8
_SQLITE_FULL: Final = 13
_SQLITE_CANTOPEN: Final = 14
_SQLITE_PERM: Final = 3

_FULL_ERRNOS: Final = frozenset({errno.ENOSPC, errno.EDQUOT})
_READ_ONLY_ERRNOS: Final = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})

_FULL_ADVICE: Final = ("free space on that file system (or give the data dir a bigger one), "
                       "then start again: what was committed is kept and recovered")
_READ_ONLY_ADVICE: Final = ("make the data dir writable by this user (a read-only mount, "
                            "file permissions or an immutable attribute), then start again")


def storage_failure(error: BaseException, where: str | Path) -> StorageFailure | None:
    """The `StorageFailure` that `error` means while writing `where`, or None if it is not one.

    `where` names what was being written ("journal /data/journal.sqlite").
    """
    kind = _kind(error)
    if kind is None:
        return None
    detail = _detail(error)
    if kind == "full":
        return StorageFailure(f"{where}: the disk is full ({detail})", advice=_FULL_ADVICE)
    return StorageFailure(f"{where}: cannot be written ({detail})", advice=_READ_ONLY_ADVICE)


def _kind(error: BaseException) -> str | None:
    if isinstance(error, OSError):
        if error.errno in _FULL_ERRNOS:
            return "full"
        if error.errno in _READ_ONLY_ERRNOS:
            return "read-only"
        return None
    if not isinstance(error, sqlite3.Error):
        return None
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(error).lower()
    if primary == _SQLITE_FULL or "database or disk is full" in text:
        return "full"
    if (primary in (_SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_PERM)
            or "readonly database" in text or "unable to open database file" in text):
        return "read-only"
    return None


def _detail(error: BaseException) -> str:
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return str(error)
