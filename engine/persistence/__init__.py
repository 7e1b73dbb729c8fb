"""Storage on SQLite files: the event journal and backtest results."""

from engine.persistence.journal import (
    JournalCorruption,
    JournalReader,
    JournalRecord,
    JournalStatistics,
    JournalWriter,
    SessionSummary,
    append_throughput,
    truncate_after,
)
from engine.persistence.results import ResultStore, write_result_json
from engine.persistence.storage_failure import storage_failure

__all__ = (
    "JournalCorruption",
    "JournalReader",
    "JournalRecord",
    "JournalStatistics",
    "JournalWriter",
    "ResultStore",
    "SessionSummary",
    "append_throughput",
    "truncate_after",
    "storage_failure",
    "write_result_json",
)
