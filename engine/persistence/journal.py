"""Journal every message the graph handles, in handling order, to one SQLite file.

A restart rebuilds state by replaying the journal's *input* records (the graph is
deterministic, so derived records are made again), and an order command is journaled
before it leaves: the venue adapter awaits `wait_committed(seq)` first.

Durability: the file is in WAL mode. With `synchronous="normal"` (the default) a commit
is durable against a process crash (kill -9, an exception, the OOM killer) as soon as
it returns, because the committed transaction is in the `-wal` file, which the OS keeps;
on power loss or a kernel crash the last commits may roll back (the journal stays
consistent, just shorter). `synchronous="full"` fsyncs the WAL on every commit and
survives power loss too, at a throughput cost; `append_throughput` measures both.

Integrity: every row carries a CRC over all its fields (`record_crc`), and after each
commit the writer updates the journal's high-water mark beside the file
(`journal_mark`: one `pwrite`), so a lost WAL or file is found at the next open.
Opening runs `check_journal` first: a damaged or foreign journal is refused, never
appended to. Given a `JournalIdentity`, a new journal stores it in `journal_meta`.

One writer per file, owned by one task (`run`). Reading is separate (`JournalReader`,
stdlib sqlite3, read-only) and may run while the writer is live: WAL readers never
block the writer.

Checkpoints (copying the WAL into the database file) run beside commits, not in them:
SQLite's own takes milliseconds inside whichever commit crosses 1000 pages, and an order
waiting on that commit waited too (p99 5 ms, not 0.7). A thread with a second connection
does them (`Checkpointer`); the writer finishes one only if commits kept overlapping it.
"""

from __future__ import annotations

import itertools
import logging
import os
import sqlite3
import time
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Final, Self, TypeAlias

import aiosqlite
import anyio
import anyio.lowlevel
import anyio.to_thread
import msgspec
from anyio.abc import TaskStatus

from engine.errors import JournalError, StorageFailure
from engine.events.base import Message
from engine.events.codec import TAGS
from engine.events.market import TradeTick
from engine.persistence.checkpoint import CHECKPOINT_SQL, Checkpointer, Synchronous
from engine.persistence.journal_check import check_journal
from engine.persistence.journal_mark import MarkWriter
from engine.persistence.journal_reader import JournalReader
from engine.persistence.journal_schema import (
    COMMIT_SECONDS_BUCKETS,
    SCHEMA,
    SCHEMA_VERSION,
    JournalCorruption,
    JournalIdentity,
    JournalRecord,
    JournalStatistics,
    Row,
    SessionSummary,
    insert_statements,
    record_crc,
    text_names_crc,
)
from engine.persistence.storage_failure import storage_failure
from engine.topics import trades_topic

__all__ = (
    "JournalCorruption",
    "JournalIdentity",
    "JournalReader",
    "JournalRecord",
    "JournalStatistics",
    "JournalWriter",
    "SessionSummary",
    "append_throughput",
)

logger = logging.getLogger(__name__)


# The same settings as engine.events.codec's journal encoder (so the same bytes); held
# here so `append` costs one method call.
_encoder: Final = msgspec.msgpack.Encoder()

# A checkpoint is due after this many commits or payload bytes (~SQLite's 1000 pages).
_CHECKPOINT_COMMITS: Final = 256
_CHECKPOINT_BYTES: Final = 4 << 20

# A batch below this many rows is one INSERT of its exact size in autocommit mode: one trip
# to the database thread, not one per power-of-two chunk plus the COMMIT (an order's
# commit: median 470 -> 230 us under load). These fit sqlite3's statement cache.
_ONE_STATEMENT_ROWS: Final = 64


@lru_cache(maxsize=_ONE_STATEMENT_ROWS)
def _exact_insert_sql(rows: int) -> str:
    return "INSERT INTO journal VALUES " + ", ".join(("(?, ?, ?, ?, ?, ?, ?, ?)",) * rows)


def _kind_of(message_type: type[Message]) -> str:
    """Refuse a message type the reader could not decode (the fast path is `TAGS.get`)."""
    raise TypeError(
        f"message type {message_type.__name__}: not in engine.events.codec.AnyMessage,"
        " so a journal reader could not decode it"
    )


