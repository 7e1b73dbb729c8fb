"""The `tradebus journal` commands: look into the daemon's event journal.

    tradebus journal list [CONFIG | --journal PATH]   one line per writer session
    tradebus journal export [CONFIG | --journal PATH] [--from-seq N] [--kind KIND ...]
                            [--inputs-only]            JSON lines on stdout, one per record
    tradebus journal verify [CONFIG | --journal PATH]  check every record and the mark
    tradebus journal repair [CONFIG | --journal PATH] [--yes]
                                                       keep the valid prefix, back up the rest

The journal is the one the daemon would use: CONFIG's `[runtime]` data dir and journal
name (environment overrides included), relative to the current directory, the bundled
paper config's without CONFIG; `--journal` names a file instead.

Exit codes: 0 success, 2 bad input (a missing or unreadable journal or config, an unknown
`--kind`, or a corrupt record: what came before it is still exported; `repair` without
`--yes`), reported in one line on stderr. `verify` exits 0 for a clean journal, 10 for a
damaged one, 11 for one this build does not read (another schema version); `repair`
exits 0 once it repaired (or found nothing to repair), 12 while a daemon or recorder holds
the journal's data dir (its lock: the file would change under the repair).

`repair` says what it would drop (the seq range, counts by kind, committed records the
file lost) and does it only with `--yes`: the original file, with its -wal, -shm and
mark, is renamed `<name>.damaged-<UTC time>.sqlite`, never deleted, and a new journal
holding the valid records takes its place.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import msgspec

from api.cli.process import config_error
from api.compose import load_daemon_config
from engine.clock import LiveClock
from engine.errors import (
    ConfigError,
    FatalError,
    ForeignJournal,
    JournalDamaged,
    JournalError,
)
from engine.events.codec import TAGS
from engine.persistence import (
    JournalReader,
    JournalReport,
    SessionSummary,
    repair_journal,
    verify_journal,
)
from engine.runtime import InstanceLock

__all__ = ("DEFAULT_JOURNAL_PATH", "add_parser", "run_journal")

DEFAULT_JOURNAL_PATH: Final = Path("tradebus-data") / "journal.sqlite"

_json: Final = msgspec.json.Encoder()
_HEADERS: Final = ("session", "seqs", "first", "last", "records", "inputs",
                    "resumed_after_seq", "ended", "faulted")
_COUNT_COLUMNS: Final = frozenset({4, 5, 6})
_STOPPING: Final = "system.session_stopping"
_FAULTED: Final = "system.actor_faulted"
_FAILED: Final = "system.session_failed"


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add `journal list`, `export`, `verify` and `repair` to the `tradebus` subcommands."""
    journal = subparsers.add_parser("journal", help="inspect the event journal")
    journal.set_defaults(handler=run_journal)
    commands = journal.add_subparsers(dest="journal_command", required=True)
    listing = commands.add_parser("list", help="the journal's sessions")
    export = commands.add_parser("export", help="records as JSON lines on stdout")
    verify = commands.add_parser(
        "verify", help="check every record and the high-water mark (exit 0 clean, 10 damaged)")
    repair = commands.add_parser(
        "repair", help="keep the valid records, keep the original as a backup (needs --yes)")
    repair.add_argument("--yes", action="store_true",
                        help="do it (without: only say what would be dropped)")
    for command in (listing, export, verify, repair):
        command.add_argument(
            "config", nargs="?",
            help="daemon config whose journal to read (default: the bundled paper config's, "
                 f"{DEFAULT_JOURNAL_PATH})",
        )
        command.add_argument(
            "--journal", type=Path, help="journal file to read instead of a config's",
        )
    export.add_argument("--from-seq", type=int, default=1, metavar="N", help="first seq")
    export.add_argument(
        "--kind", action="extend", nargs="+", metavar="KIND", dest="kinds",
        help="only these message kinds (tags, e.g. bar order.filled)",
    )
    export.add_argument("--inputs-only", action="store_true",
                        help="only input records (what a replay reads: market data, timers, "
                             "session markers, venue events)")
    return journal


def run_journal(arguments: argparse.Namespace) -> int:
    """Run the parsed `journal` subcommand; return the exit code."""
    if arguments.journal is not None:
        path: Path = arguments.journal
    else:
        try:
            config, _ = load_daemon_config(arguments.config, environ=os.environ)
        except ConfigError as error:
            return config_error(error)
        path = Path(config.runtime.data_dir) / config.runtime.journal
    if arguments.journal_command == "export" and arguments.kinds:
        unknown = _unknown_kind(arguments.kinds)
        if unknown is not None:
            return _input_error(unknown)
    if arguments.journal_command in ("verify", "repair"):
        return _verify_or_repair(path, repair=arguments.journal_command == "repair",
                                 confirmed=getattr(arguments, "yes", False))
    if not path.is_file():
        return _input_error(f"journal {path}: no such file")
    reader = JournalReader(path)
    try:
        if arguments.journal_command == "list":
            _print_sessions(reader.sessions(), _session_markers(reader))
            return 0
        return _export(reader, arguments)
    except JournalError as error:
        return _input_error(str(error))


