"""A full or unwritable disk, in SQLite's words or the OS's, is one StorageFailure that
names the file and says what to do; any other error is not mistaken for one."""

from __future__ import annotations

import errno
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from engine.persistence.storage_failure import storage_failure


@pytest.mark.parametrize("number", [errno.ENOSPC, errno.EDQUOT])
def test_a_full_disk_from_the_os_says_so(number: int) -> None:
    failure = storage_failure(OSError(number, "No space left on device"), "journal /d/j.sqlite")

    assert failure is not None
    assert str(failure).startswith("journal /d/j.sqlite: the disk is full")
    assert "free space" in failure.advice
    assert failure.exit_code == 13


@pytest.mark.parametrize("number", [errno.EROFS, errno.EACCES, errno.EPERM])
def test_a_read_only_file_system_from_the_os_says_so(number: int) -> None:
    failure = storage_failure(OSError(number, "Read-only file system"), "recording /d/r.sqlite")

    assert failure is not None
    assert "cannot be written (Read-only file system)" in str(failure)
    assert "writable" in failure.advice


def test_sqlites_own_read_only_error_is_recognized(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE t (x)")
        connection.commit()
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as read_only:
        with pytest.raises(sqlite3.OperationalError) as raised:
            read_only.execute("INSERT INTO t VALUES (1)")

    failure = storage_failure(raised.value, f"journal {path}")

    assert failure is not None and "cannot be written" in str(failure)


def test_sqlites_full_disk_message_is_recognized() -> None:
    failure = storage_failure(sqlite3.OperationalError("database or disk is full"), "journal j")

    assert failure is not None and "the disk is full" in str(failure)


@pytest.mark.parametrize("error", [
    OSError(errno.ENOENT, "No such file or directory"),
    sqlite3.OperationalError("no such table: journal"),
    sqlite3.DatabaseError("file is not a database"),
    ValueError("bad"),
])
def test_other_errors_are_not_storage_failures(error: BaseException) -> None:
    assert storage_failure(error, "journal j") is None
