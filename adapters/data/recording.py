"""Record live market data to SQLite in arrival order, and read it back as a replay source.

One generic table holds every kind of market data, one row per item in the order it
arrived (component "recording", version 1, in the `schema_version` table shared with
the bar store, so both can live in one file)::

    recording_sessions(session INTEGER PRIMARY KEY, started_ns, note)
    recording(seq INTEGER PRIMARY KEY, session, ts_init, ts_event, kind, instrument_id,
              payload BLOB)     payload: the item as the journal's msgpack

`seq` is the arrival order and `ts_init` is kept exactly as recorded: it is when the
item reached the engine, the time a replay orders by. The other columns are there to
filter on without decoding. The file runs in WAL mode, so a backtest can read a
recording while `tradebus record` is still writing it.

A daemon's recording is written in batches behind the journal, so a kill -9 can leave
it short of the journal (or, the journal committing later, ahead of it). At the next
start `AsyncRecordingStore.align_to` makes it the journal's market data inputs again,
in order: rows past what the journal holds are dropped (the feed hands those items
over again), the items it lacks are appended (`engine.runtime.bindings.SessionRecorder`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, TypeAlias

import anyio
import msgspec
from anyio.abc import TaskStatus

from adapters.data.sqlite_common import (
    AsyncSqliteStore,
    StoreSchema,
    connect,
    write_transaction,
)
from engine.errors import DataError
from engine.events import (
    TAGS,
    Bar,
    BookDelta,
    FundingRate,
    QuoteTick,
    TradeTick,
    decode_msgpack,
    encode_msgpack,
)

__all__ = (
    "AsyncRecordingStore",
    "MarketData",
    "RecordingAlignment",
    "RecordingSession",
    "RecordingSource",
    "RecordingWriter",
    "RecordingWriterStatistics",
)

MarketData: TypeAlias = Bar | TradeTick | QuoteTick | BookDelta | FundingRate
"""Everything a recording holds (the same union as `engine.ports.MarketData`)."""

SCHEMA_COMPONENT: Final = "recording"
SCHEMA_VERSION: Final = 1
DEFAULT_CHUNK_ROWS: Final = 4_096

_TABLES: Final = """
CREATE TABLE IF NOT EXISTS recording_sessions (
    session INTEGER PRIMARY KEY,
    started_ns INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS recording (
    seq INTEGER PRIMARY KEY,
    session INTEGER NOT NULL REFERENCES recording_sessions(session),
    ts_init INTEGER NOT NULL,
    ts_event INTEGER NOT NULL,
    kind TEXT NOT NULL,
    instrument_id TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS recording_by_session ON recording (session);
"""
_STORE_SCHEMA: Final = StoreSchema(
    component=SCHEMA_COMPONENT,
    version=SCHEMA_VERSION,
    tables=_TABLES,
    noun="recording",
    version_label="recording",
)
_INSERT_SESSION: Final = "INSERT INTO recording_sessions (started_ns, note) VALUES (?, ?)"
_INSERT_ITEM: Final = (
    "INSERT INTO recording (session, ts_init, ts_event, kind, instrument_id, payload)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_SELECT_SESSIONS: Final = """
SELECT s.session, s.started_ns, s.note, count(r.seq), min(r.ts_init), max(r.ts_init)
FROM recording_sessions AS s LEFT JOIN recording AS r ON r.session = s.session
GROUP BY s.session ORDER BY s.session
"""
# The wire tag is the kind: the same stable name the journal and the API use.
_KINDS: Final[dict[type[Any], str]] = {
    kind: TAGS[kind] for kind in (Bar, TradeTick, QuoteTick, BookDelta, FundingRate)
}


class RecordingSession(msgspec.Struct, frozen=True, kw_only=True):
    """One recording run: when it started and what it holds (None times when empty)."""

    session: int
    started_ns: int
    note: str
    items: int
    first_ts_init: int | None
    last_ts_init: int | None


class AsyncRecordingStore(AsyncSqliteStore):
    """Append market data to a recording file through aiosqlite (asyncio only).

    Use as `async with AsyncRecordingStore(path) as store:`, then `new_session` before
    the first `append_many`. The file and its tables are created on first use.

    Raises:
        DataError: the file is not SQLite or holds another recording schema version.
    """

    schema = _STORE_SCHEMA

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.session: int | None = None
        """The session `append_many` writes to: the last one `new_session` opened."""
        self._connection = None

    async def new_session(self, started_ns: int, note: str = "") -> int:
        """Open a session (one run of `tradebus record`), make it current and return its id."""
        async with self._open().execute(_INSERT_SESSION, (started_ns, note)) as cursor:
            session = cursor.lastrowid
        if session is None:  # cannot happen after an INSERT into a rowid table
            raise RuntimeError(f"recording {self.path}: the new session has no id")
        self.session = session
        return session

    async def append_many(self, items: Sequence[MarketData]) -> None:
        """Append `items` to the current session, in order, in one transaction.

        Raises:
            TypeError: an item is not market data (nothing is written).
            RuntimeError: no session is open.
        """
        if self.session is None:
            raise RuntimeError(f"recording {self.path}: no session (call new_session first)")
        rows = _rows(self.session, items)
        if not rows:
            return
        connection = self._open()
        async with write_transaction(connection):
            await connection.executemany(_INSERT_ITEM, rows)

    async def align_to(
        self, items: Iterable[MarketData], *, batch: int = DEFAULT_CHUNK_ROWS
    ) -> RecordingAlignment:
        """Make the file's rows (every session, in `seq` order) exactly `items`, in order.

        The rows are taken to be a prefix of `items` or `items` a prefix of them (the
        journal a daemon's recording follows), checked on the last row both hold: rows
        past the items are deleted, items past the rows appended to the last session (a
        new one, when the file has none). A file whose rows do not match is left alone.
        Call it before `new_session`.
        """
        connection = self._open()
        held = await self.count()
        last_row = await self._row_at(held - 1) if held else None
        appended = 0
        position = 0
        pending: list[MarketData] = []
        session: int | None = None
        for item in items:
            if position < held:
                position += 1
                if position == held and last_row is not None and \
                        last_row[1] != encode_msgpack(item):
                    return RecordingAlignment(dropped=0, appended=0, foreign=True)
                continue
            pending.append(item)
            if len(pending) >= batch:
                session = await self._append_to_last(pending, session)
                appended += len(pending)
                pending = []
        if pending:
            session = await self._append_to_last(pending, session)
            appended += len(pending)
        dropped = 0
        if position < held:  # the recording is ahead of the items: drop its tail
            cut = await self._row_at(position - 1) if position else None
            cut_seq = cut[0] if cut is not None else 0
            async with write_transaction(connection):
                cursor = await connection.execute("DELETE FROM recording WHERE seq > ?",
                                                  (cut_seq,))
                dropped = cursor.rowcount
        return RecordingAlignment(dropped=dropped, appended=appended)

    async def _row_at(self, index: int) -> tuple[int, bytes] | None:
        sql = "SELECT seq, payload FROM recording ORDER BY seq LIMIT 1 OFFSET ?"
        async with self._open().execute(sql, (index,)) as cursor:
            row = await cursor.fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    async def _append_to_last(self, items: Sequence[MarketData], session: int | None) -> int:
        if session is None:
            sql = "SELECT max(session) FROM recording_sessions"
            async with self._open().execute(sql) as cursor:
                row = await cursor.fetchone()
            session = row[0] if row is not None else None
            if session is None:
                session = await self.new_session(items[0].ts_init, note="from the journal")
        connection = self._open()
        async with write_transaction(connection):
            await connection.executemany(_INSERT_ITEM, _rows(session, items))
        return session

    async def count(self, session: int | None = None) -> int:
        """Return how many items the file holds, or one session of it holds."""
        sql, parameters = _select("count(*)", session, None)
        async with self._open().execute(sql, parameters) as cursor:
            row = await cursor.fetchone()
        return 0 if row is None else int(row[0])


class RecordingAlignment(msgspec.Struct, frozen=True, kw_only=True):
    """What `align_to` did: rows it dropped and appended, or that the file is foreign."""

    dropped: int
    appended: int
    foreign: bool = False
    """The file's rows are not a prefix of the items (another journal's): left untouched."""


class RecordingWriterStatistics(msgspec.Struct, frozen=True, kw_only=True):
    appended: int
    written: int
    dropped: int
    pending: int
    batches: int


class RecordingWriter:
    """Take items from sync code (`append`) and write them in batches from one task (`run`).

    A batch is written once `batch_size` items wait or `flush_interval` seconds after the
    first of them arrived, whichever comes first. Memory is bounded: past `max_pending`
    waiting items (the disk cannot keep up) new items are dropped and counted, never
    blocked on. Cancelling `run` writes what is still pending before it returns.
    """

    def __init__(
        self,
        store: AsyncRecordingStore,
        *,
        batch_size: int = 1_000,
        flush_interval: float = 0.25,
        max_pending: int = 1_000_000,
    ) -> None:
        if batch_size <= 0 or max_pending <= 0:
            raise ValueError(f"batch_size {batch_size}, max_pending {max_pending}: must be > 0")
        if flush_interval < 0:
            raise ValueError(f"flush_interval {flush_interval}: must not be negative")
        self.store = store
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        self._pending: list[MarketData] = []
        self._wake = anyio.Event()
        self._lock = anyio.Lock()
        self._appended = 0
        self._written = 0
        self._dropped = 0
        self._batches = 0

    def append(self, item: MarketData) -> None:
        """Queue `item` for writing; never blocks (drops and counts it when full)."""
        pending = self._pending
        if len(pending) >= self.max_pending:
            self._dropped += 1
            return
        pending.append(item)
        self._appended += 1
        if len(pending) == 1 or len(pending) == self.batch_size:
            self._wake.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Write batches until cancelled, then write what is left."""
        task_status.started()
        try:
            while True:
                await self._wake.wait()
                self._wake = anyio.Event()
                if len(self._pending) < self.batch_size:
                    with anyio.move_on_after(self.flush_interval):
                        await self._wake.wait()  # set early when the batch fills
                    self._wake = anyio.Event()
                await self.flush()
        finally:
            with anyio.CancelScope(shield=True):
                await self.flush()

    async def flush(self) -> None:
        """Write everything appended so far; on failure the items stay pending."""
        async with self._lock:
            batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                await self.store.append_many(batch)
            except BaseException:
                self._pending[:0] = batch  # keep the arrival order for the next try
                self._wake.set()
                raise
            self._written += len(batch)
            self._batches += 1

    def statistics(self) -> RecordingWriterStatistics:
        return RecordingWriterStatistics(
            appended=self._appended,
            written=self._written,
            dropped=self._dropped,
            pending=len(self._pending),
            batches=self._batches,
        )


class RecordingSource:
    """A `MarketDataSource` over a recording file: items in arrival (`seq`) order.

    Opened read-only on each iteration. `session` and `instrument_ids` narrow what is
    read. A replay orders by `ts_init`, so an item recorded earlier than the one before
    it (two sessions whose times overlap) stops the iteration with a `DataError`
    rather than reaching a clock that cannot go back: pick one `session` then.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        session: int | None = None,
        instrument_ids: Sequence[str] | None = None,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> None:
        if chunk_rows <= 0:
            raise ValueError(f"chunk_rows {chunk_rows}: must be positive")
        self.path = Path(path)
        self.session = session
        self.instrument_ids = None if instrument_ids is None else tuple(instrument_ids)
        self.chunk_rows = chunk_rows

    def __iter__(self) -> Iterator[MarketData]:
        source = str(self.path)
        sql, parameters = _select("seq, ts_init, payload", self.session, self.instrument_ids)
        connection = connect(self.path, _STORE_SCHEMA, read_only=True)
        try:
            cursor = connection.execute(sql + " ORDER BY seq", parameters)
            previous_ts: int | None = None
            while rows := cursor.fetchmany(self.chunk_rows):
                for seq, ts_init, payload in rows:
                    if previous_ts is not None and ts_init < previous_ts:
                        raise DataError(source, seq, f"ts_init {ts_init}: before the previous "
                                        f"item's {previous_ts} (replay one session at a time)")
                    previous_ts = ts_init
                    yield _decode(payload, source, seq)
        finally:
            connection.close()

    def sessions(self) -> list[RecordingSession]:
        """Summarize every session of the file (filters not applied), oldest first."""
        connection = connect(self.path, _STORE_SCHEMA, read_only=True)
        try:
            rows = connection.execute(_SELECT_SESSIONS).fetchall()
        finally:
            connection.close()
        return [
            RecordingSession(session=row[0], started_ns=row[1], note=row[2], items=row[3],
                             first_ts_init=row[4], last_ts_init=row[5])
            for row in rows
        ]

    def __repr__(self) -> str:
        return f"RecordingSource({str(self.path)!r}, session={self.session})"


def _rows(session: int, items: Iterable[MarketData]) -> list[tuple[int, int, int, str, str, bytes]]:
    rows = []
    for item in items:
        kind = _KINDS.get(type(item))
        if kind is None:
            raise TypeError(f"recorded item {type(item).__name__}: not market data")
        instrument_id = (
            item.bar_type.instrument_id if type(item) is Bar else item.instrument_id  # type: ignore[union-attr]
        )
        rows.append(
            (session, item.ts_init, item.ts_event, kind, instrument_id, encode_msgpack(item))
        )
    return rows


def _select(
    what: str, session: int | None, instrument_ids: tuple[str, ...] | None
) -> tuple[str, list[Any]]:
    conditions: list[str] = []
    parameters: list[Any] = []
    if session is not None:
        conditions.append("session = ?")
        parameters.append(session)
    if instrument_ids is not None:
        conditions.append(f"instrument_id IN ({', '.join('?' * len(instrument_ids))})")
        parameters.extend(instrument_ids)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT {what} FROM recording{where}", parameters


def _decode(payload: bytes, source: str, seq: int) -> MarketData:
    try:
        item = decode_msgpack(payload)
    except msgspec.DecodeError as error:  # ValidationError included
        raise DataError(source, seq, f"payload: not a message ({error})") from error
    if type(item) not in _KINDS:
        raise DataError(source, seq, f"payload {type(item).__name__}: not market data")
    return item  # type: ignore[return-value]
