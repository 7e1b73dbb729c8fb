"""The ccxt execution client through faults of the fake Binance: nothing lost, nothing doubled.

Each test runs the real ccxt.pro client against a fresh fake and breaks one thing: an
executionReport never sent, a submit never answered (placed or not), the private
socket dropped mid-fill; and a modify after a partial fill (a cancel-replace).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import anyio
import pytest

from adapters.ccxt import CcxtExecutionClient
from engine.errors import OutcomeUnknown
from engine.events.fills import OrderFilled
from engine.events.orders import (
    EXTERNAL_STRATEGY_ID,
    ModifyOrder,
    OrderAccepted,
    OrderCanceled,
    OrderModifyRejected,
    OrderRejected,
    OrderUpdated,
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


async def test_skipped_execution_reports_recovered_by_backstop_once(
    fake: FakeBinance, running: tuple[CcxtExecutionClient, EventRecorder]
) -> None:
    client, recorder = running
    await client.submit_order(submit("rest-1", price="90.00", quantity="0.2"))
    await wait_for_count(recorder, OrderAccepted, "rest-1")

    fake.skip_private(2)  # both fills' executionReports never come
    fake.trade_through(Decimal("90.00"), Decimal("0.1"))
    fake.trade_through(Decimal("90.00"))
    await wait_for_count(recorder, OrderFilled, "rest-1", count=2)
    await anyio.sleep(0.6)  # another backstop round: nothing may come twice

    fills = events_of(recorder.events, OrderFilled, "rest-1")
    assert fake.state.private_skipped == 2
    assert sorted(f.trade_id for f in fills) == ["1", "2"]  # type: ignore[attr-defined]
    assert sum(f.last_quantity for f in fills) == Decimal("0.2")  # type: ignore[attr-defined]
    assert client.statistics().in_flight == 0


async def test_private_stream_dropped_mid_fill_resubscribes_recovers_and_reconciles(
    fake: FakeBinance,
) -> None:
    recorder = EventRecorder()
    reconciled: list[int] = []

    async def reconcile() -> None:  # what a node does on the bridge's `reconnected`
        reconciled.append(len(events_of(recorder.events, OrderFilled, "drop-1")))

    client = execution_client(fake, recorder, on_reconnected=reconcile)
    async with anyio.create_task_group() as tasks:
        await tasks.start(client.run)
        await client.submit_order(submit("drop-1", price="90.00"))
        await wait_for_count(recorder, OrderAccepted, "drop-1")

        fake.skip_private(1)
        fake.drop(private=True)
        fake.trade_through(Decimal("90.00"))  # filled while nobody listens
        await wait_for_count(recorder, OrderFilled, "drop-1")
        with anyio.fail_after(5):
            while not reconciled:  # noqa: ASYNC110 (the callback sets no event)
                await anyio.sleep(0.01)
        tasks.cancel_scope.cancel()

    assert client.statistics().reconnects >= 1 and fake.user_subscriptions >= 2
    assert reconciled[0] == 1  # the backstop had delivered the fill before reconciling
    assert len(events_of(recorder.events, OrderFilled, "drop-1")) == 1


async def test_submit_without_answer_is_in_doubt_then_resolved_not_duplicated(
    fake: FakeBinance, running: tuple[CcxtExecutionClient, EventRecorder]
) -> None:
    client, recorder = running
    fake.hold_next_submit(place=True)

    with pytest.raises(OutcomeUnknown):
        await client.submit_order(submit("held-1"))
    await wait_for_count(recorder, OrderFilled, "held-1")

    matching = [o for o in fake.state.orders.values() if o.client_order_id == "held-1"]
    assert len(matching) == 1
    assert len(events_of(recorder.events, OrderAccepted, "held-1")) == 1
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
        await wait_for_count(recorder, OrderRejected, "lost-1")
        tasks.cancel_scope.cancel()

    rejected = events_of(recorder.events, OrderRejected, "lost-1")[0]
    assert "never reached" in rejected.reason  # type: ignore[attr-defined]
    assert not events_of(recorder.events, OrderAccepted, "lost-1")
    assert fake.requests.count("POST /api/v3/order") == 1


async def test_modify_after_a_partial_fill_replaces_the_rest_and_keeps_the_fills(
    fake: FakeBinance, running: tuple[CcxtExecutionClient, EventRecorder]
) -> None:
    client, recorder = running
    await client.submit_order(submit("mod-1", price="90.00", quantity="0.3"))
    await wait_for_count(recorder, OrderAccepted, "mod-1")
    fake.trade_through(Decimal("90.00"), Decimal("0.1"))
    await wait_for_count(recorder, OrderFilled, "mod-1")

    await client.modify_order(ModifyOrder(strategy_id="s", client_order_id="mod-1",
                                          instrument_id=INSTRUMENT_ID, price=Decimal("89.00"),
                                          quantity=Decimal("0.3"), ts_event=0, ts_init=0),
                              None)
    (updated,) = events_of(recorder.events, OrderUpdated, "mod-1")
    report = await client.order_status(instrument_id=INSTRUMENT_ID, client_order_id="mod-1",
                                       venue_order_id=None)
    fake.trade_through(Decimal("89.00"))
    await wait_for_count(recorder, OrderFilled, "mod-1", count=2)

    legs = sorted(fake.state.orders.values(), key=lambda o: o.order_id)
    assert [(o.status, o.quantity, o.executed) for o in legs] == [
        ("CANCELED", Decimal("0.3"), Decimal("0.1")), ("FILLED", Decimal("0.2"), Decimal("0.2"))]
    assert updated.venue_order_id == str(legs[1].order_id)  # type: ignore[attr-defined]
    assert report is not None and (report.quantity, report.filled_quantity, report.price) == (
        Decimal("0.3"), Decimal("0.1"), Decimal("89.00"))
    fills = events_of(recorder.events, OrderFilled, "mod-1")
    assert sum(f.last_quantity for f in fills) == Decimal("0.3")  # type: ignore[attr-defined]
    assert not events_of(recorder.events, OrderCanceled, "mod-1")


def modify(client_order_id: str, price: str, quantity: str) -> ModifyOrder:
    return ModifyOrder(strategy_id="s", client_order_id=client_order_id,
                       instrument_id=INSTRUMENT_ID, price=Decimal(price),
                       quantity=Decimal(quantity), ts_event=0, ts_init=0)


@pytest.mark.parametrize("placed", [True, False], ids=["new_leg_placed", "new_leg_lost"])
async def test_modify_whose_new_leg_got_no_answer_is_settled_by_the_backstop(
    fake: FakeBinance, placed: bool
) -> None:
    recorder = EventRecorder()
    client = execution_client(fake, recorder, request_timeout_s=0.5, recv_window_s=0.5,
                              backstop_interval_s=0.2)
    async with anyio.create_task_group() as tasks:
        await tasks.start(client.run)
        await client.submit_order(submit("mod-2", price="90.00"))
        await wait_for_count(recorder, OrderAccepted, "mod-2")
        fake.hold_next_submit(place=placed)

        with pytest.raises(OutcomeUnknown):
            await client.modify_order(modify("mod-2", "89.00", "0.1"), None)
        await wait_for_count(recorder, OrderUpdated if placed else OrderCanceled, "mod-2")
        tasks.cancel_scope.cancel()

    legs = sorted(fake.state.orders.values(), key=lambda o: o.order_id)
    assert [o.status for o in legs] == (["CANCELED", "NEW"] if placed else ["CANCELED"])
    if placed:
        (updated,) = events_of(recorder.events, OrderUpdated, "mod-2")
        assert (updated.price, updated.venue_order_id) == (  # type: ignore[attr-defined]
            Decimal("89.00"), str(legs[1].order_id))
    assert not events_of(recorder.events, OrderCanceled if placed else OrderUpdated, "mod-2")


async def test_order_placed_by_hand_is_reported_and_its_fills_delivered_as_external(
    fake: FakeBinance, running: tuple[CcxtExecutionClient, EventRecorder]
) -> None:
    client, recorder = running
    by_hand = fake.state.submit({"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT",
                                 "quantity": "0.1", "price": "110.00",
                                 "newClientOrderId": "web_abc"})
    fake.trade_through(Decimal("110.00"), Decimal("0.05"))
    await wait_for_count(recorder, OrderFilled, "web_abc")

    (report,) = await client.open_orders()
    fills = await client.fills_since(0, INSTRUMENT_ID)
    balances = {b.currency: b for b in (await client.account()).balances}

    assert (report.client_order_id, report.venue_order_id, report.filled_quantity) == (
        "web_abc", str(by_hand.order_id), Decimal("0.05"))
    assert [(f.client_order_id, f.venue_order_id, f.last_quantity) for f in fills] == [
        ("web_abc", str(by_hand.order_id), Decimal("0.05"))]
    assert balances["BTC"].locked == Decimal("0.05")
    (fill,) = events_of(recorder.events, OrderFilled, "web_abc")
    assert (fill.strategy_id, fill.venue_order_id) == (  # type: ignore[attr-defined]
        EXTERNAL_STRATEGY_ID, str(by_hand.order_id))
    assert not events_of(recorder.events, OrderAccepted, "web_abc")
    assert client.statistics().adopted_orders == 1


async def test_submit_abandoned_by_its_caller_is_settled_by_the_backstop(
    fake: FakeBinance, running: tuple[CcxtExecutionClient, EventRecorder]
) -> None:
    client, recorder = running
    fake.delay_next_submit(0.5)

    async with anyio.create_task_group() as caller:  # the bridge, whose timeout is shorter
        caller.start_soon(client.submit_order, submit("gave-up-1"))
        with anyio.fail_after(5):
            while "POST /api/v3/order" not in fake.requests:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        caller.cancel_scope.cancel()  # gives up while the exchange works on it
    await wait_for_count(recorder, OrderFilled, "gave-up-1")

    assert len(events_of(recorder.events, OrderAccepted, "gave-up-1")) == 1
    assert fake.requests.count("POST /api/v3/order") == 1


async def test_modify_of_a_trailing_offset_is_refused_and_nothing_is_replaced(
    fake: FakeBinance, running: tuple[CcxtExecutionClient, EventRecorder]
) -> None:
    client, recorder = running
    await client.submit_order(submit("mod-9", price="90.00", quantity="0.3"))
    await wait_for_count(recorder, OrderAccepted, "mod-9")

    await client.modify_order(ModifyOrder(strategy_id="s", client_order_id="mod-9",
                                          instrument_id=INSTRUMENT_ID,
                                          trailing_offset=Decimal("1.00"), ts_event=0,
                                          ts_init=0), None)

    (refused,) = events_of(recorder.events, OrderModifyRejected, "mod-9")
    assert refused.reason == (  # type: ignore[attr-defined]
        "trailing_offset: a limit order takes no trailing offsets")
    assert [o.status for o in fake.state.orders.values()] == ["NEW"]
