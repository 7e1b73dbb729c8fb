"""Backtest results on disk: one SQLite file of runs, and a JSON file per run.

SQLite holds every run (config, report, trades, fills, equity curve) so runs can be
compared with SQL; the JSON file is the same result for tools that want one document.
Decimals are stored as text so nothing is rounded on the way.

Schema 2 added `strategy_id` to trades and fills; a schema-1 file gains the columns
(empty for its old runs) when opened, so old and new runs sit side by side.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Final

import msgspec

if TYPE_CHECKING:
    from engine.backtest import BacktestResult

__all__ = ("ResultStore", "StoredFill", "StoredRun", "StoredTrade", "write_result_json")

SCHEMA_VERSION: Final = 2

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    items_processed INTEGER NOT NULL,
    config TEXT NOT NULL,
    report TEXT NOT NULL,
    balances TEXT NOT NULL,
    statistics TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trades (
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    seq INTEGER NOT NULL,
    instrument_id TEXT NOT NULL,
    side TEXT NOT NULL,
    opened_ns INTEGER NOT NULL,
    closed_ns INTEGER NOT NULL,
    quantity TEXT NOT NULL,
    average_entry_price TEXT NOT NULL,
    average_exit_price TEXT NOT NULL,
    realized_pnl TEXT NOT NULL,
    fees TEXT NOT NULL,
    strategy_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS fills (
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    seq INTEGER NOT NULL,
    ts_event INTEGER NOT NULL,
    client_order_id TEXT NOT NULL,
    instrument_id TEXT NOT NULL,
    side TEXT NOT NULL,
    quantity TEXT NOT NULL,
    price TEXT NOT NULL,
    commission TEXT NOT NULL,
    strategy_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS equity (
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    ts_ns INTEGER NOT NULL,
    equity TEXT NOT NULL
);
"""

_json = msgspec.json.Encoder()

_TRADE_COLUMNS: Final = ("seq, strategy_id, instrument_id, side, opened_ns, closed_ns, quantity, "
                         "average_entry_price, average_exit_price, realized_pnl, fees")
_FILL_COLUMNS: Final = ("seq, strategy_id, ts_event, client_order_id, instrument_id, side, "
                        "quantity, price, commission")


class StoredRun(msgspec.Struct, frozen=True, kw_only=True):
    run_id: int
    name: str
    start_ns: int
    end_ns: int
    items_processed: int
    trades: int
    fills: int


class StoredTrade(msgspec.Struct, frozen=True, kw_only=True):
    """A saved round trip; decimals as the text they were saved as."""

    seq: int
    strategy_id: str
    instrument_id: str
    side: str
    opened_ns: int
    closed_ns: int
    quantity: str
    average_entry_price: str
    average_exit_price: str
    realized_pnl: str
    fees: str


