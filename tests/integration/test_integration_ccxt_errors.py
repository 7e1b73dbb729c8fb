"""Every ccxt error the adapter maps, made by the fake's Binance error codes, gives the
right engine outcome: a rejection with the exchange's reason, an unknown outcome, a
retry, or the adapter stopping."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from adapters.ccxt import AuthenticationFailed, CcxtExecutionClient
from engine.errors import OutcomeUnknown, VenueUnavailable
from engine.events.orders import (
    CancelOrder,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderRejected,
)
from engine.testing.conformance import EventRecorder
from tests.fakes.binance import FakeBinance, running_fake
from tests.fakes.binance.ccxt_support import (
    INSTRUMENT_ID,
    events_of,
    execution_client,
    submit,
    wait_for_count,
)

pytestmark = pytest.mark.integration

TIMEOUT_S = 5.0
"""Longer than `run` takes to end once the credentials are refused."""


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    async with running_fake() as exchange:
        exchange.set_level("BUY", "99.99", "1000")
        exchange.set_level("SELL", "100.01", "1000")
        yield exchange


@pytest.fixture
async def running(fake: FakeBinance) -> AsyncIterator[tuple[CcxtExecutionClient, EventRecorder]]:
    recorder = EventRecorder()
    client = execution_client(fake, recorder)
    async with anyio.create_task_group() as tasks:
        await tasks.start(client.run)
        yield client, recorder
        tasks.cancel_scope.cancel()


@pytest.mark.parametrize(("code", "msg", "status", "expected"), [
    (-2010, "Account has insufficient balance for requested action.", 400, "InsufficientFunds"),
    (-1013, "Filter failure: LOT_SIZE", 400, "InvalidOrder"),
    (-1121, "Invalid symbol.", 400, "BadSymbol"),
], ids=["insufficient_funds", "invalid_order", "bad_symbol"])
async def test_refused_submit_is_rejected_with_the_exchange_reason(
    fake: FakeBinance, running: tuple[CcxtExecutionClient, EventRecorder],
    code: int, msg: str, status: int, expected: str,
) -> None:
    client, recorder = running
    fake.fail_next(code, msg, status, method="POST", path="/api/v3/order")

    await client.submit_order(submit("refused-1"))

    rejected = events_of(recorder.events, OrderRejected, "refused-1")
    assert len(rejected) == 1
    assert rejected[0].reason.startswith(expected)  # type: ignore[attr-defined]
    assert msg in rejected[0].reason  # type: ignore[attr-defined]


@pytest.mark.parametrize(("code", "msg", "status"), [
    (-1007, "Timeout waiting for response from backend server.", 408),
    (-1001, "Internal error; unable to process your request.", 500),
    (0, "Service Unavailable.", 503),
], ids=["request_timeout", "operation_failed", "exchange_not_available"])
async def test_submit_with_unknown_status_raises_outcome_unknown(
    fake: FakeBinance, running: tuple[CcxtExecutionClient, EventRecorder],
    code: int, msg: str, status: int,
) -> None:
    client, recorder = running
    fake.fail_next(code, msg, status, method="POST", path="/api/v3/order")

    with pytest.raises(OutcomeUnknown):
        await client.submit_order(submit("doubt-1"))

    assert client.statistics().outcome_unknown == 1
    assert not events_of(recorder.events, OrderRejected, "doubt-1")


@pytest.mark.parametrize("status", [429, 400], ids=["ddos_protection", "rate_limit_exceeded"])
async def test_rate_limited_submit_is_retried_then_accepted(
    fake: FakeBinance, running: tuple[CcxtExecutionClient, EventRecorder], status: int
) -> None:
    client, recorder = running
    fake.fail_next(-1003, "Too many requests.", status, method="POST", path="/api/v3/order")

    await client.submit_order(submit("limited-1", price="90.00"))

    assert len(events_of(recorder.events, OrderAccepted, "limited-1")) == 1
    assert client.statistics().retries == 1
    assert fake.requests.count("POST /api/v3/order") == 2
    await client.cancel_order(CancelOrder(strategy_id="s", client_order_id="limited-1",
                                          instrument_id=INSTRUMENT_ID, ts_event=0, ts_init=0),
                              None)
    await wait_for_count(recorder, OrderCanceled, "limited-1")


async def test_rate_limited_beyond_retries_raises_venue_unavailable(
    fake: FakeBinance, running: tuple[CcxtExecutionClient, EventRecorder]
) -> None:
    client, _ = running
    for _ in range(3):
        fake.fail_next(-1003, "Too many requests.", 429, method="POST", path="/api/v3/order")

    with pytest.raises(VenueUnavailable):
        await client.submit_order(submit("limited-2"))

    assert fake.state.orders == {}
    assert client.statistics().in_flight == 0  # the caller rejects it; nothing to poll


async def test_cancel_of_unknown_order_is_cancel_rejected_as_order_not_found(
    fake: FakeBinance, running: tuple[CcxtExecutionClient, EventRecorder]
) -> None:
    client, recorder = running

    await client.cancel_order(CancelOrder(strategy_id="s", client_order_id="nobody",
                                          instrument_id=INSTRUMENT_ID, ts_event=0, ts_init=0),
                              None)

    rejected = events_of(recorder.events, OrderCancelRejected, "nobody")
    assert rejected[0].reason.startswith("OrderNotFound")  # type: ignore[attr-defined]


async def test_authentication_error_stops_the_adapter_and_says_so(fake: FakeBinance) -> None:
    recorder = EventRecorder()
    client = execution_client(fake, recorder, environ={
        "TRADEBUS_BINANCE_API_KEY": "wrong-key", "TRADEBUS_BINANCE_SECRET": "x"})

    with pytest.raises(AuthenticationFailed) as raised:
        await client.run()

    assert "authentication failed" in str(raised.value)
    assert client.statistics().stopped.startswith("authentication failed")
    with pytest.raises(VenueUnavailable):
        await client.submit_order(submit("after-stop"))


async def test_authentication_refused_mid_session_ends_run(fake: FakeBinance) -> None:
    recorder = EventRecorder()
    client = execution_client(fake, recorder)
    fake.fail_next(-2015, "Invalid API-key, IP, or permissions for action.", 401,
                   method="GET", path="/api/v3/account")

    with pytest.raises(BaseExceptionGroup) as raised:
        async with anyio.create_task_group() as tasks:
            await tasks.start(client.run)
            with pytest.raises(AuthenticationFailed):
                await client.account()
            await anyio.sleep(TIMEOUT_S)  # run ends first, cancelling this

    assert raised.group_contains(AuthenticationFailed)
    assert client.statistics().stopped.startswith("authentication failed")

