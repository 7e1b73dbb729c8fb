"""`tradebus run [CONFIG.toml]`: the daemon, a `TradingNode` built from a daemon file.

Without CONFIG it runs the bundled paper config (`api/defaults/paper.toml`). A bad
config exits 2 with one stderr line naming the file and field; signals: see
`api.cli.process`.
"""

from __future__ import annotations

import argparse
import os

from api.cli.process import config_error, run_until_stopped
from api.compose import build_node, load_daemon_config
from engine.errors import ConfigError
from engine.log import configure_logging
from engine.runtime import TradingNode

__all__ = ("add_parser", "run_daemon_command")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `run` to the `tradebus` subcommands."""
    parser = commands.add_parser("run", help="run the daemon (default: paper mode on the sample)")
    parser.add_argument("config", nargs="?",
                        help="daemon config (default: the bundled paper one)")
    parser.set_defaults(handler=run_daemon_command)


def run_daemon_command(arguments: argparse.Namespace) -> int:
    """Run the parsed `run` subcommand until it is stopped; return the exit code."""
    try:
        config, file = load_daemon_config(arguments.config, environ=os.environ)
        node = build_node(config, file=file, environ=os.environ)
    except ConfigError as error:
        return config_error(error)
    configure_logging(_NodeClock(node), log_format=config.runtime.log_format)
    return run_until_stopped(node.run, node.request_stop)


class _NodeClock:
    """The node's clock once it exists (logging starts before the node runs)."""

    def __init__(self, node: TradingNode) -> None:
        self._node = node

    def timestamp_ns(self) -> int:
        clock = self._node.clock
        return clock.timestamp_ns() if clock is not None else 0
