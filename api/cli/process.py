"""What the long-running subcommands share: the event loop, signals, fatal errors, the lock.

Signals are handled from process start (`StopSignals`, installed before the config is
read): the first SIGTERM or SIGINT asks for a graceful stop, at any moment (while the
config loads, during recovery, mid-session); a second one exits at once (code 130):
what the journal committed is safe either way. Python runs the handler between two
bytecodes of the main thread even while recovery is busy, and it hands the stop to the
event loop with `call_soon_threadsafe`, so the node sees it at its next yield.

A fatal condition (`engine.errors.FatalError`, a storage error, a journal that cannot be
read) ends the process with one log line (cause, what to do, exit code) and the cause's
exit code (`EXIT_CODES`, docs/daemon.md); the traceback only with `--debug` or
`TRADEBUS_DEBUG=1`. uvloop runs the loop where it is installed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, Final

import anyio

from engine.errors import ConfigError, FatalError, JournalDamaged, JournalError
from engine.persistence.storage_failure import storage_failure
from engine.runtime.instance_lock import InstanceLock

__all__ = (
    "DEBUG_VARIABLE",
    "StopSignals",
    "config_error",
    "debug_requested",
    "fatal_exit",
    "fatal_of",
    "hold_data_dir",
    "run_guarded",
    "run_until_stopped",
)

logger = logging.getLogger("tradebus")

DEBUG_VARIABLE: Final = "TRADEBUS_DEBUG"
_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT)
_JOURNAL_ADVICE: Final = ("check it with `tradebus journal list`; move the file aside to "
                          "start a new journal (the old one is kept for inspection)")


def config_error(error: ConfigError) -> int:
    """Report a bad config on one stderr line (it names the file and field); return 2."""
    sys.stderr.write(f"config error {error}\n")
    return 2


def debug_requested(flag: bool, environ: Mapping[str, str]) -> bool:
    """`--debug`, or TRADEBUS_DEBUG set to anything but "", "0" or "false"."""
    return flag or environ.get(DEBUG_VARIABLE, "").strip().lower() not in ("", "0", "false")


class StopSignals:
    """SIGTERM and SIGINT from the moment `installed()` is entered until it exits.

    Before a target is attached the first signal is only remembered (`requested`): the
    command checks it before it starts anything. Once the loop runs, `attach(stop)`
    hands each first signal to `stop` on the loop's thread.
    """

    def __init__(self) -> None:
        self.requested: str | None = None
        """The first signal's name, once one came."""
        self._deliver: Callable[[], None] | None = None

    @contextmanager
    def installed(self) -> Iterator[StopSignals]:
        previous = {number: signal.signal(number, self._handle) for number in _SIGNALS}
        try:
            yield self
        finally:
            self._deliver = None
            for number, handler in previous.items():
                signal.signal(number, handler)

    def attach(self, stop: Callable[[], None]) -> None:
        """Call `stop` on the running loop for a first signal (now, if one already came)."""
        loop = asyncio.get_running_loop()

        def on_loop() -> None:
            stop()

        self._deliver = lambda: loop.call_soon_threadsafe(on_loop)
        if self.requested is not None:
            self._deliver()

    def _handle(self, number: int, frame: FrameType | None) -> None:
        name = signal.Signals(number).name
        if self.requested is not None:
            logger.error("%s again: exiting now (code 130); the journal keeps what it "
                         "committed", name)
            os._exit(130)
        self.requested = name
        logger.warning("%s: stopping gracefully (send it again to force the exit)", name)
        if self._deliver is not None:
            self._deliver()


def run_until_stopped(
    run: Callable[[], Awaitable[int]], request_stop: Callable[[], None], signals: StopSignals
) -> int:
    """Run `run()` on the event loop with the signals wired to `request_stop`; its exit code."""

    async def main() -> int:
        signals.attach(request_stop)
        return await run()

    return anyio.run(main, backend="asyncio", backend_options=_backend_options())