class StoredFill(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    strategy_id: str
    ts_event: int
    client_order_id: str
    instrument_id: str
    side: str
    quantity: str
    price: str
    commission: str


class ResultStore:
    """Append backtest results to a SQLite file (created on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = self._connect()
        try:  # `with connection` only commits: the connection must be closed by hand
            with connection:
                connection.executescript(_SCHEMA)
                for table in ("trades", "fills"):  # a schema-1 file: add the column
                    columns = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
                    if "strategy_id" not in columns:
                        connection.execute(f"ALTER TABLE {table} ADD COLUMN strategy_id TEXT "
                                           "NOT NULL DEFAULT ''")
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        finally:
            connection.close()

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path)

    def save(self, result: BacktestResult, *, config: str) -> int:
        """Store `result` with the config text that produced it; return its run id."""
        connection = self._connect()
        try:
            with connection:
                cursor = connection.execute(
                    "INSERT INTO runs (name, start_ns, end_ns, items_processed, config, report,"
                    " balances, statistics) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        result.name,
                        result.start_ns,
                        result.end_ns,
                        result.items_processed,
                        config,
                        _json.encode(result.report).decode(),
                        _json.encode(result.balances).decode(),
                        _json.encode(result.statistics).decode(),
                    ),
                )
                run_id = int(cursor.lastrowid or 0)
                strategy_ids = result.trade_strategy_ids
                connection.executemany(
                    f"INSERT INTO trades (run_id, {_TRADE_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (run_id, seq, strategy_ids[seq] if seq < len(strategy_ids) else "",
                         t.instrument_id, t.side, t.opened_ns, t.closed_ns,
                         str(t.quantity), str(t.average_entry_price), str(t.average_exit_price),
                         str(t.realized_pnl), str(t.fees))
                        for seq, t in enumerate(result.trades)
                    ],
                )
                connection.executemany(
                    f"INSERT INTO fills (run_id, {_FILL_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (run_id, seq, f.strategy_id, f.ts_event, f.client_order_id,
                         f.instrument_id, str(f.side), str(f.last_quantity), str(f.last_price),
                         str(f.commission))
                        for seq, f in enumerate(result.fills)
                    ],
                )
                connection.executemany(
                    "INSERT INTO equity VALUES (?, ?, ?)",
                    [(run_id, ts, str(value)) for ts, value in result.equity_curve],
                )
        finally:
            connection.close()
        return run_id

    def runs(self) -> list[tuple[int, str, str]]:
        """(run id, name, report JSON) of every stored run, oldest first."""
        connection = self._connect()
        try:
            rows = connection.execute("SELECT run_id, name, report FROM runs ORDER BY run_id")
            return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]
        finally:
            connection.close()


    def run_summaries(self) -> list[StoredRun]:
        """Every stored run with its trade and fill counts, oldest first."""
        connection = self._connect()
        try:
            rows = connection.execute(
                "SELECT run_id, name, start_ns, end_ns, items_processed,"
                " (SELECT count(*) FROM trades t WHERE t.run_id = r.run_id),"
                " (SELECT count(*) FROM fills f WHERE f.run_id = r.run_id)"
                " FROM runs r ORDER BY run_id").fetchall()
        finally:
            connection.close()
        return [StoredRun(run_id=r[0], name=r[1], start_ns=r[2], end_ns=r[3],
                          items_processed=r[4], trades=r[5], fills=r[6]) for r in rows]

    def trades(self, run_id: int) -> list[StoredTrade]:
        """The round trips of run `run_id`, in the order they closed."""
        rows = self._rows(f"SELECT {_TRADE_COLUMNS} FROM trades WHERE run_id = ? ORDER BY seq",
                          run_id)
        return [msgspec.convert(dict(zip(StoredTrade.__struct_fields__, r, strict=True)),
                                StoredTrade) for r in rows]

    def fills(self, run_id: int) -> list[StoredFill]:
        """The fills of run `run_id`, in the order they happened."""
        rows = self._rows(f"SELECT {_FILL_COLUMNS} FROM fills WHERE run_id = ? ORDER BY seq",
                          run_id)
        return [msgspec.convert(dict(zip(StoredFill.__struct_fields__, r, strict=True)),
                                StoredFill) for r in rows]

    def equity_curve(self, run_id: int) -> list[tuple[int, str]]:
        """The sampled equity curve of run `run_id`: (ts_ns, equity as saved), in time order."""
        rows = self._rows("SELECT ts_ns, equity FROM equity WHERE run_id = ? ORDER BY rowid",
                          run_id)
        return [(int(str(r[0])), str(r[1])) for r in rows]

    def report(self, run_id: int) -> str | None:
        """The report JSON of run `run_id`, or None when there is no such run."""
        rows = self._rows("SELECT report FROM runs WHERE run_id = ?", run_id)
        return str(rows[0][0]) if rows else None

    def _rows(self, sql: str, run_id: int) -> list[tuple[object, ...]]:
        connection = self._connect()
        try:
            return list(connection.execute(sql, (run_id,)).fetchall())
        finally:
            connection.close()


def write_result_json(result: BacktestResult, path: str | Path) -> Path:
    """Write the whole result as one JSON document."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(msgspec.json.format(_json.encode(result), indent=2))
    return target
