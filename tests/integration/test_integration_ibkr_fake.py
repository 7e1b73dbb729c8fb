"""The fake TWS gateway against the real ib_async client, at both server versions.

These pin the fake's layouts: every message it sends must decode (the guard fails the
test on any decode error ib_async would swallow) into the values it meant, and where the
fake reads ib_async's placeOrder.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from ib_async import (
    IB,
    Contract,
    Forex,
    Future,
    LimitOrder,
    MarketOrder,
    Order,
    Stock,
    StopOrder,
    Trade,
)

from tests.fakes.tws import (
    MISSING_PARENT,
    SUPPORTED_VERSIONS,
    FakeOrder,
    FakeTws,
    Rejection,
    decode_error_guard,
    parse_place_order,
)

pytestmark = pytest.mark.integration

AAPL = 265598

# Where ib_async 2.1.0's Client.placeOrder writes each term, counted by hand from its
# source for an order with no combo legs, delta-neutral, scale, hedge, algo or condition
# blocks: faProfile (written before 177 only, after faPercentage) moves all after it.
PLACE_ORDER_POSITIONS = {
    157: {"auxPrice": 20, "ocaGroup": 22, "orderRef": 26, "transmit": 27, "parentId": 28,
          "ocaType": 47, "trailStopPrice": 69, "trailingPercent": 70, "lmtPriceOffset": 93},
    178: {"auxPrice": 20, "ocaGroup": 22, "orderRef": 26, "transmit": 27, "parentId": 28,
          "ocaType": 46, "trailStopPrice": 68, "trailingPercent": 69, "lmtPriceOffset": 92},
}
# 157 ends at usePriceMgmtAlgo; 178 adds duration, postToAts, autoCancelParent,
# advancedErrorOverride and manualOrderTime.
PLACE_ORDER_LENGTHS = {157: 110, 178: 114}


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


async def aapl(ib: IB) -> Contract:
    contract = Stock("AAPL", "SMART", "USD")
    await ib.qualifyContractsAsync(contract)
    return contract


def fake_order(fake: FakeTws, trade: Trade) -> FakeOrder:
    """The fake's side of `trade` (by client and order id: a held order has no permId)."""
    return next(order for order in fake.orders.values()
                if (order.client_id, order.order_id) == (trade.order.clientId,
                                                         trade.order.orderId))


def record_errors(ib: IB) -> list[tuple[int, int]]:
    errors: list[tuple[int, int]] = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append((req_id, code))
    return errors


def statuses(*trades: Trade) -> list[str]:
    return [trade.orderStatus.status for trade in trades]


def fills(trade: Trade) -> list[tuple[float, float]]:
    return [(fill.execution.shares, fill.execution.price) for fill in trade.fills]


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


async def test_place_order_terms_are_read_where_ib_async_writes_them(fake: FakeTws) -> None:
    ib = await connect(fake)
    contract = await aapl(ib)
    parent = Order(action="SELL", totalQuantity=5, orderType="TRAIL LIMIT", auxPrice=1.25,
                   trailStopPrice=148.5, lmtPriceOffset=0.1, ocaGroup="grp-7", ocaType=2,
                   transmit=False, orderRef="p-1")
    ib.placeOrder(contract, parent)
    child = Order(action="BUY", totalQuantity=5, orderType="TRAIL", trailingPercent=0.5,
                  parentId=parent.orderId, orderRef="c-1")
    ib.placeOrder(contract, child)
    await fake.wait_until(lambda: len(fake.orders) == 2)
    await settle(ib)

    version = fake.server_version
    positions = PLACE_ORDER_POSITIONS[version]
    first, second = [fields for fields in fake.requests if fields[0] == "3"]
    assert len(first) == len(second) == PLACE_ORDER_LENGTHS[version]
    assert {name: first[index] for name, index in positions.items()} == {
        "auxPrice": "1.25", "ocaGroup": "grp-7", "orderRef": "p-1", "transmit": "0",
        "parentId": "0", "ocaType": "2", "trailStopPrice": "148.5", "trailingPercent": "",
        "lmtPriceOffset": "0.1"}
    assert [second[positions[name]] for name in ("parentId", "transmit", "trailingPercent")
            ] == [str(parent.orderId), "1", "0.5"]
    parsed = parse_place_order(version, first)
    assert {name: parsed.positions[name] for name in positions} == positions
    held = fake.order_by_ref("p-1")
    assert (held.aux_price, held.trail_stop, held.limit_offset, held.oca_group,
            held.oca_type) == (Decimal("1.25"), Decimal("148.5"), Decimal("0.1"), "grp-7", 2)
    assert fake.order_by_ref("c-1").parent_id == parent.orderId

    # openOrder carries them back: another client decodes them into its own Orders.
    other = await connect(fake, client_id=8)
    seen = {t.order.orderRef: t for t in await other.reqAllOpenOrdersAsync()}
    assert statuses(seen["p-1"], seen["c-1"]) == ["Submitted", "PreSubmitted"]
    decoded = seen["p-1"].order
    assert (decoded.auxPrice, decoded.trailStopPrice, decoded.lmtPriceOffset,
            decoded.ocaGroup, decoded.ocaType) == (1.25, 148.5, 0.1, "grp-7", 2)
    assert (seen["c-1"].order.parentId, seen["c-1"].order.trailingPercent) == (
        parent.orderId, 0.5)
    other.disconnect()
    ib.disconnect()


