"""Storage on SQLite files: the event journal and backtest results."""

from engine.persistence.journal import (
    JournalCorruption,
    JournalIdentity,
    JournalReader,
    JournalRecord,
    JournalStatistics,
    JournalWriter,
    SessionSummary,
    append_throughput,
)
from engine.persistence.journal_check import (
    JournalFacts,
    JournalReport,
    RepairResult,
    check_journal,
    move_journal_aside,
    prepare_journal,
    refuse_partial_read,
    repair_journal,
    verify_journal,
)
from engine.persistence.journal_mark import HighWaterMark, read_mark
from engine.persistence.results import ResultStore, write_result_json
from engine.persistence.storage_failure import storage_failure

__all__ = (
    "HighWaterMark",
    "JournalCorruption",
    "JournalFacts",
    "JournalIdentity",
    "JournalReader",
    "JournalRecord",
    "JournalReport",
    "JournalStatistics",
    "JournalWriter",
    "RepairResult",
    "ResultStore",
    "SessionSummary",
    "append_throughput",
    "check_journal",
    "move_journal_aside",
    "prepare_journal",
    "read_mark",
    "refuse_partial_read",
    "repair_journal",
    "storage_failure",
    "verify_journal",
    "write_result_json",
)
