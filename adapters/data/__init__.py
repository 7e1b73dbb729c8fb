"""Recorded bars: CSV files, compact in-memory columns, and a SQLite bar store."""

from adapters.data.columns import BarColumns
from adapters.data.csv_bars import (
    CSV_HEADER,
    CsvBarSource,
    load_bars_csv,
    read_bars_csv,
    sample_bars_path,
)
from adapters.data.sqlite_bars import AsyncSqliteBarStore, SqliteBarSource, SqliteBarStore

__all__ = (
    "CSV_HEADER",
    "AsyncSqliteBarStore",
    "BarColumns",
    "CsvBarSource",
    "SqliteBarSource",
    "SqliteBarStore",
    "load_bars_csv",
    "read_bars_csv",
    "sample_bars_path",
)
