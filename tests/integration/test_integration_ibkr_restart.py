"""A restarted process (a new client, same client id) learns its orders from the gateway.

What reconciliation asks after a daemon restart: open orders by client order id (the
orderRef), fills by execution with their commissions, one order's status. The new client
adopts the working order on connect, so its next fill is delivered (once; the fill from
before the restart is not), and a cancel of it works.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import anyio
import pytest

from adapters.ibkr import (
    BackoffConfig,
    IbkrConnectionConfig,
    IbkrContractConfig,
    IbkrExecutionClient,
    IbkrVenueConfig,
)
from engine.domain.enums import OrderSide, OrderStatus, OrderType
from engine.events.fills import OrderFilled
from engine.events.orders import CancelOrder, OrderAccepted, OrderCanceled, SubmitOrder
from engine.testing.conformance import EventRecorder
from tests.fakes.tws import SUPPORTED_VERSIONS, FakeTws, decode_error_guard

pytestmark = pytest.mark.integration

AAPL_CON_ID = 265598
CONTRACTS = (IbkrContractConfig(instrument_id="AAPL.IBKR", sec_type="STK", symbol="AAPL"),)


@asynccontextmanager
async def running(fake: FakeTws, recorder: EventRecorder) -> AsyncIterator[IbkrExecutionClient]:
    config = IbkrVenueConfig(contracts=CONTRACTS, connection=IbkrConnectionConfig(
        port=fake.port, client_id=41, connect_timeout_s=2.0,
        backoff=BackoffConfig(initial_s=0.01, seed=1)))
    client = IbkrExecutionClient(config, recorder)
    async with anyio.create_task_group() as tasks:
        with anyio.fail_after(5):
            await tasks.start(client.run)
        yield client
        tasks.cancel_scope.cancel()


@pytest.mark.parametrize("server_version", SUPPORTED_VERSIONS, ids=lambda v: f"v{v}")
async def test_restarted_client_reports_and_cancels_what_the_gateway_holds(
    server_version: int,
) -> None:
    with decode_error_guard():
        async with FakeTws(server_version=server_version) as fake:
            before = EventRecorder()
            async with running(fake, before) as client:
                await client.submit_order(SubmitOrder(
                    strategy_id="s1", client_order_id="x-1", instrument_id="AAPL.IBKR",
                    side=OrderSide.SELL, order_type=OrderType.LIMIT, quantity=Decimal(5),
                    price=Decimal("151.00"), ts_event=0, ts_init=0))
                with anyio.fail_after(5):
                    await before.wait_for(lambda e: isinstance(e, OrderAccepted))
                fake.trade_through(AAPL_CON_ID, Decimal("151.20"), max_quantity=Decimal(2))
                with anyio.fail_after(5):
                    await before.wait_for(lambda e: isinstance(e, OrderFilled))
            with anyio.fail_after(5):
                await fake.wait_until(lambda: fake.session_count == 0)

            after = EventRecorder()
            async with running(fake, after) as restarted:
                [open_report] = await restarted.open_orders("AAPL.IBKR")
                [fill] = await restarted.fills_since(0, "AAPL.IBKR")
                status = await restarted.order_status(
                    instrument_id="AAPL.IBKR", client_order_id="x-1", venue_order_id=None)
                fake.trade_through(AAPL_CON_ID, Decimal("151.10"), max_quantity=Decimal(1))
                with anyio.fail_after(5):
                    live_fill = await after.wait_for(lambda e: isinstance(e, OrderFilled))
                await restarted.cancel_order(CancelOrder(
                    strategy_id="s1", client_order_id="x-1", instrument_id="AAPL.IBKR",
                    ts_event=0, ts_init=0), open_report.venue_order_id)
                with anyio.fail_after(5):
                    canceled = await after.wait_for(lambda e: isinstance(e, OrderCanceled))

    accepted = next(e for e in before.events if isinstance(e, OrderAccepted))
    first_fill = next(e for e in before.events if isinstance(e, OrderFilled))
    assert (open_report.client_order_id, open_report.venue_order_id) == (
        "x-1", accepted.venue_order_id)
    assert (open_report.status, open_report.filled_quantity, open_report.price) == (
        OrderStatus.PARTIALLY_FILLED, Decimal(2), Decimal("151.00"))
    assert (fill.client_order_id, fill.trade_id, fill.last_quantity, fill.commission) == (
        "x-1", first_fill.trade_id, Decimal(2), Decimal("1.0"))
    assert status is not None and status.venue_order_id == accepted.venue_order_id
    assert isinstance(live_fill, OrderFilled) and live_fill.last_quantity == Decimal(1)
    assert live_fill.strategy_id == ""  # unknown here: the order manager knows whose it is
    assert [e.trade_id for e in after.events if isinstance(e, OrderFilled)] == [
        live_fill.trade_id]  # the fill before the restart is not delivered again
    assert canceled.client_order_id == "x-1" and canceled.strategy_id == "s1"


@pytest.mark.parametrize("server_version", SUPPORTED_VERSIONS, ids=lambda v: f"v{v}")
async def test_open_orders_include_an_order_placed_by_hand_at_tws(server_version: int) -> None:
    with decode_error_guard():
        async with FakeTws(server_version=server_version) as fake:
            by_hand = fake.place_by_hand(AAPL_CON_ID, "SELL", Decimal(5), Decimal("170.00"))
            async with running(fake, EventRecorder()) as client:
                reports = await client.open_orders("AAPL.IBKR")
                again = await client.open_orders()

    assert [(r.client_order_id, r.venue_order_id, r.side, r.quantity, r.price, r.status)
            for r in reports] == [(None, str(by_hand.perm_id), OrderSide.SELL, Decimal(5),
                                   Decimal("170.00"), OrderStatus.ACCEPTED)]
    assert again == reports  # asked twice, reported once
