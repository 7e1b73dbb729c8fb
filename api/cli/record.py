"""`tradebus record CONFIG.toml [--out FILE] [--debug]`: record a daemon file's feeds to SQLite.

The recording can be replayed as a backtest (`[[data]] kind = "recording"`). A bad
config exits 2 with one stderr line naming the file and field. The recording's folder
is locked like a daemon's data dir (a recorder and a daemon never write one file); a
fatal condition (disk full, read-only folder, the folder in use) is one log line and
its exit code; signals: see `api.cli.process` (a stop keeps what was recorded).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from api.cli.process import Runnable, StopSignals, config_error, debug_requested, run_guarded
from api.cli.run import add_debug_flag
from api.compose import FeedRecording, load_daemon_config
from engine.errors import ConfigError
from engine.log import EngineTimeFilter, configure_logging

__all__ = ("add_parser", "run_record_command")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `record` to the `tradebus` subcommands."""
    parser = commands.add_parser("record", help="record a config's feeds to SQLite")
    parser.add_argument("config", help="daemon config whose [[feeds]] to record")
    parser.add_argument("--out", help="recording file (default: <data_dir>/<recording>)")
    add_debug_flag(parser)
    parser.set_defaults(handler=run_record_command)


def run_record_command(arguments: argparse.Namespace) -> int:
    """Run the parsed `record` subcommand; return the exit code."""
    signals = StopSignals()
    with signals.installed():
        try:
            config, file = load_daemon_config(arguments.config, environ=os.environ)
        except ConfigError as error:
            return config_error(error)
        runtime = config.runtime
        out = (Path(arguments.out) if arguments.out
               else Path(runtime.data_dir) / runtime.recording).resolve()
        engine_time = EngineTimeFilter(None)  # the recording's clock, once it exists
        configure_logging(None, log_format=runtime.log_format).addFilter(engine_time)

        def build() -> Runnable:
            recording = FeedRecording(config, file=file, out=out)
            engine_time.clock = recording.clock
            return recording.run, recording.request_stop

        field = "--out" if arguments.out else "$.runtime.data_dir"
        return run_guarded("tradebus record", data_dir=out.parent, where=(field, file),
                           build=build,
                           signals=signals, debug=debug_requested(arguments.debug, os.environ))