def _backend_options() -> dict[str, Any]:
    try:
        import uvloop  # noqa: F401 - only probing that it is installed
    except ImportError:
        return {}
    return {"use_uvloop": True}


Runnable = tuple[Callable[[], Awaitable[int]], Callable[[], None]]
"""What a command runs: its `run()` coroutine function and its `request_stop`."""


def run_guarded(
    command: str,
    *,
    data_dir: Path,
    where: tuple[str, Path],
    build: Callable[[], Runnable],
    signals: StopSignals,
    debug: bool,
) -> int:
    """Hold `data_dir`'s lock, `build()` what runs, run it until stopped; the exit code.

    `where` is the config field and file that name `data_dir` (in a config error when
    the folder cannot be made: a path through a file, say).

    A bad config from `build` is the one stderr line (exit 2); a fatal condition is one
    log line and its exit code; a signal before the start exits 0 with nothing started.
    """
    lock: InstanceLock | None = None
    try:
        try:
            _make_folder(data_dir, where)
            lock = hold_data_dir(data_dir, command)
            run, request_stop = build()
        except ConfigError as error:
            return config_error(error)
        if signals.requested is not None:
            logger.warning("%s before the start: exiting, nothing was started",
                           signals.requested)
            return 0
        return run_until_stopped(run, request_stop, signals)
    except Exception as error:
        fatal = fatal_of(error)
        if fatal is None:
            raise
        return fatal_exit(fatal, error, debug=debug)
    finally:
        if lock is not None:
            lock.release()


def hold_data_dir(data_dir: Path, command: str) -> InstanceLock:
    """Take the data dir's lock for the rest of the process (it is released at exit).

    Raises:
        InstanceLocked: another process holds it.
        StorageFailure: the folder cannot be written.
    """
    lock = InstanceLock(data_dir, command=command)
    holder = lock.acquire()
    logger.debug("data dir %s: locked by this process (pid %d)", data_dir, holder.pid)
    return lock


def _make_folder(folder: Path, where: tuple[str, Path]) -> None:
    """Make `folder`; a path that cannot be a folder is the config's fault (exit 2), a
    read-only or full file system the storage's (`StorageFailure`, raised as is)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        failure = storage_failure(error, f"data dir {folder}")
        if failure is not None:
            raise failure from error
        field, file = where
        raise ConfigError(field, f"{folder}: cannot create the folder: "
                          f"{error.strerror or error}", file=str(file)) from error


def fatal_of(error: BaseException) -> FatalError | None:
    """The fatal condition `error` is (the first found in an exception group), or None.

    A `FatalError` as raised; a storage error (disk full, read-only) as a
    `StorageFailure`; a plain `JournalError` (the journal cannot be read) as damaged.
    """
    for leaf in _leaves(error):
        if isinstance(leaf, FatalError):
            return leaf
        failure = storage_failure(leaf, _where(leaf))
        if failure is not None:
            return failure
        if isinstance(leaf, JournalError):
            return JournalDamaged(str(leaf), advice=_JOURNAL_ADVICE)
        cause = leaf.__cause__
        if cause is not None and (found := fatal_of(cause)) is not None:
            return found
    return None


def fatal_exit(fatal: FatalError, error: BaseException, *, debug: bool) -> int:
    """Log `fatal` as one line (with the traceback of `error` if `debug`); its exit code."""
    code = fatal.exit_code
    logger.critical(
        "fatal: %s; what to do: %s (exit %d)", fatal, fatal.advice, code,
        exc_info=error if debug else None,
        extra={"fields": {"exit_code": code, "error_type": type(fatal).__name__,
                          "advice": fatal.advice}},
    )
    return code


def _leaves(error: BaseException) -> Iterator[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error


def _where(error: BaseException) -> str:
    filename = getattr(error, "filename", None)
    return str(filename) if filename else "the data dir"