def _export(reader: JournalReader, arguments: argparse.Namespace) -> int:
    records = reader.records(
        from_seq=arguments.from_seq, inputs_only=arguments.inputs_only, kinds=arguments.kinds
    )
    write = sys.stdout.write
    try:
        for record in records:
            write(_json.encode(record).decode())
            write("\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    corruption = reader.corruption
    if corruption is not None:
        return _input_error(
            f"journal {reader.path}: corrupt at seq {corruption.seq} ({corruption.reason}):"
            f" {corruption.skipped} records not exported"
        )
    return 0


def _verify_or_repair(path: Path, *, repair: bool, confirmed: bool) -> int:
    report = verify_journal(path)
    if not report.facts.exists and report.facts.mark is None:
        return _input_error(f"journal {path}: no such file")
    write = sys.stdout.write
    for line in report.lines():
        write(line + "\n")
    if report.facts.foreign:
        return ForeignJournal.exit_code
    if not repair:
        return JournalDamaged.exit_code if report.damaged else 0
    if not report.damaged:
        write("nothing to repair\n")
        return 0
    write(_plan(report) + "\n")
    if not confirmed:
        return _input_error(f"journal {path}: not repaired: run `tradebus journal repair "
                            "--yes` to do the above")
    # A daemon (or a recorder) writing this data dir would go on appending to the file
    # being replaced: the repair takes the same lock they take, and is refused while
    # one of them runs.
    lock = InstanceLock(path.parent, command="tradebus journal repair")
    try:
        lock.acquire()
    except FatalError as error:
        sys.stderr.write(f"journal {path}: not repaired: {error}; what to do: "
                         f"{error.advice}\n")
        return error.exit_code
    try:
        result = repair_journal(path, report, now_ns=LiveClock().timestamp_ns())
    except JournalError as error:
        return _input_error(str(error))
    finally:
        lock.release()
    write(f"repaired: kept seq 1..{result.kept_through}; the original is {result.backup}\n")
    return 0


def _plan(report: JournalReport) -> str:
    """What a repair of `report`'s journal keeps and drops, in one line."""
    kept = report.valid_through
    parts = [f"repair keeps seq 1..{kept}" if kept else "repair keeps no record"]
    if report.first_bad_seq is not None and report.after_bad:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(report.dropped_kinds.items()))
        parts.append(f"drops {report.after_bad} records from seq {report.first_bad_seq} on "
                     f"({kinds})")
    if report.missing is not None:
        first, last = report.missing
        parts.append(f"accepts that seq {first}..{last} ({last - first + 1} committed records) "
                     "are lost")
    parts.append("writes a new high-water mark and keeps the original files as a backup")
    return "; ".join(parts)


def _unknown_kind(kinds: Iterable[str]) -> str | None:
    """Why `--kind` names a kind no message has (it would silently export nothing)."""
    known = sorted(TAGS.values())
    for kind in kinds:
        if kind not in known:
            close = difflib.get_close_matches(kind, known, n=3)
            hint = f"did you mean {', '.join(close)}?" if close else (
                "kinds are message tags, e.g. bar, order.filled, command.submit_order; "
                "docs/reference/events.md lists them")
            return f"--kind {kind!r}: no message has this kind ({hint})"
    return None


class _Markers:
    """What a session's journaled markers say: did it stop gracefully, what faulted."""

    def __init__(self) -> None:
        self.stopped = False
        self.failed: str | None = None
        self.faulted: list[str] = []


def _session_markers(reader: JournalReader) -> dict[int, _Markers]:
    markers: dict[int, _Markers] = {}
    for record in reader.records(kinds=[_STOPPING, _FAULTED, _FAILED]):
        mark = markers.setdefault(record.session, _Markers())
        if record.kind == _STOPPING:
            mark.stopped = True
        elif record.kind == _FAILED:
            message = record.message
            mark.failed = f"{getattr(message, 'error_type', '?')}: {getattr(message, 'error', '')}"
        else:
            mark.faulted.append(str(getattr(record.message, "actor_id", "?")))
    return markers


def _print_sessions(sessions: list[SessionSummary], markers: dict[int, _Markers]) -> None:
    rows = [_HEADERS]
    for index, summary in enumerate(sessions):
        mark = markers.get(summary.session, _Markers())
        last = index == len(sessions) - 1
        if mark.failed is not None:
            ended = f"fatal ({mark.failed})"
        elif mark.stopped:
            ended = "graceful"
        else:
            # No marker at all: killed (kill -9, power loss); the last session may also
            # still be running.
            ended = "running|killed" if last else "killed"
        resumed = "-" if index == 0 else str(sessions[index - 1].last_seq)
        rows.append((
            str(summary.session),
            f"{summary.first_seq}-{summary.last_seq}",
            _timestamp(summary.first_ts),
            _timestamp(summary.last_ts),
            str(summary.records),
            str(summary.inputs),
            resumed,
            ended,
            ",".join(mark.faulted) or "-",
        ))
    widths = [max(len(row[column]) for row in rows) for column in range(len(_HEADERS))]
    for row in rows:
        # text columns left-aligned, counts right-aligned
        cells = [
            cell.rjust(width) if column in _COUNT_COLUMNS else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        sys.stdout.write("  ".join(cells) + "\n")  # padded: every line as long


def _timestamp(ns: int) -> str:
    """Format nanoseconds since the epoch as UTC ISO 8601 with milliseconds."""
    moment = datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC)
    milliseconds = ns % 1_000_000_000 // 1_000_000
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{milliseconds:03d}Z"


def _input_error(message: str) -> int:
    sys.stderr.write(f"journal error {message}\n")
    return 2
