"""What the long-running subcommands share: the event loop, signals, the config error line.

The first SIGTERM or SIGINT asks for a graceful stop; a second one exits at once (code
130): what the journal committed is safe either way. uvloop runs the loop where it is
installed.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from engine.errors import ConfigError

__all__ = ("config_error", "run_until_stopped")

logger = logging.getLogger(__name__)


def config_error(error: ConfigError) -> int:
    """Report a bad config on one stderr line (it names the file and field); return 2."""
    sys.stderr.write(f"config error {error}\n")
    return 2


def run_until_stopped(run: Callable[[], Awaitable[int]], request_stop: Callable[[], None]) -> int:
    """Run `run()` on the event loop with the signals wired to `request_stop`; its exit code."""

    async def main() -> int:
        async with anyio.create_task_group() as group:
            group.start_soon(_watch_signals, request_stop)
            code = await run()
            group.cancel_scope.cancel()
        return code

    return anyio.run(main, backend="asyncio", backend_options=_backend_options())


def _backend_options() -> dict[str, Any]:
    try:
        import uvloop  # noqa: F401 - only probing that it is installed
    except ImportError:
        return {}
    return {"use_uvloop": True}


async def _watch_signals(on_first: Callable[[], None]) -> None:
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