@pytest.mark.parametrize("oca_group", ["", "exit-1"], ids=["implicit-oca", "oca-group"])
async def test_bracket_is_held_until_its_last_order_then_exits_wait_for_the_entry(
    fake: FakeTws, oca_group: str,
) -> None:
    ib = await connect(fake)
    contract = await aapl(ib)
    errors = record_errors(ib)
    bracket = ib.bracketOrder("BUY", 10, 150.0, 160.0, 140.0)
    if oca_group:
        ib.oneCancelsAll([bracket.takeProfit, bracket.stopLoss], oca_group, 1)
    parent = ib.placeOrder(contract, bracket.parent)
    take_profit = ib.placeOrder(contract, bracket.takeProfit)
    await fake.wait_until(lambda: len(fake.orders) == 2)
    await settle(ib)

    assert statuses(parent, take_profit) == ["PendingSubmit", "PendingSubmit"]
    assert parent.order.permId == 0  # no openOrder came
    assert fake.working_orders() == [] and len(fake.held_orders()) == 2

    stop_loss = ib.placeOrder(contract, bracket.stopLoss)
    await fake.wait_until(lambda: len(fake.orders) == 3)
    await settle(ib)
    assert statuses(parent, take_profit, stop_loss) == [
        "Submitted", "PreSubmitted", "PreSubmitted"]
    assert fake.children_of(fake_order(fake, parent)) == [
        fake_order(fake, take_profit), fake_order(fake, stop_loss)]

    assert fake.trade_through(AAPL, Decimal("161.00")) == 0  # the take-profit is not working
    assert fake.trade_through(AAPL, Decimal("149.50")) == 1  # the entry fills
    await settle(ib)
    assert statuses(parent, take_profit, stop_loss) == ["Filled", "Submitted", "Submitted"]

    assert fake.trade_through(AAPL, Decimal("160.50")) == 1
    await settle(ib)
    assert statuses(parent, take_profit, stop_loss) == ["Filled", "Filled", "Cancelled"]
    assert (fills(parent), fills(take_profit), fills(stop_loss)) == (
        [(10.0, 149.5)], [(10.0, 160.5)], [])
    assert errors == [(stop_loss.order.orderId, 202)]
    assert fake.trade_through(AAPL, Decimal("139.00")) == 0
    ib.disconnect()

    again = await connect(fake, client_id=8)
    completed = {t.order.permId: t.order for t in again.trades()}
    for exit_order in (take_profit, stop_loss):
        assert completed[exit_order.order.permId].parentPermId == parent.order.permId
        assert completed[exit_order.order.permId].ocaGroup == oca_group
    again.disconnect()


@pytest.mark.parametrize("stage", ["held", "working", "by-gateway"])
async def test_cancelling_an_unfilled_parent_cancels_its_children(
    fake: FakeTws, stage: str,
) -> None:
    ib = await connect(fake)
    contract = await aapl(ib)
    errors = record_errors(ib)
    bracket = ib.bracketOrder("SELL", 5, 155.0, 150.0, 160.0)
    trades = [ib.placeOrder(contract, bracket.parent),
              ib.placeOrder(contract, bracket.takeProfit)]
    if stage != "held":  # the stop-loss transmits the bracket
        trades.append(ib.placeOrder(contract, bracket.stopLoss))
    await fake.wait_until(lambda: len(fake.orders) == len(trades))
    await settle(ib)

    if stage == "by-gateway":
        fake.cancel_by_gateway(fake_order(fake, trades[0]))
    else:
        ib.cancelOrder(bracket.parent)
    await fake.wait_until(lambda: all(o.is_done for o in fake.orders.values()))
    await settle(ib)

    assert statuses(*trades) == ["Cancelled"] * len(trades)
    assert sorted(errors) == sorted((t.order.orderId, 202) for t in trades)
    assert fake.trade_through(AAPL, Decimal("155.00")) == 0
    ib.disconnect()


