"""One process per data dir: an OS file lock on `<data_dir>/tradebus.lock`.

Two daemons on one journal would hand out the same seqs and interleave two histories
until a commit collides; a recorder beside a daemon would write the same recording.
So whatever writes a data dir (`tradebus run`, `tradebus record`) takes this lock first
and holds it for the life of the process. The lock is `fcntl.flock` on an open file:
the kernel drops it when the process ends, however it ends (`kill -9` included), so a
stale lock never blocks a restart. The file's content (the holder's pid, host, command
and start time, one JSON object) is only there to name the holder in the refusal: a
leftover file from a dead process is harmless, and is overwritten by the next holder.

flock locks belong to an open file, not to a process: a second `InstanceLock` on the
same folder in the same process is refused too.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
from pathlib import Path
from types import TracebackType
from typing import Final, Self

import msgspec

from engine.clock import LiveClock
from engine.errors import InstanceLocked, StorageFailure
from engine.log import iso_time
from engine.persistence.storage_failure import storage_failure

__all__ = ("LOCK_FILE", "InstanceHolder", "InstanceLock", "read_holder")

LOCK_FILE: Final = "tradebus.lock"


class InstanceHolder(msgspec.Struct, frozen=True, kw_only=True):
    """Who holds (or last held) a data dir's lock, as its lock file says."""

    pid: int
    host: str
    command: str
    started_ns: int
    """Wall time the holder took the lock (ns since the epoch)."""

    def describe(self) -> str:
        since = iso_time(self.started_ns) or "?"
        return f"pid {self.pid} on {self.host} ({self.command}, since {since})"


def read_holder(data_dir: str | Path) -> InstanceHolder | None:
    """What the lock file of `data_dir` says, or None (no file, or not readable as one).

    It names the last holder; whether that process still holds the lock only an
    acquire attempt can tell.
    """
    try:
        return msgspec.json.decode((Path(data_dir) / LOCK_FILE).read_bytes(),
                                   type=InstanceHolder)
    except (OSError, msgspec.DecodeError):
        return None


class InstanceLock:
    """Hold `<data_dir>/tradebus.lock` from `acquire` (or `with`) until `release`.

    Args:
        data_dir: the folder; created if missing.
        command: what the holder is, for the refusal another process prints
            ("tradebus run", "tradebus record").
    """

    def __init__(self, data_dir: str | Path, *, command: str) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / LOCK_FILE
        self.command = command
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> InstanceHolder:
        """Take the lock without waiting; return what this holder wrote in the file.

        Raises:
            InstanceLocked: another process (or another lock in this one) holds it.
            StorageFailure: the folder or the lock file cannot be written (read-only
                file system, no permission, disk full).
        """
        if self._fd is not None:
            raise RuntimeError(f"{self.path}: already held by this lock")
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as error:
            raise self._storage_failure(error) from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(fd)
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise self._storage_failure(error) from error
            raise self._locked() from None
        holder = InstanceHolder(pid=os.getpid(), host=socket.gethostname(),
                                command=self.command, started_ns=LiveClock().timestamp_ns())
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, msgspec.json.encode(holder) + b"\n", 0)
        except OSError as error:
            os.close(fd)  # closing drops the lock
            raise self._storage_failure(error) from error
        self._fd = fd
        return holder

    def release(self) -> None:
        """Drop the lock (the file stays: the next holder overwrites it)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # the last descriptor of the open file: the kernel unlocks it

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    def _locked(self) -> InstanceLocked:
        holder = read_holder(self.data_dir)
        who = holder.describe() if holder is not None else "another process"
        return InstanceLocked(
            f"data dir {self.data_dir} is in use by {who}",
            advice=(f"stop that process first (kill -TERM {holder.pid}), or give this one "
                    "its own runtime.data_dir" if holder is not None else
                    "stop the other tradebus process using it, or give this one its own "
                    "runtime.data_dir"),
        )

    def _storage_failure(self, error: OSError) -> StorageFailure:
        return storage_failure(error, f"data dir {self.data_dir}") or StorageFailure(
            f"data dir {self.data_dir}: cannot create the lock file {self.path.name}: "
            f"{error.strerror or error}",
            advice="check the folder exists and this user can write it",
        )
