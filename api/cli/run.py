"""`tradebus run [CONFIG.toml] [--debug]`: the daemon, a `TradingNode` built from a daemon file.

Without CONFIG it runs the bundled paper config (`api/defaults/paper.toml`). A bad
config exits 2 with one stderr line naming the file and field. One daemon per data dir
(the lock: `engine.runtime.instance_lock`); a fatal condition is one log line and its
exit code (docs/daemon.md); signals: see `api.cli.process`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from api.cli.process import (
    Runnable,
    StopSignals,
    config_error,
    debug_requested,
    run_guarded,
)
from api.compose import build_node, load_daemon_config
from engine.errors import ConfigError
from engine.log import configure_logging
from engine.runtime import TradingNode

__all__ = ("add_debug_flag", "add_parser", "run_daemon_command")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `run` to the `tradebus` subcommands."""
    parser = commands.add_parser("run", help="run the daemon (default: paper mode on the sample)")
    parser.add_argument("config", nargs="?",
                        help="daemon config (default: the bundled paper one)")
    parser.add_argument("--new-journal", action="store_true",
                        help="start a new journal: an existing one (of another config, or "
                             "damaged) is moved aside under a timestamped name, not deleted")
    add_debug_flag(parser)
    parser.set_defaults(handler=run_daemon_command)


def add_debug_flag(parser: argparse.ArgumentParser) -> None:
    """`--debug`: a fatal error's log line carries its traceback (or TRADEBUS_DEBUG=1)."""
    parser.add_argument("--debug", action="store_true",
                        help="log a fatal error's traceback too (also TRADEBUS_DEBUG=1)")


def run_daemon_command(arguments: argparse.Namespace) -> int:
    """Run the parsed `run` subcommand until it is stopped; return the exit code."""
    signals = StopSignals()
    with signals.installed():  # before anything else: a stop is honoured from the start
        try:
            config, file = load_daemon_config(arguments.config, environ=os.environ)
        except ConfigError as error:
            return config_error(error)
        clock = _NodeClock()
        configure_logging(clock, log_format=config.runtime.log_format)

        def build() -> Runnable:
            node = clock.node = build_node(config, file=file, environ=os.environ,
                                          new_journal=arguments.new_journal)
            return node.run, node.request_stop

        return run_guarded("tradebus run", data_dir=Path(config.runtime.data_dir).resolve(),
                           where=("$.runtime.data_dir", file), build=build, signals=signals,
                           debug=debug_requested(arguments.debug, os.environ))


class _NodeClock:
    """The node's clock once it exists (logging starts before the node is built)."""

    def __init__(self) -> None:
        self.node: TradingNode | None = None

    def timestamp_ns(self) -> int:
        clock = self.node.clock if self.node is not None else None
        return clock.timestamp_ns() if clock is not None else 0
