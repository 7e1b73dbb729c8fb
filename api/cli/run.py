"""`tradebus run [CONFIG.toml]`: the daemon, a `TradingNode` built from a daemon file.

Without CONFIG it runs the bundled paper config (`api/defaults/paper.toml`). A bad
config exits 2 with one stderr line naming the file and field; signals: see
`api.cli.process`.
"""

from __future__ import annotations

import argparse
import os
import sys

from api.cli.process import config_error, run_until_stopped
from api.compose import build_node, load_daemon_config
from engine.errors import ConfigError, FatalError
from engine.log import configure_logging
from engine.runtime import TradingNode

__all__ = ("add_parser", "run_daemon_command")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `run` to the `tradebus` subcommands."""
    parser = commands.add_parser("run", help="run the daemon (default: paper mode on the sample)")
    parser.add_argument("config", nargs="?",
                        help="daemon config (default: the bundled paper one)")
    parser.add_argument("--new-journal", action="store_true",
                        help="start a new journal: an existing one (of another config, or "
                             "damaged) is moved aside under a timestamped name, not deleted")
    parser.set_defaults(handler=run_daemon_command)


def run_daemon_command(arguments: argparse.Namespace) -> int:
    """Run the parsed `run` subcommand until it is stopped; return the exit code."""
    try:
        config, file = load_daemon_config(arguments.config, environ=os.environ)
        node = build_node(config, file=file, environ=os.environ,
                          new_journal=arguments.new_journal)
    except ConfigError as error:
        return config_error(error)
    configure_logging(_NodeClock(node), log_format=config.runtime.log_format)
    try:
        return run_until_stopped(node.run, node.request_stop)
    except BaseException as error:  # interim: api.cli.process is to report FatalError itself
        fatal = _fatal_cause(error)
        if fatal is None:
            raise
        sys.stderr.write(f"fatal {type(fatal).__name__}: {fatal} (advice: {fatal.advice})\n")
        return fatal.exit_code


def _fatal_cause(error: BaseException) -> FatalError | None:
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error if isinstance(error, FatalError) else None


class _NodeClock:
    """The node's clock once it exists (logging starts before the node runs)."""

    def __init__(self, node: TradingNode) -> None:
        self._node = node

    def timestamp_ns(self) -> int:
        clock = self._node.clock
        return clock.timestamp_ns() if clock is not None else 0