async def test_oca_type_1_cancels_the_rest_on_a_partial_fill(fake: FakeTws) -> None:
    ib = await connect(fake)
    contract = await aapl(ib)
    errors = record_errors(ib)
    orders = ib.oneCancelsAll([LimitOrder("BUY", 10, 149.0), LimitOrder("BUY", 10, 147.0),
                               StopOrder("BUY", 10, 155.0)], "grp", 1)
    trades = [ib.placeOrder(contract, order) for order in orders]
    await fake.wait_until(lambda: len(fake.orders) == 3)

    assert fake.trade_through(AAPL, Decimal("148.50"), max_quantity=Decimal(4)) == 1
    await settle(ib)

    assert statuses(*trades) == ["Submitted", "Cancelled", "Cancelled"]
    assert fills(trades[0]) == [(4.0, 148.5)]
    assert sorted(errors) == [(trades[1].order.orderId, 202), (trades[2].order.orderId, 202)]
    assert fake.trade_through(AAPL, Decimal("146.00")) == 1  # the filled one works on
    ib.disconnect()


async def test_oca_type_2_takes_each_fill_off_the_others_size(fake: FakeTws) -> None:
    ib = await connect(fake)
    contract = await aapl(ib)
    limit, stop = ib.oneCancelsAll([LimitOrder("SELL", 10, 155.0), StopOrder("SELL", 10, 145.0)],
                                   "grp2", 2)
    limit_trade, stop_trade = ib.placeOrder(contract, limit), ib.placeOrder(contract, stop)
    await fake.wait_until(lambda: len(fake.orders) == 2)

    fake.trade_through(AAPL, Decimal("156.00"), max_quantity=Decimal(4))
    await settle(ib)
    assert statuses(limit_trade, stop_trade) == ["Submitted", "Submitted"]
    assert (stop_trade.order.totalQuantity, stop_trade.orderStatus.remaining) == (6.0, 6.0)

    fake.trade_through(AAPL, Decimal("157.00"))
    await settle(ib)
    assert statuses(limit_trade, stop_trade) == ["Filled", "Cancelled"]
    assert fills(limit_trade) == [(4.0, 156.0), (6.0, 157.0)] and fills(stop_trade) == []
    ib.disconnect()

    again = await connect(fake, client_id=8)
    completed = {t.order.permId: t.order for t in again.trades()}
    assert [(completed[t.order.permId].ocaGroup, completed[t.order.permId].ocaType)
            for t in (limit_trade, stop_trade)] == [("grp2", 2), ("grp2", 2)]
    again.disconnect()


# The order's terms; (price traded, trailing stop after it, executions made) in turn; the
# fill price expected.
TRAILING_CASES: dict[str, tuple[dict[str, Any], list[tuple[str, str, int]], float]] = {
    "amount-sell": (
        {"action": "SELL", "orderType": "TRAIL", "auxPrice": 2.0},
        [("150.00", "148.00", 0), ("152.00", "150.00", 0), ("151.00", "150.00", 0),
         ("150.00", "150.00", 1)],
        150.0,
    ),
    "percent-buy": (
        {"action": "BUY", "orderType": "TRAIL", "trailingPercent": 1.0,
         "trailStopPrice": 152.0},
        [("150.00", "151.50", 0), ("148.00", "149.48", 0), ("149.00", "149.48", 0),
         ("149.50", "149.48", 1)],
        149.5,
    ),
    "limit-sell": (  # triggered at 149.00 below its limit 150.00 - 0.50: fills at 149.60
        {"action": "SELL", "orderType": "TRAIL LIMIT", "auxPrice": 1.0,
         "lmtPriceOffset": 0.5, "trailStopPrice": 149.0},
        [("151.00", "150.00", 0), ("149.00", "150.00", 0), ("149.60", "150.00", 1)],
        149.6,
    ),
}


