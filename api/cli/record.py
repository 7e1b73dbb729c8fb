"""`tradebus record CONFIG.toml [--out FILE]`: record a daemon file's feeds to SQLite.

The recording can be replayed as a backtest (`[[data]] kind = "recording"`). A bad
config exits 2 with one stderr line naming the file and field; signals: see
`api.cli.process` (a stop keeps what was recorded).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from api.cli.process import config_error, run_until_stopped
from api.compose import FeedRecording, load_daemon_config
from engine.errors import ConfigError
from engine.log import configure_logging

__all__ = ("add_parser", "run_record_command")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `record` to the `tradebus` subcommands."""
    parser = commands.add_parser("record", help="record a config's feeds to SQLite")
    parser.add_argument("config", help="daemon config whose [[feeds]] to record")
    parser.add_argument("--out", help="recording file (default: <data_dir>/<recording>)")
    parser.set_defaults(handler=run_record_command)


def run_record_command(arguments: argparse.Namespace) -> int:
    """Run the parsed `record` subcommand; return the exit code."""
    try:
        config, file = load_daemon_config(arguments.config, environ=os.environ)
        runtime = config.runtime
        out = (Path(arguments.out) if arguments.out
               else Path(runtime.data_dir) / runtime.recording)
        recording = FeedRecording(config, file=file, out=out)
    except ConfigError as error:
        return config_error(error)
    configure_logging(recording.clock, log_format=runtime.log_format)
    return run_until_stopped(recording.run, recording.request_stop)
