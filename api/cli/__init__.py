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

from api.cli import backtest, journal, record, results, run
from api.research import cli as research_cli

__all__ = ("main",)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `tradebus` with `argv` (default: the process's arguments); return the exit code."""
    parser = argparse.ArgumentParser(prog="tradebus", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for command in (backtest, run, record, journal, results):
        command.add_parser(commands)
    research_cli.add_parsers(commands)
    arguments = parser.parse_args(argv)
    if arguments.command in research_cli.COMMANDS:
        return research_cli.run(arguments)
    code: int = arguments.handler(arguments)
    return code
