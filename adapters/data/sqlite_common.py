"""Open and write the SQLite store files (bars, recordings) the same way.

Each store is one component in a shared `schema_version` table, so several can live in
one file. Opening one applies the WAL pragmas and the component's schema script (unless
read-only), then checks the stored version; a file that is not SQLite at all becomes a
`DataError` at line 0, like a version that this build does not read. Writes go in
explicit transactions (`write_transaction`) on a connection in autocommit mode.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Final, Self

import aiosqlite
import anyio

from engine.errors import DataError
from engine.persistence.storage_failure import storage_failure

__all__ = ("AsyncSqliteStore", "StoreSchema", "connect", "connect_async", "write_transaction")

_PRAGMAS: Final = ("PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL")
_SELECT_VERSION: Final = "SELECT version FROM schema_version WHERE component = ?"


@dataclass(frozen=True, kw_only=True)
class StoreSchema:
    """What one store component needs to open a file and to name it in errors."""

    component: str
    """Its key in `schema_version`."""
    version: int
    tables: str
    """The component's `CREATE ... IF NOT EXISTS` statements."""
    noun: str
    """What the file is, in messages: "not a {noun}", "{noun} {path}: not open"."""
    version_label: str
    """What the version is of, in messages: "{version_label} schema version 2"."""


def connect(path: Path, schema: StoreSchema, *, read_only: bool) -> sqlite3.Connection:
    """Open `path` through the stdlib driver in autocommit mode (explicit BEGIN/COMMIT).

    Raises:
        DataError: the file is not SQLite or holds another version of the component.
        FileNotFoundError: `read_only` and the file does not exist.
    """
    if read_only and not path.exists():
        raise FileNotFoundError(errno.ENOENT, f"no {schema.noun}", str(path))
    if read_only:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    else:
        connection = sqlite3.connect(path)
    connection.isolation_level = None
    try:
        if not read_only:
            for pragma in _PRAGMAS:
                connection.execute(pragma)
            connection.executescript(_script(schema))
        _check_version(connection.execute(_SELECT_VERSION, (schema.component,)), path, schema)
    except sqlite3.DatabaseError as error:
        connection.close()
        raise _open_error(error, path, schema) from error
    except BaseException:
        connection.close()
        raise
    return connection


async def connect_async(path: Path, schema: StoreSchema) -> aiosqlite.Connection:
    """Open (creating if needed) `path` through aiosqlite in autocommit mode.

    Raises:
        DataError: the file is not SQLite or holds another version of the component.
    """
    connection = await aiosqlite.connect(path, isolation_level=None)
    try:
        for pragma in _PRAGMAS:
            await connection.execute(pragma)
        await connection.executescript(_script(schema))
        async with connection.execute(_SELECT_VERSION, (schema.component,)) as cursor:
            _check_version(await cursor.fetchall(), path, schema)
    except BaseException as error:
        with anyio.CancelScope(shield=True):
            await connection.close()
        if isinstance(error, sqlite3.DatabaseError):
            raise _open_error(error, path, schema) from error
        raise
    return connection


@asynccontextmanager
async def write_transaction(connection: aiosqlite.Connection) -> AsyncIterator[None]:
    """Run the block in one write transaction: committed, or rolled back on any exception.

    The rollback is shielded, so a cancelled task still leaves the file unchanged.
    """
    await connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with anyio.CancelScope(shield=True):
            await connection.execute("ROLLBACK")
        raise
    await connection.execute("COMMIT")


class AsyncSqliteStore:
    """Own one aiosqlite connection to a store file, opened by `async with`.

    A subclass sets `schema`, `path` and `_connection = None` in its `__init__`, and
    reaches the connection through `_open()`.
    """

    schema: ClassVar[StoreSchema]
    path: Path
    _connection: aiosqlite.Connection | None

    async def __aenter__(self) -> Self:
        self._connection = await connect_async(self.path, self.schema)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.close()

    def _open(self) -> aiosqlite.Connection:
        if self._connection is None:
            raise RuntimeError(f"{self.schema.noun} {self.path}: not open (use `async with`)")
        return self._connection


def _open_error(error: sqlite3.Error, path: Path, schema: StoreSchema) -> Exception:
    """A file that cannot be written (read-only, disk full) is a `StorageFailure`, not
    "not a recording": only what SQLite could open and not read is not one."""
    return storage_failure(error, f"{schema.noun} {path}") or DataError(
        str(path), 0, f"not a {schema.noun}: {error}")


def _script(schema: StoreSchema) -> str:
    """Create what is missing and record the version, in one transaction."""
    return f"""
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS schema_version (
    component TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
{schema.tables}INSERT OR IGNORE INTO schema_version (component, version)
    VALUES ('{schema.component}', {schema.version});
COMMIT;
"""


def _check_version(rows: Iterable[Sequence[Any]], path: Path, schema: StoreSchema) -> None:
    versions = [row[0] for row in rows]
    if versions != [schema.version]:
        found = versions[0] if versions else "missing"
        raise DataError(
            str(path),
            0,
            f"{schema.version_label} schema version {found}: this tradebus reads"
            f" {schema.version}",
        )
