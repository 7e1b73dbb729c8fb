"""The `tradebus journal` commands: look into the daemon's event journal.

    tradebus journal list [--journal PATH]        one line per writer session
    tradebus journal export [--journal PATH] [--from-seq N] [--kind KIND ...] [--inputs-only]
                                                  JSON lines on stdout, one per record

Exit codes: 0 success, 2 bad input (a missing or unreadable journal, or a corrupt record:
what came before it is still exported), reported in one line on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import msgspec

from engine.errors import JournalError
from engine.persistence import JournalReader, SessionSummary

__all__ = ("DEFAULT_JOURNAL_PATH", "add_parser", "run_journal")

DEFAULT_JOURNAL_PATH: Final = Path("tradebus-data") / "journal.sqlite"

_json: Final = msgspec.json.Encoder()
_HEADERS: Final = ("session", "seqs", "first", "last", "records", "inputs")


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add `journal list` and `journal export` to the `tradebus` subcommands."""
    journal = subparsers.add_parser("journal", help="inspect the event journal")
    journal.set_defaults(handler=run_journal)
    commands = journal.add_subparsers(dest="journal_command", required=True)
    listing = commands.add_parser("list", help="the journal's sessions")
    export = commands.add_parser("export", help="records as JSON lines on stdout")
    for command in (listing, export):
        command.add_argument(
            "--journal", type=Path, default=DEFAULT_JOURNAL_PATH,
            help=f"journal file (default: {DEFAULT_JOURNAL_PATH})",
        )
    export.add_argument("--from-seq", type=int, default=1, metavar="N", help="first seq")
    export.add_argument(
        "--kind", action="extend", nargs="+", metavar="KIND", dest="kinds",
        help="only these message kinds (tags, e.g. bar order.filled)",
    )
    export.add_argument("--inputs-only", action="store_true", help="only input records")
    return journal


def run_journal(arguments: argparse.Namespace) -> int:
    """Run the parsed `journal` subcommand; return the exit code."""
    path: Path = arguments.journal
    if not path.is_file():
        return _input_error(f"journal {path}: no such file")
    reader = JournalReader(path)
    try:
        if arguments.journal_command == "list":
            _print_sessions(reader.sessions())
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


def _print_sessions(sessions: list[SessionSummary]) -> None:
    rows = [_HEADERS] + [
        (
            str(summary.session),
            f"{summary.first_seq}-{summary.last_seq}",
            _timestamp(summary.first_ts),
            _timestamp(summary.last_ts),
            str(summary.records),
            str(summary.inputs),
        )
        for summary in sessions
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_HEADERS))]
    for row in rows:
        # text columns left-aligned, counts right-aligned
        cells = [
            cell.rjust(width) if column >= 4 else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        sys.stdout.write("  ".join(cells).rstrip() + "\n")


def _timestamp(ns: int) -> str:
    """Format nanoseconds since the epoch as UTC ISO 8601 with milliseconds."""
    moment = datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC)
    milliseconds = ns % 1_000_000_000 // 1_000_000
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{milliseconds:03d}Z"


def _input_error(message: str) -> int:
    sys.stderr.write(f"journal error {message}\n")
    return 2
