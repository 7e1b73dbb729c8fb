"""RequestPolicy: how one REST request is sent, retried and read (the table in `errors`).

A command (submit, cancel) is retried only when the exchange refused it unprocessed
(rate limits); a query is retried on any network trouble. Each try is bounded by the
request timeout; retries wait an exponential backoff with seeded jitter.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import ccxt

from adapters.ccxt.backoff import Backoff
from adapters.ccxt.config import CcxtConfig
from adapters.ccxt.errors import AuthenticationFailed, Outcome, classify, reason_of, unwrap
from engine.errors import OutcomeUnknown, VenueUnavailable

__all__ = ("CommandRefused", "RequestPolicy")

T = TypeVar("T")


class CommandRefused(Exception):
    """The exchange refused a command with a reason (it was not acted on)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RequestPolicy:
    """Send requests for one client; `stop` is called with a refused credential's error.

    Counters: `requests` (tries), `retries`, `unknown` (commands left in doubt).
    """

    def __init__(self, config: CcxtConfig,
                 stop: Callable[[BaseException], AuthenticationFailed]) -> None:
        self._config = config
        self._stop = stop
        self.requests = self.retries = self.unknown = 0

    def _backoff(self) -> Backoff:
        return Backoff(self._config.reconnect_initial_s, self._config.reconnect_max_s,
                       seed=self._config.jitter_seed)

    async def _try(self, request: Callable[[], Awaitable[T]]) -> T:
        self.requests += 1
        try:
            with anyio.fail_after(self._config.request_timeout_s * 1.5):
                return await request()
        except KeyError as raised:  # ccxt's cleanup bug hides its real error (errors.unwrap)
            error = unwrap(raised)
            if error is raised:
                raise
            raise error from raised

    async def command(self, request: Callable[[], Awaitable[T]]) -> T:
        """Send a command.

        Raises:
            CommandRefused: refused with a reason (or the credentials were refused).
            OutcomeUnknown: it may or may not have been processed.
            VenueUnavailable: refused unprocessed `retry_attempts` times.
        """
        venue = self._config.venue
        backoff = self._backoff()
        for attempt in range(self._config.retry_attempts):
            try:
                return await self._try(request)
            except (ccxt.BaseError, TimeoutError, OSError) as error:
                outcome = classify(error)
                if outcome is Outcome.STOP:
                    failure = self._stop(error)
                    raise CommandRefused(f"adapter stopped: {failure}") from failure
                if outcome is Outcome.REJECT:
                    raise CommandRefused(reason_of(error)) from error
                if outcome is Outcome.UNKNOWN:
                    self.unknown += 1
                    raise OutcomeUnknown(f"venue {venue}: {reason_of(error)}") from error
                if attempt + 1 == self._config.retry_attempts:
                    raise VenueUnavailable(f"venue {venue}: refused "
                                           f"{self._config.retry_attempts} times, last: "
                                           f"{reason_of(error)}") from error
                self.retries += 1
                await anyio.sleep(backoff.next_delay())
        raise AssertionError("unreachable: the loop returns or raises")

    async def query(self, request: Callable[[], Awaitable[T]]) -> T:
        """Send a query; a refusal with a reason (OrderNotFound, ...) reaches the caller
        as ccxt raised it.

        Raises:
            AuthenticationFailed: the credentials were refused (the client stopped).
            VenueUnavailable: network trouble through `retry_attempts` tries.
        """
        backoff = self._backoff()
        for attempt in range(self._config.retry_attempts):
            try:
                return await self._try(request)
            except (ccxt.BaseError, TimeoutError, OSError) as error:
                outcome = classify(error)
                if outcome is Outcome.STOP:
                    raise self._stop(error) from error
                if outcome is Outcome.REJECT:
                    raise
                if attempt + 1 == self._config.retry_attempts:
                    raise VenueUnavailable(f"venue {self._config.venue}: "
                                           f"{reason_of(error)}") from error
                self.retries += 1
                await anyio.sleep(backoff.next_delay())
        raise AssertionError("unreachable: the loop returns or raises")
