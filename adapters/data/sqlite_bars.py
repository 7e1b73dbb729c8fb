"""Store bars in SQLite: `SqliteBarStore` (stdlib, backtests) and `AsyncSqliteBarStore` (daemon).

Schema, version 1 of component "bars" in `schema_version` (a table, not `PRAGMA
user_version`, so the bar tables can share a file with the journal or results stores)::

    bar_types(id, instrument_id, timeframe)       one row per bar type, UNIQUE(name pair)
    bars(bar_type_id, ts_event, ts_init, open, high, low, close, volume)
        PRIMARY KEY (bar_type_id, ts_event) WITHOUT ROWID

The clustered key makes a range read one sequential scan in `ts_event` order. Prices and
volume are REAL: SQLite keeps REAL as IEEE-754 binary64, Python's float, so every value
round-trips bit for bit, reads need no parsing, and a value costs 8 bytes (TEXT of repr
would also be exact but ~2x the space and a `float()` per value on every read). Two
caveats of REAL: -0.0 reads back as 0.0, and NaN cannot be stored (NOT NULL fails).
Writing a bar whose key exists replaces it (re-recording is idempotent, last write wins).
The file runs in WAL mode so a backtest can read while the daemon records.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import AsyncIterator, Iterable, Iterator
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Final, cast

from adapters.data.columns import BarColumns
from adapters.data.sqlite_common import (
    AsyncSqliteStore,
    StoreSchema,
    connect,
    write_transaction,
)
from engine.events import Bar, BarType

__all__ = ("AsyncSqliteBarStore", "SqliteBarSource", "SqliteBarStore")

SCHEMA_COMPONENT: Final = "bars"
SCHEMA_VERSION: Final = 1
DEFAULT_BATCH_ROWS: Final = 10_000
DEFAULT_CHUNK_ROWS: Final = 4_096

_TABLES: Final = """
CREATE TABLE IF NOT EXISTS bar_types (
    id INTEGER PRIMARY KEY,
    instrument_id TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    UNIQUE (instrument_id, timeframe)
);
CREATE TABLE IF NOT EXISTS bars (
    bar_type_id INTEGER NOT NULL REFERENCES bar_types(id),
    ts_event INTEGER NOT NULL,
    ts_init INTEGER NOT NULL,
    open REAL NOT NULL,
    high REAL NOT NULL,
    low REAL NOT NULL,
    close REAL NOT NULL,
    volume REAL NOT NULL,
    PRIMARY KEY (bar_type_id, ts_event)
) WITHOUT ROWID;
"""
_STORE_SCHEMA: Final = StoreSchema(
    component=SCHEMA_COMPONENT,
    version=SCHEMA_VERSION,
    tables=_TABLES,
    noun="bar store",
    version_label="bar",
)
_INSERT_TYPE: Final = "INSERT OR IGNORE INTO bar_types (instrument_id, timeframe) VALUES (?, ?)"
_SELECT_TYPE: Final = "SELECT id FROM bar_types WHERE instrument_id = ? AND timeframe = ?"
_SELECT_TYPES: Final = "SELECT instrument_id, timeframe FROM bar_types ORDER BY 1, 2"
_INSERT_BAR: Final = "INSERT OR REPLACE INTO bars VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_COLUMNS: Final = "ts_event, ts_init, open, high, low, close, volume"

_BarRow = tuple[int, int, float, float, float, float, float]


class SqliteBarStore:
    """Bars in a SQLite file through the stdlib driver: blocking, for backtests and tools.

    One connection, used from the thread that opened it. Created on first use unless
    `read_only`, which opens an existing file without writing to it.

    Raises:
        DataError: the file holds another schema version of the bar tables (line 0).
        FileNotFoundError: `read_only` and the file does not exist.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        read_only: bool = False,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> None:
        if batch_rows <= 0:
            raise ValueError(f"batch_rows {batch_rows}: must be positive")
        self.path = Path(path)
        self.batch_rows = batch_rows
        self._type_ids: dict[BarType, int] = {}
        self._connection = connect(self.path, _STORE_SCHEMA, read_only=read_only)

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> SqliteBarStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def write_bars(self, bars: Iterable[Bar]) -> int:
        """Write `bars` (any mix of bar types) in one transaction; return how many.

        Inserts go in `executemany` batches of `batch_rows`, so `bars` may be a stream.
        All or nothing: an exception rolls the whole call back.
        """
        connection = self._connection
        new_ids: dict[BarType, int] = {}
        written = 0
        connection.execute("BEGIN IMMEDIATE")
        try:
            iterator = iter(bars)
            while batch := list(islice(iterator, self.batch_rows)):
                for bar_type in _unknown_types(batch, self._type_ids, new_ids):
                    connection.execute(_INSERT_TYPE, (bar_type.instrument_id, bar_type.timeframe))
                    row = connection.execute(
                        _SELECT_TYPE, (bar_type.instrument_id, bar_type.timeframe)
                    ).fetchone()
                    new_ids[bar_type] = int(row[0])
                connection.executemany(_INSERT_BAR, _rows(batch, self._type_ids | new_ids))
                written += len(batch)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        self._type_ids.update(new_ids)  # only ids that were committed are remembered
        return written

    def read_bars(
        self,
        bar_type: BarType,
        start_ns: int | None = None,
        end_ns: int | None = None,
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> Iterator[Bar]:
        """Stream the bars of `bar_type` with `start_ns <= ts_event < end_ns`, in ts order.

        Rows come `chunk_rows` at a time from one cursor; a bar type never written yields
        nothing.
        """
        for rows in self._fetch_chunks(bar_type, start_ns, end_ns, chunk_rows):
            yield from _bars(bar_type, rows)

    def read_columns(
        self, bar_type: BarType, start_ns: int | None = None, end_ns: int | None = None
    ) -> BarColumns:
        """Load a range of `read_bars` into compact columns for repeated replays."""
        ts_init: array[int] = array("q")
        columns = BarColumns(bar_type, ts_init=ts_init)
        targets: tuple[array[int] | array[float], ...] = (
            columns.ts_event, ts_init, columns.open, columns.high, columns.low,
            columns.close, columns.volume,
        )
        for rows in self._fetch_chunks(bar_type, start_ns, end_ns, DEFAULT_CHUNK_ROWS):
            for target, values in zip(targets, zip(*rows, strict=True), strict=True):
                target.extend(values)
        if ts_init == columns.ts_event:
            columns.ts_init = None  # the common case keeps six columns
        return columns

    def bar_types(self) -> list[BarType]:
        """Return the stored bar types, sorted by instrument then timeframe."""
        rows = self._connection.execute(_SELECT_TYPES).fetchall()
        return [BarType(instrument_id=row[0], timeframe=row[1]) for row in rows]

    def count(
        self, bar_type: BarType, start_ns: int | None = None, end_ns: int | None = None
    ) -> int:
        """Return how many bars `read_bars` would yield for the same arguments."""
        type_id = self._find_type_id(bar_type)
        if type_id is None:
            return 0
        sql, parameters = _select(type_id, start_ns, end_ns, what="count(*)")
        return int(self._connection.execute(sql, parameters).fetchone()[0])

    def _fetch_chunks(
        self, bar_type: BarType, start_ns: int | None, end_ns: int | None, chunk_rows: int
    ) -> Iterator[list[_BarRow]]:
        type_id = self._find_type_id(bar_type)
        if type_id is None:
            return
        cursor = self._connection.execute(*_select(type_id, start_ns, end_ns))
        try:
            while rows := cursor.fetchmany(chunk_rows):
                yield rows
        finally:
            cursor.close()

    def _find_type_id(self, bar_type: BarType) -> int | None:
        if bar_type in self._type_ids:
            return self._type_ids[bar_type]
        row = self._connection.execute(
            _SELECT_TYPE, (bar_type.instrument_id, bar_type.timeframe)
        ).fetchone()
        return None if row is None else int(row[0])


class SqliteBarSource:
    """A `MarketDataSource` over one bar type of a store file, opened read-only per iteration."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        bar_type: BarType,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.bar_type = bar_type
        self.start_ns = start_ns
        self.end_ns = end_ns

    def __iter__(self) -> Iterator[Bar]:
        with SqliteBarStore(self.path, read_only=True) as store:
            yield from store.read_bars(self.bar_type, self.start_ns, self.end_ns)

    def __repr__(self) -> str:
        return f"SqliteBarSource({str(self.path)!r}, {self.bar_type})"


class AsyncSqliteBarStore(AsyncSqliteStore):
    """The same store through aiosqlite, for the daemon: one connection on its own thread.

    Use as `async with AsyncSqliteBarStore(path) as store:`. asyncio only (aiosqlite).
    Stop a `read_bars` iteration early with `contextlib.aclosing` so its cursor closes.
    """

    schema = _STORE_SCHEMA

    def __init__(self, path: str | os.PathLike[str], *, batch_rows: int = DEFAULT_BATCH_ROWS):
        if batch_rows <= 0:
            raise ValueError(f"batch_rows {batch_rows}: must be positive")
        self.path = Path(path)
        self.batch_rows = batch_rows
        self._type_ids: dict[BarType, int] = {}
        self._connection = None

    async def write_bars(self, bars: Iterable[Bar]) -> int:
        """Write `bars` in one transaction, batched like `SqliteBarStore.write_bars`."""
        connection = self._open()
        new_ids: dict[BarType, int] = {}
        written = 0
        async with write_transaction(connection):
            iterator = iter(bars)
            while batch := list(islice(iterator, self.batch_rows)):
                for bar_type in _unknown_types(batch, self._type_ids, new_ids):
                    names = (bar_type.instrument_id, bar_type.timeframe)
                    await connection.execute(_INSERT_TYPE, names)
                    async with connection.execute(_SELECT_TYPE, names) as cursor:
                        row = await cursor.fetchone()
                    if row is None:  # cannot happen: inserted above in this transaction
                        raise RuntimeError(f"bar type {bar_type}: vanished while writing")
                    new_ids[bar_type] = int(row[0])
                await connection.executemany(_INSERT_BAR, _rows(batch, self._type_ids | new_ids))
                written += len(batch)
        self._type_ids.update(new_ids)
        return written

    async def read_bars(
        self,
        bar_type: BarType,
        start_ns: int | None = None,
        end_ns: int | None = None,
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> AsyncIterator[Bar]:
        """Stream bars like `SqliteBarStore.read_bars`: one thread hop per `chunk_rows` rows."""
        type_id = await self._find_type_id(bar_type)
        if type_id is None:
            return
        async with self._open().execute(*_select(type_id, start_ns, end_ns)) as cursor:
            while rows := await cursor.fetchmany(chunk_rows):
                for bar in _bars(bar_type, cast("list[_BarRow]", rows)):
                    yield bar

    async def bar_types(self) -> list[BarType]:
        async with self._open().execute(_SELECT_TYPES) as cursor:
            rows = await cursor.fetchall()
        return [BarType(instrument_id=row[0], timeframe=row[1]) for row in rows]

    async def count(
        self, bar_type: BarType, start_ns: int | None = None, end_ns: int | None = None
    ) -> int:
        type_id = await self._find_type_id(bar_type)
        if type_id is None:
            return 0
        async with self._open().execute(
            *_select(type_id, start_ns, end_ns, what="count(*)")
        ) as cursor:
            row = await cursor.fetchone()
        return 0 if row is None else int(row[0])

    async def _find_type_id(self, bar_type: BarType) -> int | None:
        if bar_type in self._type_ids:
            return self._type_ids[bar_type]
        names = (bar_type.instrument_id, bar_type.timeframe)
        async with self._open().execute(_SELECT_TYPE, names) as cursor:
            row = await cursor.fetchone()
        return None if row is None else int(row[0])


def _unknown_types(
    batch: list[Bar], known: dict[BarType, int], new: dict[BarType, int]
) -> list[BarType]:
    types = dict.fromkeys(bar.bar_type for bar in batch)  # first-seen order, deterministic
    return [bar_type for bar_type in types if bar_type not in known and bar_type not in new]


def _rows(batch: list[Bar], type_ids: dict[BarType, int]) -> list[tuple[object, ...]]:
    return [
        (
            type_ids[bar.bar_type], bar.ts_event, bar.ts_init,
            bar.open, bar.high, bar.low, bar.close, bar.volume,
        )
        for bar in batch
    ]


def _select(
    type_id: int, start_ns: int | None, end_ns: int | None, *, what: str = _COLUMNS
) -> tuple[str, tuple[int, ...]]:
    sql = f"SELECT {what} FROM bars WHERE bar_type_id = ?"  # `what` is one of two constants
    parameters = [type_id]
    if start_ns is not None:
        sql += " AND ts_event >= ?"
        parameters.append(start_ns)
    if end_ns is not None:
        sql += " AND ts_event < ?"
        parameters.append(end_ns)
    if what == _COLUMNS:
        sql += " ORDER BY ts_event"
    return sql, tuple(parameters)


def _bars(bar_type: BarType, rows: Iterable[_BarRow], bar: type[Bar] = Bar) -> Iterator[Bar]:
    for ts_event, ts_init, open_, high, low, close, volume in rows:
        yield bar(
            ts_event=ts_event, ts_init=ts_init, bar_type=bar_type,
            open=open_, high=high, low=low, close=close, volume=volume,
        )