@pytest.mark.parametrize("case", list(TRAILING_CASES))
async def test_trailing_stops_ratchet_and_trigger(fake: FakeTws, case: str) -> None:
    terms, steps, fill_price = TRAILING_CASES[case]
    ib = await connect(fake)
    contract = await aapl(ib)
    trade = ib.placeOrder(contract, Order(totalQuantity=5, **terms))
    await fake.wait_until(lambda: len(fake.orders) == 1)
    await settle(ib)
    order = fake_order(fake, trade)

    for price, stop, made in steps[:-1]:
        assert fake.trade_through(AAPL, Decimal(price)) == made, price
        assert order.trail_stop == Decimal(stop), price
    other = await connect(fake, client_id=8)  # openOrder reports the stop as it moved
    [seen] = await other.reqAllOpenOrdersAsync()
    assert seen.order.trailStopPrice == float(order.trail_stop or 0)
    other.disconnect()
    price, stop, made = steps[-1]
    assert fake.trade_through(AAPL, Decimal(price)) == made
    await settle(ib)

    assert trade.orderStatus.status == "Filled" and fills(trade) == [(5.0, fill_price)]
    if order.trail_limit is not None:  # a TRAIL LIMIT: at its limit or better
        assert order.trail_limit == Decimal("149.50") and fill_price >= order.trail_limit
    ib.disconnect()


async def test_if_touched_orders_trigger_then_fill_as_market_or_limit(fake: FakeTws) -> None:
    ib = await connect(fake)
    contract = await aapl(ib)
    mit = ib.placeOrder(contract, Order(action="BUY", totalQuantity=3, orderType="MIT",
                                        auxPrice=148.0))
    lit = ib.placeOrder(contract, Order(action="SELL", totalQuantity=3, orderType="LIT",
                                        auxPrice=152.0, lmtPrice=152.5))
    await fake.wait_until(lambda: len(fake.orders) == 2)

    assert fake.trade_through(AAPL, Decimal("149.00")) == 0
    assert fake.trade_through(AAPL, Decimal("147.50")) == 1  # touches the MIT
    assert fake.trade_through(AAPL, Decimal("152.20")) == 0  # touches the LIT, below its limit
    assert fake_order(fake, lit).triggered
    assert fake.trade_through(AAPL, Decimal("152.60")) == 1
    await settle(ib)

    assert statuses(mit, lit) == ["Filled", "Filled"]
    assert (fills(mit), fills(lit)) == ([(3.0, 147.5)], [(3.0, 152.6)])
    ib.disconnect()


async def test_new_order_terms_are_validated(fake: FakeTws) -> None:
    ib = await connect(fake)
    contract = await aapl(ib)
    errors = record_errors(ib)
    cases = [
        (Order(action="SELL", totalQuantity=1, orderType="TRAIL", auxPrice=0.005), 110),
        (Order(action="SELL", totalQuantity=1, orderType="TRAIL", auxPrice=1.0,
               trailStopPrice=148.005), 110),
        (Order(action="SELL", totalQuantity=1, orderType="TRAIL LIMIT", auxPrice=1.0,
               lmtPriceOffset=0.015), 110),
        (Order(action="SELL", totalQuantity=1, orderType="TRAIL"), 321),
        (Order(action="SELL", totalQuantity=1, orderType="TRAIL LIMIT", auxPrice=1.0), 321),
        (Order(action="BUY", totalQuantity=1, orderType="MIT"), 321),
        (Order(action="BUY", totalQuantity=1, orderType="REL"), 387),
    ]
    trades = [ib.placeOrder(contract, order) for order, _ in cases]
    await settle(ib)

    assert errors == [(t.order.orderId, code) for t, (_, code) in zip(trades, cases, strict=True)]
    assert fake.orders == {}
    ib.disconnect()


async def test_a_child_needs_a_live_parent(fake: FakeTws) -> None:
    ib = await connect(fake)
    contract = await aapl(ib)
    errors = record_errors(ib)
    orphan = ib.placeOrder(contract, LimitOrder("SELL", 1, 160.0, parentId=999_999))
    cancelled = ib.placeOrder(contract, LimitOrder("BUY", 1, 140.0))
    filled = ib.placeOrder(contract, MarketOrder("BUY", 1))
    await fake.wait_until(lambda: len(fake.orders) == 2)
    ib.cancelOrder(cancelled.order)
    fake.trade_through(AAPL, Decimal("150.00"))
    await settle(ib)

    of_cancelled = ib.placeOrder(contract, LimitOrder("SELL", 1, 160.0,
                                                      parentId=cancelled.order.orderId))
    of_filled = ib.placeOrder(contract, LimitOrder("SELL", 1, 160.0,
                                                   parentId=filled.order.orderId))
    await settle(ib)

    assert (orphan.order.orderId, MISSING_PARENT) in errors
    assert (of_cancelled.order.orderId, MISSING_PARENT) in errors
    assert statuses(orphan, of_cancelled) == ["Cancelled", "Cancelled"]
    assert of_filled.orderStatus.status == "Submitted"  # its parent filled: working at once
    assert len(fake.orders) == 3
    ib.disconnect()
