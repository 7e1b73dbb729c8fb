"""The fake TWS gateway against the real ib_async client, at both server versions.

These pin the fake's layouts: every message it sends must decode (the guard fails the
test on any decode error ib_async would swallow) into the values it meant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from ib_async import IB, Forex, Future, LimitOrder, MarketOrder, Stock

from tests.fakes.tws import SUPPORTED_VERSIONS, FakeTws, Rejection, decode_error_guard

pytestmark = pytest.mark.integration

AAPL = 265598


@pytest.fixture(params=SUPPORTED_VERSIONS, ids=lambda v: f"v{v}")
async def fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeTws]:
    with decode_error_guard():
        async with FakeTws(server_version=request.param) as gateway:
            yield gateway


async def connect(fake: FakeTws, client_id: int = 7) -> IB:
    ib = IB()
    await ib.connectAsync(fake.host, fake.port, clientId=client_id, timeout=2)
    return ib


async def settle(ib: IB) -> None:
    """Let all the fake wrote reach the client: its answer to reqCurrentTime comes last."""
    await ib.reqCurrentTimeAsync()


async def test_connect_syncs_every_request_and_names_the_account(fake: FakeTws) -> None:
    ib = await connect(fake)

    assert ib.managedAccounts() == [fake.account]
    assert ib.client.serverVersion() == fake.server_version
    sent = {fields[0] for fields in fake.requests}
    assert {"61", "5", "99", "6", "76", "7"} <= sent  # positions .. executions
    ib.disconnect()


async def test_qualify_stock_fx_and_future_by_expiry(fake: FakeTws) -> None:
    ib = await connect(fake)
    stock, pair, future = Stock("AAPL", "SMART", "USD"), Forex("EURUSD"), Future(
        "ES", "202703", "CME")

    qualified = await ib.qualifyContractsAsync(stock, pair, future)
    details = await ib.reqContractDetailsAsync(future)

    assert [c.conId if c else None for c in qualified] == [AAPL, 12087792, 637533641]
    assert pair.exchange == "IDEALPRO" and stock.exchange == "SMART"
    assert details[0].minTick == 0.25 and details[0].contract.multiplier == "50"
    assert details[0].contract.lastTradeDateOrContractMonth == "20270319"
    expected_increment = 1.0 if fake.server_version >= 164 else 0.0
    assert details[0].sizeIncrement == expected_increment
    ib.disconnect()


async def test_order_fills_partly_with_commission_and_comes_back_after_reconnect(
    fake: FakeTws,
) -> None:
    ib = await connect(fake)
    contract = Stock("AAPL", "SMART", "USD")
    await ib.qualifyContractsAsync(contract)
    order = LimitOrder("BUY", 10, 150.0)
    order.orderRef = "client-1"
    trade = ib.placeOrder(contract, order)
    await fake.wait_until(lambda: bool(fake.orders))
    await settle(ib)

    fake.trade_through(AAPL, Decimal("149.50"), max_quantity=Decimal(4))
    await settle(ib)

    assert trade.orderStatus.status == "Submitted" and trade.order.permId > 0
    assert [(f.execution.shares, f.execution.price, f.commissionReport.commission)
            for f in trade.fills] == [(4.0, 149.5, 1.0)]
    assert trade.fills[0].execution.orderRef == "client-1"
    ib.disconnect()

    again = await connect(fake)
    [open_trade] = again.openTrades()
    assert (open_trade.order.permId, open_trade.order.orderRef) == (order.permId, "client-1")
    assert open_trade.orderStatus.filled == 4.0
    assert [f.commissionReport.commission for f in again.fills()] == [1.0]
    again.disconnect()


async def test_reject_cancel_and_market_fill(fake: FakeTws) -> None:
    ib = await connect(fake)
    contract = Stock("AAPL", "SMART", "USD")
    await ib.qualifyContractsAsync(contract)
    errors: list[tuple[int, int]] = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append((req_id, code))
    fake.reject_next = Rejection(201, "Order rejected - reason:insufficient margin")

    rejected = ib.placeOrder(contract, MarketOrder("BUY", 1))
    resting = ib.placeOrder(contract, LimitOrder("SELL", 1, 200.0))
    market = ib.placeOrder(contract, MarketOrder("SELL", 2))
    await fake.wait_until(lambda: len(fake.orders) == 2)
    await settle(ib)
    ib.cancelOrder(resting.order)
    await fake.wait_until(lambda: not fake.orders[resting.order.permId].is_working)
    fake.trade_through(AAPL, Decimal("150.00"))
    await settle(ib)

    assert (rejected.order.orderId, 201) in errors
    assert resting.orderStatus.status == "Cancelled"
    assert market.orderStatus.status == "Filled" and market.orderStatus.filled == 2.0
    ib.disconnect()


async def test_closed_orders_come_back_as_completed_orders(fake: FakeTws) -> None:
    ib = await connect(fake)
    contract = Stock("AAPL", "SMART", "USD")
    await ib.qualifyContractsAsync(contract)
    resting = LimitOrder("BUY", 3, 140.0)
    resting.orderRef = "gone-1"
    ib.placeOrder(contract, resting)
    ib.placeOrder(contract, MarketOrder("SELL", 1))
    await fake.wait_until(lambda: len(fake.orders) == 2)
    fake.cancel_by_gateway(fake.order_by_ref("gone-1"))
    fake.trade_through(AAPL, Decimal("150.00"))
    ib.disconnect()

    again = await connect(fake)
    completed = {t.order.permId: t for t in again.trades()}

    cancelled = completed[fake.order_by_ref("gone-1").perm_id]
    assert (cancelled.orderStatus.status, cancelled.order.orderRef) == ("Cancelled", "gone-1")
    assert (cancelled.order.totalQuantity, cancelled.order.lmtPrice) == (3.0, 140.0)
    assert sorted(t.orderStatus.status for t in completed.values()) == ["Cancelled", "Filled"]
    again.disconnect()