_PendingRow: TypeAlias = tuple[int, int, int, str, str, bool, Message]
"""A record appended but not yet encoded: (seq, session, ts_init, topic, kind, input, message)."""


def _encoded(pending: list[_PendingRow]) -> list[Row]:
    rows: list[Row] = []
    encode = _encoder.encode
    for seq, session, ts_init, topic, kind, is_input, message in pending:
        payload = encode(message)
        flag = int(is_input)
        rows.append((seq, session, ts_init, topic, kind, flag,
                     record_crc(seq, session, ts_init, text_names_crc(topic, kind), flag,
                                payload), payload))
    return rows


class JournalWriter:
    """Append messages to the journal from sync code; commit them in batches from `run`.

    Use as `async with JournalWriter(path) as journal:` with `journal.run` started in a
    task group inside it. Sequence numbers continue after the file's last record and
    each open starts a new session number. Exiting flushes everything appended, even
    when the surrounding scope is cancelled.

    `identity` is the config's (`JournalIdentity`): a journal holding records of another
    is refused (`ForeignJournal`), a new or empty one stores it. None (tests, the
    benchmark) neither checks nor stores one.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        batch_max: int = 4096,
        flush_interval_s: float = 0.002,
        synchronous: Synchronous = "normal",
        identity: JournalIdentity | None = None,
    ) -> None:
        if batch_max < 1:
            raise ValueError(f"batch_max {batch_max}: must be at least 1")
        if flush_interval_s < 0:
            raise ValueError(f"flush_interval_s {flush_interval_s}: must not be negative")
        if synchronous not in ("normal", "full"):
            raise ValueError(f"synchronous {synchronous!r}: must be 'normal' or 'full'")
        self.path = Path(path)
        self._batch_max = batch_max
        self._flush_interval_s = flush_interval_s
        self._synchronous = synchronous
        self._connection: aiosqlite.Connection | None = None
        self._lock: anyio.Lock | None = None
        self._pending: list[_PendingRow] = []
        self._session = 0
        self._last_appended = 0
        self._last_committed = 0
        self._wakeup: anyio.Event | None = None  # set by append: the flusher has work
        self._committed: anyio.Event | None = None  # set after a commit: waiters re-check
        self._hurry: anyio.Event | None = None  # set by a waiter: end the flusher's pause
        self._waiters = 0
        self._flusher_running = False
        self._failure: JournalError | StorageFailure | None = None
        self._appended = self._committed_count = self._batches = 0
        self._commit_seconds_counts = [0] * len(COMMIT_SECONDS_BUCKETS)
        self._commit_seconds_sum = 0.0
        self._bytes_written = self._max_batch = 0
        self._checkpointer = Checkpointer(self.path, synchronous)
        self._unchecked_commits = self._unchecked_bytes = 0
        self._identity = identity
        self.journal_id: str | None = None
        """The journal's id (`journal_meta`), once open: new journals get one then."""
        self._mark: MarkWriter | None = None

    async def __aenter__(self) -> Self:
        """Check the journal (`check_journal`), open it, and mark its last record.

        Raises:
            JournalDamaged: the journal lost committed records or cannot be read.
            ForeignJournal: another schema version or config wrote it.
            JournalError: WAL mode is not available.
        """
        if self._connection is not None:
            raise RuntimeError(f"journal {self.path}: already open")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise storage_failure(error, f"journal {self.path}") or JournalError(
                f"journal {self.path}: its folder cannot be made: {error}") from error
        check_journal(self.path, self._identity)
        try:
            connection = await aiosqlite.connect(self.path, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise storage_failure(error, f"journal {self.path}") or JournalError(
                f"journal {self.path}: cannot be opened: {error}") from error
        try:
            mode = await connection.execute_fetchall("PRAGMA journal_mode=WAL")
            if str(next(iter(mode))[0]).lower() != "wal":
                raise JournalError(f"journal {self.path}: WAL mode is not available here")
            await connection.execute(f"PRAGMA synchronous={self._synchronous.upper()}")
            await connection.execute("PRAGMA wal_autocheckpoint=0")  # Checkpointer does it
            await connection.executescript(SCHEMA)
            meta = {str(key): str(value) for key, value in await connection.execute_fetchall(
                "SELECT key, value FROM journal_meta")}
            stored = meta.get("schema_version")
            if stored is not None and stored != str(SCHEMA_VERSION):
                raise JournalError(
                    f"journal {self.path}: schema version {stored}: this build writes"
                    f" version {SCHEMA_VERSION}"
                )
            rows = await connection.execute_fetchall(
                "SELECT seq, session, crc FROM journal ORDER BY seq DESC LIMIT 1")
            last_seq, last_session, last_crc = next(iter(rows), (0, 0, 0))
            journal_id = meta.get("journal_id") or os.urandom(16).hex()
            wanted = {"schema_version": str(SCHEMA_VERSION), "journal_id": journal_id}
            if self._identity is not None and (last_seq == 0 or "identity" not in meta):
                # check_journal refused a journal with records of another config
                wanted["identity"] = msgspec.json.encode(self._identity).decode()
            changed = sorted((k, v) for k, v in wanted.items() if meta.get(k) != v)
            if changed:  # autocommit mode: one statement, committed by itself
                await connection.execute(
                    "INSERT OR REPLACE INTO journal_meta VALUES "
                    + ", ".join(("(?, ?)",) * len(changed)),
                    [value for pair in changed for value in pair])
            mark = MarkWriter(self.path, journal_id)
            mark.open(int(last_seq), int(last_crc))
            self.journal_id = journal_id
        except BaseException as error:
            with anyio.CancelScope(shield=True):
                await connection.close()
            failure = storage_failure(error, f"journal {self.path}")
            if failure is not None:  # a read-only data dir, a full disk: not a bad journal
                raise failure from error
            raise
        self._connection = connection
        self._mark = mark
        self._lock = anyio.Lock()
        self._checkpointer.start()
        self._last_appended = self._last_committed = int(last_seq)
        self._session = int(last_session) + 1
        logger.info(
            "journal %s: session %d starts after seq %d", self.path, self._session, last_seq
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        connection = self._connection
        if connection is None:
            return
        with anyio.CancelScope(shield=True):  # a cancelled task group still flushes
            try:
                if self._failure is None:
                    await self.flush()
            finally:
                self._connection = None
                if self._mark is not None:
                    self._mark.close()
                    self._mark = None
                await anyio.to_thread.run_sync(self._checkpointer.close)
                await connection.close()  # the last connection: SQLite checkpoints it

    @property
    def last_committed_seq(self) -> int:
        """The highest seq that is durable (0 for an empty journal)."""
        return self._last_committed

    @property
    def last_appended_seq(self) -> int:
        """The highest seq handed out: every message appended so far is at or below it."""
        return self._last_appended

    def append(self, topic: str, message: Message, *, is_input: bool = False) -> int:
        """Buffer `message` for the next commit and return its seq. Never blocks.

        Called from a bus observer on every message, on the event loop's thread.

        Raises:
            TypeError: the message type is not in `AnyMessage` (it could not be replayed).
            RuntimeError: the writer is not open.
        """
        if self._connection is None:
            raise RuntimeError(f"journal {self.path}: not open: append inside `async with`")
        kind = TAGS.get(type(message)) or _kind_of(type(message))
        seq = self._last_appended = self._last_appended + 1
        pending = self._pending
        # Encoded at commit, not here: messages are frozen, so the bytes are the same, and
        # the handler that appended (a market data event on its way to an order) does not
        # wait for them. The flusher pays it, once per batch, between events.
        pending.append((seq, self._session, message.ts_init, topic, kind, is_input, message))
        self._appended += 1
        if len(pending) == 1 and self._wakeup is not None:
            self._wakeup.set()
        return seq

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Commit appended records until cancelled: the one flusher task.

        Waits while nothing is pending, then commits up to `batch_max` records in one
        transaction (multi-row INSERTs: `insert_statements` says why not executemany).
        After a batch smaller than `batch_max` it sleeps `flush_interval_s` so the
        next appends pile up into one transaction (batching under load), while
        the first record after an idle spell is committed at once (low latency when
        idle). A `wait_committed` caller (an order about to leave) cuts that pause
        short. After a full batch it goes again without pausing.

        Raises:
            JournalError: a commit failed; waiters are woken and raise it too.
        """
        if self._connection is None:
            raise RuntimeError(f"journal {self.path}: not open: run inside `async with`")
        if self._flusher_running:
            raise RuntimeError(f"journal {self.path}: its flusher is already running")
        self._flusher_running = True
        try:
            task_status.started()
            while True:
                if not self._pending:
                    self._wakeup = anyio.Event()
                    await self._wakeup.wait()
                    self._wakeup = None
                if await self._commit_batch() < self._batch_max:
                    await self._pause()
        finally:
            self._flusher_running = False
            self._wakeup = self._hurry = None
            self._notify_committed()  # waiters without a flusher commit for themselves

    async def flush(self) -> None:
        """Commit everything appended so far (shutdown); blocks until it is durable."""
        target = self._last_appended
        while self._last_committed < target:
            self._raise_failure()
            await self._commit_batch()

    async def wait_committed(self, seq: int) -> None:
        """Return once record `seq` is durable; blocks until the flusher commits it.

        Without a running flusher, commits the pending records itself.

        Raises:
            ValueError: `seq` was not appended yet.
            JournalError: a commit failed.
        """
        if seq > self._last_appended:
            raise ValueError(f"seq {seq}: not appended yet (last appended {self._last_appended})")
        while self._last_committed < seq:
            self._raise_failure()
            if not self._flusher_running:
                await self._commit_batch()
                continue
            if self._hurry is not None:
                self._hurry.set()
            if self._committed is None:
                self._committed = anyio.Event()
            self._waiters += 1
            try:
                await self._committed.wait()
            finally:
                self._waiters -= 1

    def statistics(self) -> JournalStatistics:
        """Counters of this session; `pending` is appended but not yet durable."""
        return JournalStatistics(
            appended=self._appended,
            committed=self._committed_count,
            batches=self._batches,
            bytes_written=self._bytes_written,
            pending=self._last_appended - self._last_committed,
            max_batch=self._max_batch,
            session=self._session,
            commit_seconds_buckets=tuple(itertools.accumulate(self._commit_seconds_counts)),
            commit_seconds_sum=self._commit_seconds_sum,
        )

    def _count_commit(self, seconds: float) -> None:
        # The commit latency histogram (`statistics`): counts per bucket, off the graph.
        self._commit_seconds_sum += seconds
        for index, bound in enumerate(COMMIT_SECONDS_BUCKETS):
            if seconds <= bound:
                self._commit_seconds_counts[index] += 1
                break

    def _batch_cut(self) -> int:
        """How many pending records the next batch takes: `batch_max`, stretched so it
        never ends inside one input's records.

        An input and everything it caused are appended while the clock is pinned at the
        input's time, so they share `ts_init` (and the derived records of a bar, the
        venue's fills, are appended before the bar itself). A batch cut between two of
        them would let a kill leave a fill committed without the bar that made it, which
        a restart cannot replay. So the cut moves past every record with the `ts_init` of
        the one before it: only whole inputs are committed.
        """
        pending = self._pending
        cut = min(self._batch_max, len(pending))
        while cut < len(pending) and pending[cut][2] == pending[cut - 1][2]:
            cut += 1
        return cut

    async def _commit_batch(self) -> int:
        """Commit up to `batch_max` pending records (whole inputs: `_batch_cut`) in one
        transaction; return how many."""
        if self._connection is None or self._lock is None:
            raise RuntimeError(f"journal {self.path}: not open")
        connection = self._connection
        # Shielded: a batch taken off the buffer is committed whole, even on cancellation.
        with anyio.CancelScope(shield=True):
            async with self._lock:
                self._raise_failure()
                pending = self._pending[: self._batch_cut()]
                if not pending:
                    return 0
                del self._pending[: len(pending)]
                batch = _encoded(pending)
                self._checkpointer.writes_started += 1
                commit_started = time.perf_counter()
                try:
                    if len(batch) < _ONE_STATEMENT_ROWS:
                        await connection.execute(_exact_insert_sql(len(batch)),
                                                 [value for row in batch for value in row])
                    else:
                        await connection.execute("BEGIN")
                        for statement, parameters in insert_statements(batch):
                            await connection.execute(statement, parameters)
                        await connection.execute("COMMIT")
                except (sqlite3.Error, ValueError) as error:
                    seqs = f"seq {batch[0][0]}..{batch[-1][0]}"
                    self._failure = storage_failure(
                        error, f"journal {self.path}: commit of {seqs} (not committed)"
                    ) or JournalError(f"journal {self.path}: commit of {seqs} failed: {error}")
                    self._notify_committed()
                    raise self._failure from error
                self._count_commit(time.perf_counter() - commit_started)
                last = batch[-1]
                self._last_committed = last[0]
                if self._mark is not None:  # after the commit: it never claims more
                    try:
                        self._mark.write(last[0], last[6])
                    except OSError as error:
                        self._failure = JournalError(
                            f"journal {self.path}: seq {last[0]} is committed but its "
                            f"high-water mark {self._mark.path} cannot be written: {error}")
                        self._notify_committed()
                        raise self._failure from error
                self._committed_count += len(batch)
                self._batches += 1
                written = sum(len(row[7]) for row in batch)
                self._bytes_written += written
                self._max_batch = max(self._max_batch, len(batch))
                self._notify_committed()
                await self._after_commit(connection, written)
        return len(batch)

    async def _after_commit(self, connection: aiosqlite.Connection, written: int) -> None:
        """Ask for a checkpoint when due, or finish the thread's (waiters are already woken)."""
        checkpointer = self._checkpointer
        checkpointer.writes_finished += 1
        self._unchecked_commits += 1
        self._unchecked_bytes += written
        if (self._unchecked_commits >= _CHECKPOINT_COMMITS
                or self._unchecked_bytes >= _CHECKPOINT_BYTES):
            self._unchecked_commits = self._unchecked_bytes = 0
            if checkpointer.healthy:
                checkpointer.request()
                return
        elif not checkpointer.behind:
            return
        checkpointer.behind = False
        try:  # inline: the thread's leftover (or all of it, if the thread failed)
            await connection.execute_fetchall(CHECKPOINT_SQL)
        except sqlite3.Error as error:  # the records are safe in the WAL; only it grows
            logger.warning("journal %s: checkpoint failed: %s", self.path, error)

    async def _pause(self) -> None:
        """Let appends pile up for `flush_interval_s`, unless a waiter needs a commit now."""
        if self._waiters:
            return
        hurry = self._hurry = anyio.Event()
        with anyio.move_on_after(self._flush_interval_s):
            await hurry.wait()
        self._hurry = None

    def _notify_committed(self) -> None:
        if self._committed is not None:
            self._committed.set()
            self._committed = None

    def _raise_failure(self) -> None:
        failure = self._failure
        if isinstance(failure, StorageFailure):  # the same cause for every waiter
            raise StorageFailure(str(failure), advice=failure.advice) from failure
        if failure is not None:
            raise JournalError(str(failure)) from failure


def append_throughput(
    path: str | Path,
    events: int,
    synchronous: Synchronous = "normal",
    *,
    burst: int = 256,
    wait_each_burst: bool = False,
) -> float:
    """Return committed events per second through `append` and `run` into `path`. Blocks.

    Appends `events` trade ticks in bursts of `burst` (yielding to the loop between
    bursts, as the live runner does) with the flusher running, and stops the clock when
    the last one is durable. With `wait_each_burst` every burst waits until it is
    durable before the next (order flow: `burst=1` measures commits per second). For
    tests/bench only: it runs its own event loop and reads a performance counter, which
    engine code otherwise never does.
    """
    if events < 1 or burst < 1:
        raise ValueError(f"events {events}, burst {burst}: must both be at least 1")
    tick = TradeTick(instrument_id="BTC/USDT.SIM", price=30_000.5, size=0.25, ts_event=1, ts_init=1)
    topic = trades_topic(tick.instrument_id)

    async def measure() -> float:
        async with JournalWriter(path, synchronous=synchronous) as journal:
            async with anyio.create_task_group() as group:
                await group.start(journal.run)
                started = time.perf_counter()
                last = 0
                for index in range(events):
                    last = journal.append(topic, tick, is_input=True)
                    if index % burst == burst - 1:
                        if wait_each_burst:
                            await journal.wait_committed(last)
                        else:
                            await anyio.lowlevel.checkpoint()
                await journal.wait_committed(last)
                elapsed = time.perf_counter() - started
                group.cancel_scope.cancel()
        return events / elapsed

    return anyio.run(measure, backend="asyncio")
