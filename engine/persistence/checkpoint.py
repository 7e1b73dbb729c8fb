"""The journal's checkpointer: WAL checkpoints off the commit path.

SQLite's automatic checkpoint runs inside whichever commit crosses its threshold and
took ~7 ms there: the whole p99 of an order waiting for its journal commit. So the
journal writer turns it off and asks this thread, with a connection of its own, to
checkpoint every so many commits or bytes; the writer finishes a checkpoint inline only
when this thread could not (commits kept overlapping it) or failed.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Final, Literal

__all__ = ("CHECKPOINT_SQL", "Checkpointer", "Synchronous")

logger = logging.getLogger(__name__)

Synchronous = Literal["normal", "full"]

_CHECKPOINT_ATTEMPTS: Final = 4
CHECKPOINT_SQL: Final = "PRAGMA wal_checkpoint(PASSIVE)"


class Checkpointer:
    """Checkpoint from a thread and connection of its own when asked (nothing awaits it).

    PASSIVE never blocks the writer, but copies only what was committed when it began:
    it goes again while commits overlap it, then leaves the rest to the writer (`behind`).
    """

    def __init__(self, path: Path, synchronous: Synchronous) -> None:
        self._path = path
        self._synchronous = synchronous
        self._wanted = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        self.healthy = True  # False once a checkpoint failed: the writer does it inline
        self.behind = False  # commits overlapped every attempt: the writer copies the rest
        self.writes_started = self.writes_finished = 0  # counted by the writer

    def start(self) -> None:
        self._closing, self.healthy = False, True
        self._thread = threading.Thread(target=self._work, name=f"checkpoint {self._path.name}",
                                        daemon=True)
        self._thread.start()

    def request(self) -> None:
        self._wanted.set()

    def close(self) -> None:
        """Finish the checkpoint in progress, if any, and stop. Blocks: call it in a thread."""
        if self._thread is not None:
            self._closing = True
            self._wanted.set()
            self._thread.join()
            self._thread = None

    def _work(self) -> None:
        try:
            with closing(sqlite3.connect(self._path, isolation_level=None)) as connection:
                connection.execute(f"PRAGMA synchronous={self._synchronous.upper()}")
                while True:
                    self._wanted.wait()
                    self._wanted.clear()
                    if self._closing:
                        return
                    for _ in range(_CHECKPOINT_ATTEMPTS):
                        started, finished = self.writes_started, self.writes_finished
                        # fetchall: a statement not run to its end holds a read snapshot.
                        connection.execute(CHECKPOINT_SQL).fetchall()
                        if finished == started == self.writes_started:
                            break  # no commit overlapped it: every frame is copied
                    else:
                        self.behind = True
        except sqlite3.Error as error:
            self.healthy = False
            logger.warning("journal %s: checkpoint thread stopped: %s; checkpointing inline",
                           self._path, error)
