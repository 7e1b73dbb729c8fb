"""The `tradebus` command: parse the arguments, hand them to one subcommand module.

    tradebus backtest [CONFIG.toml]   run a backtest (the bundled demo without CONFIG)
    tradebus run [CONFIG.toml]        run the daemon (paper mode on the sample without CONFIG)
    tradebus record CONFIG.toml       record the config's feeds to SQLite
    tradebus journal list|export      read the daemon's event journal
    tradebus results list|trades|fills  read saved backtest runs: trades, fills
    tradebus optimize|walk-forward|validate|stress|portfolio|report|studies
                                      research: see docs/research.md

Exit codes: 0 success, 1 the run failed or a strategy faulted, 2 bad input (config or
data), reported in one line on stderr that names the file and the field or line.

Each subcommand is a module with `add_parser(commands)`, which sets the parser's
`handler`; what it runs comes from the composition root (`api.compose`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from importlib import metadata
from typing import Final

from api.cli import backtest, journal, record, results, run
from api.research import cli as research_cli

__all__ = ("DESCRIPTION", "build_parser", "main", "version")

DESCRIPTION: Final = (
    "tradebus: backtest trading strategies on recorded market data, then paper trade the "
    "same strategies as a long-running daemon, with every event journaled so a restart "
    "resumes where it stopped."
)
EPILOG: Final = (
    "Start with `tradebus backtest` (the bundled demo) or `tradebus run` (paper trading "
    "on the bundled sample); `tradebus COMMAND --help` for each command. Exit codes: 0 "
    "success, 1 the run failed or a strategy faulted, 2 bad input (config or data), "
    "reported in one line naming the file and the field or line. Docs: docs/user-guide.md."
)


def version() -> str:
    """The installed distribution's version (the source tree's when not installed)."""
    try:
        return metadata.version("tradebus")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The `tradebus` parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="tradebus", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"tradebus {version()}",
                        help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (backtest, run, record, journal, results):
        command.add_parser(commands)
    research_cli.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `tradebus` with `argv` (default: the process's arguments); return the exit code."""
    arguments = build_parser().parse_args(argv)
    if arguments.command in research_cli.COMMANDS:
        return research_cli.run(arguments)
    code: int = arguments.handler(arguments)
    return code
