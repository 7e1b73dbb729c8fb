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
from engine.persistence.journal_scan import ScanOutcome, scan_checksums
from engine.persistence.journal_verified import (
    VerifiedThrough,
    mark_verified,
    read_verified,
    verify_from,
)
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
    "ScanOutcome",
    "SessionSummary",
    "VerifiedThrough",
    "append_throughput",
    "check_journal",
    "mark_verified",
    "move_journal_aside",
    "prepare_journal",
    "read_mark",
    "read_verified",
    "refuse_partial_read",
    "repair_journal",
    "scan_checksums",
    "storage_failure",
    "verify_journal",
    "verify_from",
    "write_result_json",
)
