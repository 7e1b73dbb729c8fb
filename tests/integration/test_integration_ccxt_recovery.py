"""The ccxt execution client through faults of the fake Binance: nothing lost, nothing doubled.

Each test runs the real ccxt.pro client against a fresh fake and breaks one thing: an
executionReport never sent, a submit never answered (placed or not), the private
socket dropped mid-fill, or an error code for each mapped ccxt error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import anyio
import pytest

from adapters.ccxt import AuthenticationFailed, CcxtExecutionClient
from engine.domain.enums import OrderSide, OrderType
from engine.errors import OutcomeUnknown, VenueUnavailable
from engine.events.base import Event
from engine.events.fills import OrderFilled
from engine.events.orders import (
    CancelOrder,
    ModifyOrder,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderRejected,
    OrderUpdated,
    SubmitOrder,
)
from engine.testing.conformance import EventRecorder
from tests.fakes.binance import FakeBinance, running_fake
from tests.fakes.binance.ccxt_support import execution_client

pytestmark = pytest.mark.integration

INSTRUMENT_ID = "BTC/USDT.BINANCE"
TIMEOUT_S = 5.0


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    async with running_fake() as exchange:
        exchange.set_level("BUY", "99.99", "1000")
        exchange.set_level("SELL", "100.01", "1000")
        yield exchange


def submit(client_order_id: str, *, price: str | None = None,
           quantity: str = "0.1", side: OrderSide = OrderSide.BUY) -> SubmitOrder:
    return SubmitOrder(
        strategy_id="s", client_order_id=client_order_id, instrument_id=INSTRUMENT_ID,
        side=side, order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
        quantity=Decimal(quantity), price=None if price is None else Decimal(price),
        ts_event=0, ts_init=0,
    )


def of(events: list[Event] | tuple[Event, ...], kind: type[Event],
       client_order_id: str) -> list[Event]:
    return [e for e in events if type(e) is kind
            and getattr(e, "client_order_id", None) == client_order_id]


async def wait_until(recorder: EventRecorder, kind: type[Event], client_order_id: str,
                     count: int = 1) -> None:
    with anyio.fail_after(TIMEOUT_S):
        while len(of(list(recorder.events), kind, client_order_id)) < count:
            await recorder.wait_for(lambda e: True if len(recorder.events) else False)
            await anyio.sleep(0.01)


@pytest.fixture
async def running(fake: FakeBinance) -> AsyncIterator[tuple[CcxtExecutionClient, EventRecorder]]:
    recorder = EventRecorder()
    client = execution_client(fake, recorder)
    async with anyio.create_task_group() as tasks:
        await tasks.start(client.run)
        yield client, recorder
        tasks.cancel_scope.cancel()


async def test_skipped_execution_reports_recovered_by_backstop_once(
    fake: FakeBinance, running: tuple[CcxtExecutionClient, EventRecorder]
) -> None:
    client, recorder = running
    await client.submit_order(submit("rest-1", price="90.00", quantity="0.2"))
    await wait_until(recorder, OrderAccepted, "rest-1")

    fake.skip_private(2)  # both fills' executionReports never come
    fake.trade_through(Decimal("90.00"), Decimal("0.1"))
    fake.trade_through(Decimal("90.00"))
    await wait_until(recorder, OrderFilled, "rest-1", count=2)
    await anyio.sleep(0.6)  # another backstop round: nothing may come twice

    fills = of(list(recorder.events), OrderFilled, "rest-1")
    assert fake.state.private_skipped == 2
    assert sorted(f.trade_id for f in fills) == ["1", "2"]  # type: ignore[attr-defined]
    assert sum(f.last_quantity for f in fills) == Decimal("0.2")  # type: ignore[attr-defined]
    assert client.statistics().in_flight == 0


async def test_private_stream_dropped_mid_fill_resubscribes_and_recovers(
    fake: FakeBinance, running: tuple[CcxtExecutionClient, EventRecorder]
) -> None:
    client, recorder = running
    await client.submit_order(submit("drop-1", price="90.00"))
    await wait_until(recorder, OrderAccepted, "drop-1")

    fake.skip_private(1)
    fake.drop(private=True)
    fake.trade_through(Decimal("90.00"))  # filled while nobody listens
    await wait_until(recorder, OrderFilled, "drop-1")

    assert client.statistics().reconnects >= 1
    assert fake.user_subscriptions >= 2
    assert len(of(list(recorder.events), OrderFilled, "drop-1")) == 1


async def test_submit_without_answer_is_in_doubt_then_resolved_not_duplicated(
    fake: FakeBinance, running: tuple[CcxtExecutionClient, EventRecorder]
) -> None:
    client, recorder = running
    fake.hold_next_submit(place=True)

    with pytest.raises(OutcomeUnknown):
        await client.submit_order(submit("held-1"))
    await wait_until(recorder, OrderFilled, "held-1")

    matching = [o for o in fake.state.orders.values() if o.client_order_id == "held-1"]
    assert len(matching) == 1
    assert len(of(list(recorder.events), OrderAccepted, "held-1")) == 1
    assert fake.requests.count("POST /api/v3/order") == 1  # never resubmitted


async def test_submit_that_never_arrived_is_rejected_after_the_receive_window(
    fake: FakeBinance,
) -> None:
    recorder = EventRecorder()
    client = execution_client(fake, recorder, request_timeout_s=0.5, recv_window_s=0.5,
                              backstop_interval_s=0.2)
    fake.hold_next_submit(place=False)

    async with anyio.create_task_group() as tasks:
        await tasks.start(client.run)
        with pytest.raises(OutcomeUnknown):
            await client.submit_order(submit("lost-1"))
        await wait_until(recorder, OrderRejected, "lost-1")
        tasks.cancel_scope.cancel()

    rejected = of(list(recorder.events), OrderRejected, "lost-1")[0]
    assert "never reached" in rejected.reason  # type: ignore[attr-defined]
    assert not of(list(recorder.events), OrderAccepted, "lost-1")
    assert fake.requests.count("POST /api/v3/order") == 1


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

    rejected = of(list(recorder.events), OrderRejected, "refused-1")
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
    assert not of(list(recorder.events), OrderRejected, "doubt-1")


@pytest.mark.parametrize("status", [429, 400], ids=["ddos_protection", "rate_limit_exceeded"])
async def test_rate_limited_submit_is_retried_then_accepted(
    fake: FakeBinance, running: tuple[CcxtExecutionClient, EventRecorder], status: int
) -> None:
    client, recorder = running
    fake.fail_next(-1003, "Too many requests.", status, method="POST", path="/api/v3/order")

    await client.submit_order(submit("limited-1", price="90.00"))

    assert len(of(list(recorder.events), OrderAccepted, "limited-1")) == 1
    assert client.statistics().retries == 1
    assert fake.requests.count("POST /api/v3/order") == 2
    await client.cancel_order(CancelOrder(strategy_id="s", client_order_id="limited-1",
                                          instrument_id=INSTRUMENT_ID, ts_event=0, ts_init=0),
                              None)
    await wait_until(recorder, OrderCanceled, "limited-1")


async def test_rate_limited_beyond_retries_raises_venue_unavailable(
    fake: FakeBinance, running: tuple[CcxtExecutionClient, EventRecorder]
) -> None:
    client, _ = running
    for _ in range(3):
        fake.fail_next(-1003, "Too many requests.", 429, method="POST", path="/api/v3/order")

    with pytest.raises(VenueUnavailable):
        await client.submit_order(submit("limited-2"))

    assert fake.state.orders == {}


async def test_cancel_of_unknown_order_is_cancel_rejected_as_order_not_found(
    fake: FakeBinance, running: tuple[CcxtExecutionClient, EventRecorder]
) -> None:
    client, recorder = running

    await client.cancel_order(CancelOrder(strategy_id="s", client_order_id="nobody",
                                          instrument_id=INSTRUMENT_ID, ts_event=0, ts_init=0),
                              None)

    rejected = of(list(recorder.events), OrderCancelRejected, "nobody")
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


async def test_modify_after_a_partial_fill_replaces_the_rest_and_keeps_the_fills(
    fake: FakeBinance, running: tuple[CcxtExecutionClient, EventRecorder]
) -> None:
    client, recorder = running
    await client.submit_order(submit("mod-1", price="90.00", quantity="0.3"))
    await wait_until(recorder, OrderAccepted, "mod-1")
    fake.trade_through(Decimal("90.00"), Decimal("0.1"))
    await wait_until(recorder, OrderFilled, "mod-1")

    await client.modify_order(ModifyOrder(strategy_id="s", client_order_id="mod-1",
                                          instrument_id=INSTRUMENT_ID, price=Decimal("89.00"),
                                          quantity=Decimal("0.3"), ts_event=0, ts_init=0),
                              None)
    (updated,) = of(list(recorder.events), OrderUpdated, "mod-1")
    report = await client.order_status(instrument_id=INSTRUMENT_ID, client_order_id="mod-1",
                                       venue_order_id=None)
    fake.trade_through(Decimal("89.00"))
    await wait_until(recorder, OrderFilled, "mod-1", count=2)

    legs = sorted(fake.state.orders.values(), key=lambda o: o.order_id)
    assert [(o.status, o.quantity, o.executed) for o in legs] == [
        ("CANCELED", Decimal("0.3"), Decimal("0.1")), ("FILLED", Decimal("0.2"), Decimal("0.2"))]
    assert updated.venue_order_id == str(legs[1].order_id)  # type: ignore[attr-defined]
    assert report is not None and (report.quantity, report.filled_quantity, report.price) == (
        Decimal("0.3"), Decimal("0.1"), Decimal("89.00"))
    fills = of(list(recorder.events), OrderFilled, "mod-1")
    assert sum(f.last_quantity for f in fills) == Decimal("0.3")  # type: ignore[attr-defined]
    assert not of(list(recorder.events), OrderCanceled, "mod-1")
