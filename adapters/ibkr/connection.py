"""One connection to TWS / IB Gateway, kept up by the adapter itself.

ib_async does not reconnect (IBC would, restarting the gateway): `IbkrConnection.run`
connects, runs the owner's `on_connected` re-sync, reports started after the first
one, waits for the socket to go, and connects again after `Backoff`'s delays, until
cancelled. Every ib_async object of a session (trades, tickers, bar lists) is new after
a reconnect: owners keep their own state and re-key it in `on_connected`.

ib_async's decoder logs a message it cannot decode and drops it; the connection gives
the decoder a logger of its own (a child of `ib_async.Decoder`, so handlers there still
see it) whose errors are counted as `malformed_messages`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import msgspec
from anyio.abc import TaskStatus
from ib_async import IB

from adapters.ibkr.config import BackoffConfig, IbkrConnectionConfig

__all__ = ("Backoff", "ConnectionStatistics", "IbkrConnection")

logger = logging.getLogger(__name__)


class Backoff:
    """Reconnect delays: exponential, capped, with jitter from a seeded generator."""

    def __init__(self, config: BackoffConfig) -> None:
        self._config = config
        self._random = random.Random(config.seed)

    def __repr__(self) -> str:
        return f"Backoff(seed={self._config.seed})"

    def delay(self, attempt: int) -> float:
        """Seconds to wait before connection attempt `attempt` + 1 (0: the first retry)."""
        config = self._config
        base = min(config.maximum_s, config.initial_s * config.factor ** attempt)
        return max(0.0, base * (1 + config.jitter * (2 * self._random.random() - 1)))


class ConnectionStatistics(msgspec.Struct, frozen=True, kw_only=True):
    connects: int
    disconnects: int
    failed_attempts: int
    malformed_messages: int
    handler_errors: int
    """Exceptions raised by the owners' handlers of ib_async events (logged, isolated)."""
    connected: bool


class _CountingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


class IbkrConnection:
    """An `ib_async.IB` and the loop that keeps it connected (see the module docstring).

    Args:
        config: gateway address, client id, account, timeouts and backoff.
        name: for logs and the decoder's logger (the venue or feed it serves).
    """

    def __init__(self, config: IbkrConnectionConfig, *, name: str) -> None:
        self.config = config
        self.name = name
        self.ib = IB()
        self._backoff = Backoff(config.backoff)
        self._malformed = _CountingHandler()
        # A logger of this connection's own, outside logging's registry (so it goes with
        # the connection and counts only its decoder), propagating to ib_async's.
        decoder_logger = logging.Logger(f"ib_async.Decoder.{name}.{config.client_id}")
        decoder_logger.parent = logging.getLogger("ib_async.Decoder")
        decoder_logger.addHandler(self._malformed)
        self.ib.client.decoder.logger = decoder_logger
        self._connects = 0
        self._disconnects = 0
        self._failed = 0
        self._handler_errors = 0
        self._lost: anyio.Event | None = None
        self._synced = False
        self.ib.disconnectedEvent += self._on_disconnected

    @property
    def connected(self) -> bool:
        return self.ib.isConnected() and self._lost is not None and not self._lost.is_set()

    @property
    def synced(self) -> bool:
        """True once `on_connected` finished, until the connection goes: what arrives while
        False is the re-sync of a (re)connect, not the live stream."""
        return self._synced and self.connected

    @property
    def account(self) -> str:
        """The configured account, else the one the gateway manages (empty if several)."""
        if self.config.account:
            return self.config.account
        accounts = self.ib.managedAccounts() if self.ib.isConnected() else []
        return accounts[0] if len(accounts) == 1 else ""

    def statistics(self) -> ConnectionStatistics:
        return ConnectionStatistics(
            connects=self._connects, disconnects=self._disconnects,
            failed_attempts=self._failed, malformed_messages=self._malformed.count,
            handler_errors=self._handler_errors, connected=self.connected,
        )

    def listen(self, event: Any, handler: Callable[..., None]) -> None:
        """Call `handler` on each emit of one of `ib`'s events (an eventkit Event: untyped).

        eventkit would log an exception from a handler and carry on, unseen: here it is
        logged with what was emitted and counted in `handler_errors`, and the next
        message is handled as usual (one bad message never stops the stream).
        """
        event.connect(handler, error=self._on_handler_error)

    def _on_handler_error(self, source: Any, error: Exception) -> None:
        self._handler_errors += 1
        logger.error("%s: handler of %s failed: %r", self.name, source.name(), error,
                     exc_info=error)

    async def run(
        self,
        on_connected: Callable[[IB], Awaitable[None]],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Connect, run `on_connected`, report started; reconnect whenever the socket goes.

        Blocks until cancelled; disconnects on the way out.
        """
        config = self.config
        started = False
        attempt = 0
        try:
            while True:
                self._synced = False
                self._lost = anyio.Event()
                try:
                    await self.ib.connectAsync(
                        config.host, config.port, clientId=config.client_id,
                        timeout=config.connect_timeout_s, account=config.account,
                    )
                except (OSError, TimeoutError, ConnectionError) as error:
                    self._failed += 1
                    delay = self._backoff.delay(attempt)
                    attempt += 1
                    logger.warning("%s: connecting to %s:%s failed (%r); retry in %.3f s",
                                   self.name, config.host, config.port, error, delay)
                    await anyio.sleep(delay)
                    continue
                attempt = 0
                self._connects += 1
                logger.info("%s: connected to %s:%s as client %s", self.name, config.host,
                            config.port, config.client_id)
                try:
                    await on_connected(self.ib)
                except ConnectionError as error:  # lost again while re-syncing
                    logger.warning("%s: re-sync failed (%r)", self.name, error)
                    self._lost.set()
                self._synced = True
                if not started and not self._lost.is_set():
                    started = True
                    task_status.started()
                await self._lost.wait()
                self._disconnects += 1
                logger.warning("%s: connection lost; reconnecting", self.name)
        finally:
            self.ib.disconnect()

    def _on_disconnected(self) -> None:
        if self._lost is not None:
            self._lost.set()
