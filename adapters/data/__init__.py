"""Recorded data: CSV bar files, compact columns, a SQLite bar store, session recordings."""

from adapters.data.columns import BarColumns
from adapters.data.csv_bars import (
    CSV_HEADER,
    CsvBarSource,
    CsvSummary,
    check_bars_csv,
    load_bars_csv,
    read_bars_csv,
    sample_bars_path,
)
from adapters.data.recording import (
    AsyncRecordingStore,
    RecordingAlignment,
    RecordingSession,
    RecordingSource,
    RecordingWriter,
    RecordingWriterStatistics,
)
from adapters.data.sqlite_bars import AsyncSqliteBarStore, SqliteBarSource, SqliteBarStore

__all__ = (
    "CSV_HEADER",
    "AsyncRecordingStore",
    "AsyncSqliteBarStore",
    "BarColumns",
    "CsvBarSource",
    "CsvSummary",
    "RecordingSession",
    "RecordingSource",
    "RecordingWriter",
    "RecordingAlignment",
    "RecordingWriterStatistics",
    "SqliteBarSource",
    "SqliteBarStore",
    "check_bars_csv",
    "load_bars_csv",
    "read_bars_csv",
    "sample_bars_path",
)
