"""`tradebus run` (the daemon) and `tradebus record` (market data to SQLite), with signals.

The first SIGTERM or SIGINT asks for a graceful stop; a second one exits at once (code
130): what the journal committed is safe either way. uvloop runs the loop where it is
installed.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import anyio

from adapters.data.recording import AsyncRecordingStore, RecordingWriter
from adapters.replay import ReplayFeed
from api.daemon import Daemon, first_event_time, load_daemon_config
from engine.clock import LiveClock
from engine.errors import ConfigError
from engine.log import configure_logging

__all__ = ("add_run_parsers", "run_daemon_command", "run_record_command")

logger = logging.getLogger(__name__)


def add_run_parsers(commands: Any) -> None:
    run = commands.add_parser("run", help="run the daemon (default: paper mode on the sample)")
    run.add_argument("config", nargs="?", help="daemon config (default: the bundled paper one)")
    record = commands.add_parser("record", help="record a config's feeds to SQLite")
    record.add_argument("config", help="daemon config whose [[feeds]] to record")
    record.add_argument("--out", help="recording file (default: <data_dir>/<recording>)")


def _backend_options() -> dict[str, Any]:
    try:
        import uvloop  # noqa: F401 - only probing that it is installed
    except ImportError:
        return {}
    return {"use_uvloop": True}


async def _watch_signals(on_first: Any) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        received = 0
        async for signum in signals:
            received += 1
            if received == 1:
                logger.warning("%s: stopping gracefully (send it again to force the exit)",
                               signal.Signals(signum).name)
                on_first()
            else:
                logger.error("%s again: exiting now", signal.Signals(signum).name)
                os._exit(130)


def run_daemon_command(arguments: argparse.Namespace) -> int:
    try:
        config, file = load_daemon_config(arguments.config, environ=os.environ)
        daemon = Daemon(config, file=file)
    except ConfigError as error:
        sys.stderr.write(f"config error {error}\n")
        return 2

    async def main() -> int:
        async with anyio.create_task_group() as group:
            group.start_soon(_watch_signals, daemon.request_stop)
            code = await daemon.run()
            group.cancel_scope.cancel()
        return code

    configure_logging(_ClockProxy(daemon), log_format=config.runtime.log_format)
    return anyio.run(main, backend="asyncio", backend_options=_backend_options())


def run_record_command(arguments: argparse.Namespace) -> int:
    try:
        config, file = load_daemon_config(arguments.config, environ=os.environ)
    except ConfigError as error:
        sys.stderr.write(f"config error {error}\n")
        return 2
    runtime = config.runtime
    out = Path(arguments.out) if arguments.out else Path(runtime.data_dir) / runtime.recording
    out.parent.mkdir(parents=True, exist_ok=True)
    items = [feed.build_items(file.parent) for feed in config.feeds]
    first = first_event_time(items)
    origin = first if runtime.clock_origin == "data" else None
    clock = LiveClock(origin_ns=origin, speed=runtime.speed)
    configure_logging(clock, log_format=runtime.log_format)

    async def main() -> int:
        async with AsyncRecordingStore(out) as store:
            session = await store.new_session(clock.timestamp_ns(), note=str(file))
            writer = RecordingWriter(store)
            async with anyio.create_task_group() as group:
                await group.start(writer.run)
                feeds = [ReplayFeed(source, clock=clock, deliver=writer.append)
                         for source in items]
                stop = anyio.Event()
                group.start_soon(_watch_signals, stop.set)
                async with anyio.create_task_group() as feeds_group:
                    for feed in feeds:
                        feeds_group.start_soon(feed.run)

                    async def until_done() -> None:
                        for feed in feeds:
                            await feed.finished.wait()
                        stop.set()

                    feeds_group.start_soon(until_done)
                    await stop.wait()
                    feeds_group.cancel_scope.cancel()
                await writer.flush()
                logger.info("recorded %d items to %s (session %d)",
                            writer.statistics().written, out, session)
                group.cancel_scope.cancel()
        return 0

    return anyio.run(main, backend="asyncio", backend_options=_backend_options())


class _ClockProxy:
    """The daemon's clock once it exists (logging starts before the daemon runs)."""

    def __init__(self, daemon: Daemon) -> None:
        self._daemon = daemon

    def timestamp_ns(self) -> int:
        clock = self._daemon.clock
        return clock.timestamp_ns() if clock is not None else 0
