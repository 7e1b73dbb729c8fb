"""RequestPolicy: what a command and a query do with each kind of ccxt error (no network)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import ccxt
import pytest

from adapters.ccxt import AuthenticationFailed, CcxtConfig, CommandRefused, RequestPolicy
from engine.errors import OutcomeUnknown, VenueUnavailable

CONFIG = CcxtConfig(reconnect_initial_s=0.001, reconnect_max_s=0.002, retry_attempts=3)


def failing(*errors: BaseException) -> Callable[[], Awaitable[str]]:
    """A request raising `errors` in turn, then answering "ok"."""
    remaining = list(errors)

    async def request() -> str:
        if remaining:
            raise remaining.pop(0)
        return "ok"

    return request


def policy() -> tuple[RequestPolicy, list[BaseException]]:
    stopped: list[BaseException] = []

    def stop(error: BaseException) -> AuthenticationFailed:
        stopped.append(error)
        return AuthenticationFailed("stopped")

    return RequestPolicy(CONFIG, stop), stopped


async def test_command_refused_unprocessed_is_retried_then_answered() -> None:
    requests, _ = policy()

    answer = await requests.command(failing(ccxt.DDoSProtection("429"),
                                            ccxt.RateLimitExceeded("-1003")))

    assert (answer, requests.retries, requests.requests) == ("ok", 2, 3)


async def test_command_with_a_reason_or_an_unknown_outcome_is_never_retried() -> None:
    requests, _ = policy()

    with pytest.raises(CommandRefused, match="InsufficientFunds: no money"):
        await requests.command(failing(ccxt.InsufficientFunds("no money")))
    with pytest.raises(OutcomeUnknown):
        await requests.command(failing(ccxt.RequestTimeout("slow")))

    assert (requests.retries, requests.unknown, requests.requests) == (0, 1, 2)


async def test_command_refused_every_time_is_venue_unavailable() -> None:
    requests, _ = policy()

    with pytest.raises(VenueUnavailable, match="refused 3 times"):
        await requests.command(failing(*[ccxt.DDoSProtection("429")] * 3))


async def test_refused_credentials_stop_the_client() -> None:
    requests, stopped = policy()

    with pytest.raises(CommandRefused, match="adapter stopped"):
        await requests.command(failing(ccxt.AuthenticationError("-2015")))
    with pytest.raises(AuthenticationFailed):
        await requests.query(failing(ccxt.AuthenticationError("-2015")))

    assert len(stopped) == 2


async def test_query_retries_network_trouble_and_passes_refusals_through() -> None:
    requests, _ = policy()

    assert await requests.query(failing(ccxt.NetworkError("reset"),
                                        ccxt.ExchangeNotAvailable("503"))) == "ok"
    with pytest.raises(ccxt.OrderNotFound):
        await requests.query(failing(ccxt.OrderNotFound("-2013")))
    assert requests.retries == 2
