"""The IBKR adapter end to end on the fake TWS gateway, through the real ib_async client.

Each test runs at server versions 157 and 178: instruments from contract details,
ticks and bars into events, historical bars, fills complete only with their commission,
a 201 rejection, and a dropped connection reconnected with subscriptions restored, no
fill lost or doubled, a cancel made meanwhile learned, and reconciliation asked after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal

import anyio
import msgspec
import pytest

from adapters.ibkr import (
    BackoffConfig,
    IbkrConnectionConfig,
    IbkrContractConfig,
    IbkrExecutionClient,
    IbkrInstrumentProvider,
    IbkrMarketDataClient,
    IbkrVenueConfig,
)
from engine.domain.enums import OrderSide, OrderType
from engine.events.base import Event
from engine.events.fills import OrderFilled
from engine.events.market import Bar, QuoteTick, TradeTick
from engine.events.orders import (
    CancelOrder,
    ModifyOrder,
    OrderAccepted,
    OrderCanceled,
    OrderModifyRejected,
    OrderRejected,
    OrderUpdated,
    SubmitOrder,
)
from engine.ports import DataSubscription
from engine.testing.conformance import EventRecorder
from tests.fakes.tws import (
    SUPPORTED_VERSIONS,
    DecodeErrorGuard,
    FakeTws,
    Rejection,
    decode_error_guard,
)

pytestmark = pytest.mark.integration

AAPL_CON_ID, EUR_CON_ID = 265598, 12087792
AAPL = IbkrContractConfig(instrument_id="AAPL.IBKR", sec_type="STK", symbol="AAPL")
EURUSD = IbkrContractConfig(instrument_id="EUR/USD.IBKR", sec_type="CASH", symbol="EUR")
CONTRACTS = (AAPL, EURUSD)
TIMEOUT = 5.0
FAST_BACKOFF = BackoffConfig(initial_s=0.01, maximum_s=0.05, seed=3)


def connection(port: int, client_id: int) -> IbkrConnectionConfig:
    return IbkrConnectionConfig(port=port, client_id=client_id, connect_timeout_s=2.0,
                                backoff=FAST_BACKOFF)


@dataclass
class Setup:
    fake: FakeTws
    guard: DecodeErrorGuard
    events: EventRecorder
    data: EventRecorder
    execution: IbkrExecutionClient
    market_data: IbkrMarketDataClient

    async def wait(self, recorder: EventRecorder, predicate: Callable[[Event], bool]) -> Event:
        with anyio.fail_after(TIMEOUT):
            return await recorder.wait_for(predicate)

    async def settle(self) -> None:
        """Both clients have handled all the fake sent them (reqCurrentTime round trips)."""
        with anyio.fail_after(TIMEOUT):
            await self.execution.ib.reqCurrentTimeAsync()
            await self.market_data.ib.reqCurrentTimeAsync()


@pytest.fixture(params=SUPPORTED_VERSIONS, ids=lambda v: f"v{v}")
async def setup(request: pytest.FixtureRequest) -> AsyncIterator[Setup]:
    with decode_error_guard() as guard:
        async with FakeTws(server_version=request.param) as fake:
            events, data = EventRecorder(), EventRecorder()
            execution = IbkrExecutionClient(
                IbkrVenueConfig(connection=connection(fake.port, 21), contracts=CONTRACTS),
                events)
            market_data = IbkrMarketDataClient("IBKR", connection(fake.port, 22), CONTRACTS,
                                               data)
            async with anyio.create_task_group() as tasks:
                with anyio.fail_after(TIMEOUT):
                    await tasks.start(execution.run)
                    await tasks.start(market_data.run)
                yield Setup(fake, guard, events, data, execution, market_data)
                tasks.cancel_scope.cancel()


def submit(client_order_id: str, side: OrderSide, quantity: int, price: str | None = None
           ) -> SubmitOrder:
    return SubmitOrder(
        strategy_id="s1", client_order_id=client_order_id, instrument_id="AAPL.IBKR",
        side=side, order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
        quantity=Decimal(quantity), price=None if price is None else Decimal(price),
        ts_event=0, ts_init=0,
    )


def of(kind: type[Event], client_order_id: str) -> Callable[[Event], bool]:
    return lambda e: type(e) is kind and getattr(e, "client_order_id", None) == client_order_id


async def test_instruments_of_a_stock_and_an_fx_pair_from_contract_details(
    setup: Setup,
) -> None:
    provider = IbkrInstrumentProvider(setup.execution.contracts, setup.execution.connection)

    stock, pair = await provider.load(["AAPL.IBKR", "EUR/USD.IBKR"])

    assert (stock.price_increment, stock.size_increment, stock.quote_currency) == (
        Decimal("0.01"), Decimal(1), "USD")
    assert (pair.price_increment, pair.base_currency, pair.quote_currency) == (
        Decimal("0.00005"), "EUR", "USD")
    contract = provider.contract("EUR/USD.IBKR")
    assert contract is not None and contract.con_id == EUR_CON_ID
    assert contract.contract.exchange == "IDEALPRO" and len(contract.trading_hours) == 1
    session = contract.trading_hours[0]
    assert session.end_ns - session.start_ns == (23 * 3600 + 45 * 60) * 1_000_000_000


async def test_ticks_and_bars_become_events_and_bad_ticks_are_counted(setup: Setup) -> None:
    fake, client = setup.fake, setup.market_data
    for kind in ("quotes", "trades"):
        await client.subscribe(DataSubscription(kind=kind, instrument_id="AAPL.IBKR"))
    await client.subscribe(DataSubscription(kind="bars", instrument_id="AAPL.IBKR",
                                            timeframe="5s"))
    with anyio.fail_after(TIMEOUT):
        await fake.wait_until(lambda: fake.subscriber_count(AAPL_CON_ID) == 1
                              and fake.subscriber_count(AAPL_CON_ID, "realtime_bars") == 1)

    fake.push_quote(AAPL_CON_ID, Decimal("149.99"), Decimal("150.01"), Decimal(300),
                    Decimal(200))
    fake.push_trade(AAPL_CON_ID, Decimal("150.00"), Decimal(100))
    fake.push_trade(AAPL_CON_ID, Decimal("-1.5"), Decimal(100))  # a nonsense price
    fake.push_raw(AAPL_CON_ID, [1, 6, "{req_id}", 4, "150.0", "5"])  # 6 fields: undecodable
    fake.push_bar(AAPL_CON_ID, 1_764_684_000, (150.0, 150.5, 149.5, 150.25, 1200.0))
    bar = await setup.wait(setup.data, lambda e: isinstance(e, Bar))
    await setup.settle()

    quotes = [e for e in setup.data.events if isinstance(e, QuoteTick)]
    trades = [e for e in setup.data.events if isinstance(e, TradeTick)]
    assert [(q.bid_price, q.ask_price, q.bid_size, q.ask_size) for q in quotes][-1] == (
        149.99, 150.01, 300.0, 200.0)
    assert [(t.price, t.size) for t in trades] == [(150.0, 100.0)]
    assert isinstance(bar, Bar) and bar.bar_type.timeframe == "5s" and bar.close == 150.25
    assert bar.ts_event == (1_764_684_000 + 5) * 1_000_000_000
    statistics = client.statistics()
    assert statistics.malformed == 1 and statistics.connection.malformed_messages == 1
    assert len(setup.guard.take()) == 1  # the undecodable frame, and nothing else


async def test_historical_bars_for_warm_up(setup: Setup) -> None:
    setup.fake.historical_bars[AAPL_CON_ID] = [
        (1_764_684_000 + 60 * i, 150.0 + i, 151.0 + i, 149.0 + i, 150.5 + i, 1000.0)
        for i in range(4)
    ]

    bars = await setup.market_data.historical_bars("AAPL.IBKR", "1m", 3)

    assert [b.close for b in bars] == [151.5, 152.5, 153.5]
    assert [b.ts_event for b in bars] == [(1_764_684_000 + 60 * i) * 1_000_000_000
                                          for i in (2, 3, 4)]
    assert setup.fake.requests[-1][0] == "20"


async def test_partial_fills_complete_only_with_their_commission(setup: Setup) -> None:
    fake, client = setup.fake, setup.execution
    await client.submit_order(submit("p-1", OrderSide.BUY, 10, "150.00"))
    await setup.wait(setup.events, of(OrderAccepted, "p-1"))
    fake.hold_commissions = True

    fake.trade_through(AAPL_CON_ID, Decimal("149.95"), max_quantity=Decimal(4))
    await setup.settle()
    before_commission = [e for e in setup.events.events if isinstance(e, OrderFilled)]
    fake.release_commissions()
    fake.hold_commissions = False
    fake.trade_through(AAPL_CON_ID, Decimal("149.90"))
    await setup.settle()

    fills = [e for e in setup.events.events if isinstance(e, OrderFilled)]
    assert before_commission == []
    assert [(f.last_quantity, f.last_price, f.commission, f.commission_currency)
            for f in fills] == [(Decimal(4), Decimal("149.95"), Decimal("1.0"), "USD"),
                                (Decimal(6), Decimal("149.90"), Decimal("1.0"), "USD")]
    report = await client.order_status(instrument_id="AAPL.IBKR", client_order_id="p-1",
                                       venue_order_id=None)
    assert report is not None and report.filled_quantity == Decimal(10)


async def test_error_201_is_a_rejection_with_ibs_reason_not_a_cancel(setup: Setup) -> None:
    setup.fake.reject_next = Rejection(201, "Order rejected - reason:No trading permissions")

    await setup.execution.submit_order(submit("r-1", OrderSide.BUY, 1))
    rejected = await setup.wait(setup.events, of(OrderRejected, "r-1"))
    await setup.settle()

    assert isinstance(rejected, OrderRejected)
    assert "201" in rejected.reason and "No trading permissions" in rejected.reason
    assert not [e for e in setup.events.events if of(OrderCanceled, "r-1")(e)]
    assert setup.execution.statistics().notices >= 2  # the 2104/2106 farm notices


async def test_dropped_connection_reconnects_restores_and_loses_no_fill(setup: Setup) -> None:
    fake, execution, market_data = setup.fake, setup.execution, setup.market_data
    reconnects: list[int] = []

    async def reconciled() -> None:
        reconnects.append(len(setup.events.events))

    execution.on_reconnected = reconciled
    await market_data.subscribe(DataSubscription(kind="quotes", instrument_id="AAPL.IBKR"))
    await execution.submit_order(submit("d-1", OrderSide.BUY, 10, "150.00"))
    await execution.submit_order(submit("d-2", OrderSide.SELL, 1, "160.00"))
    await setup.wait(setup.events, of(OrderAccepted, "d-1"))
    await setup.wait(setup.events, of(OrderAccepted, "d-2"))
    fake.trade_through(AAPL_CON_ID, Decimal("150.00"), max_quantity=Decimal(3))
    await setup.wait(setup.events, of(OrderFilled, "d-1"))
    order = fake.order_by_ref("d-1")

    await fake.refuse_connections()
    fake.drop_connections()
    with anyio.fail_after(TIMEOUT):
        await fake.wait_until(lambda: fake.session_count == 0)
    fake.fill(order, Decimal(2), Decimal("149.98"))  # while nobody is connected
    fake.cancel_by_gateway(fake.order_by_ref("d-2"))
    with anyio.fail_after(TIMEOUT):
        # Refused attempts never reach the fake: there is nothing to wait on but the count.
        while execution.statistics().connection.failed_attempts < 2:  # noqa: ASYNC110
            await anyio.sleep(0.01)
    await fake.accept_connections()
    with anyio.fail_after(TIMEOUT):
        await fake.wait_until(lambda: fake.session_count == 2
                              and fake.subscriber_count(AAPL_CON_ID) == 1)
    recovered = await setup.wait(setup.events, lambda e: isinstance(e, OrderFilled)
                                 and e.last_quantity == Decimal(2))
    await setup.wait(setup.events, of(OrderCanceled, "d-2"))  # learned from completed orders
    fake.push_quote(AAPL_CON_ID, Decimal("149.00"), Decimal("149.02"), Decimal(1), Decimal(1))
    await setup.wait(setup.data, lambda e: isinstance(e, QuoteTick) and e.bid_price == 149.0)
    cancel = CancelOrder(strategy_id="s1", client_order_id="d-1", instrument_id="AAPL.IBKR",
                         ts_event=0, ts_init=0)
    await execution.cancel_order(cancel, getattr(recovered, "venue_order_id", None))
    await setup.wait(setup.events, of(OrderCanceled, "d-1"))

    fills = [e for e in setup.events.events if isinstance(e, OrderFilled)]
    assert [f.last_quantity for f in fills] == [Decimal(3), Decimal(2)]
    assert len({f.trade_id for f in fills}) == 2
    assert execution.statistics().connection.connects == 2
    assert execution.statistics().fills_recovered == 1
    assert market_data.statistics().resubscribed == 1
    index = setup.events.events.index
    assert len(reconnects) == 1 and reconnects[0] > index(recovered)  # after the re-sync
    assert not order.is_working and order.filled == Decimal(5)


async def test_request_ids_and_order_ids_come_from_one_counter(setup: Setup) -> None:
    fake, client = setup.fake, setup.execution
    await client.submit_order(submit("i-1", OrderSide.BUY, 1, "140.00"))
    await client.fills_since(0)  # reqExecutions takes a request id
    await IbkrInstrumentProvider(client.contracts, client.connection).load()  # and details
    await client.submit_order(submit("i-2", OrderSide.BUY, 1, "140.00"))
    await setup.settle()

    mine = [fields for fields in fake.requests_by_client[21] if fields[0] in ("3", "7", "9")]
    order_ids = [int(f[1]) for f in mine if f[0] == "3"]
    request_ids = [int(f[2]) for f in mine if f[0] in ("7", "9")]
    assert len(order_ids) == 2 and len(request_ids) >= 3
    assert not set(order_ids) & set(request_ids)
    assert order_ids[0] < max(request_ids) < order_ids[1]  # one counter, in sequence


async def test_stop_and_stop_limit_orders_trigger_at_their_prices(setup: Setup) -> None:
    fake, client = setup.fake, setup.execution
    stop = msgspec.structs.replace(submit("st-1", OrderSide.SELL, 2),
                                   order_type=OrderType.STOP_MARKET,
                                   trigger_price=Decimal("145.00"))
    stop_limit = msgspec.structs.replace(submit("sl-1", OrderSide.BUY, 1, "156.00"),
                                         order_type=OrderType.STOP_LIMIT,
                                         trigger_price=Decimal("155.00"))
    for command in (stop, stop_limit):
        await client.submit_order(command)
        await setup.wait(setup.events, of(OrderAccepted, command.client_order_id))

    fake.trade_through(AAPL_CON_ID, Decimal("146.00"))  # above the sell stop: nothing
    fake.trade_through(AAPL_CON_ID, Decimal("157.00"))  # triggers the stop-limit, above it
    await setup.settle()
    nothing_yet = [e for e in setup.events.events if isinstance(e, OrderFilled)]
    fake.trade_through(AAPL_CON_ID, Decimal("155.50"))  # within the triggered limit
    fake.trade_through(AAPL_CON_ID, Decimal("144.50"))  # through the sell stop
    await setup.settle()

    fills = {e.client_order_id: e for e in setup.events.events if isinstance(e, OrderFilled)}
    assert nothing_yet == []
    assert (fills["sl-1"].last_price, fills["st-1"].last_price) == (
        Decimal("155.50"), Decimal("144.50"))
    assert await client.open_orders() == []  # both filled


async def test_positions_and_account_from_the_gateway(setup: Setup) -> None:
    client = setup.execution
    await client.submit_order(submit("pos-1", OrderSide.BUY, 5))
    await setup.wait(setup.events, of(OrderAccepted, "pos-1"))
    setup.fake.trade_through(AAPL_CON_ID, Decimal("150.10"))
    await setup.wait(setup.events, of(OrderFilled, "pos-1"))
    await setup.settle()

    [position] = await client.positions()
    account = await client.account()

    assert (position.instrument_id, position.quantity, position.average_entry_price) == (
        "AAPL.IBKR", Decimal(5), Decimal("150.10"))
    assert account.account_id == setup.fake.account
    assert [(b.currency, b.total, b.free) for b in account.balances] == [
        ("USD", Decimal("100000.00"), Decimal("100000.00"))]


async def test_unsubscribe_cancels_the_stream_once_no_kind_needs_it(setup: Setup) -> None:
    fake, client = setup.fake, setup.market_data
    quotes = DataSubscription(kind="quotes", instrument_id="EUR/USD.IBKR")
    trades = DataSubscription(kind="trades", instrument_id="EUR/USD.IBKR")
    bars = DataSubscription(kind="bars", instrument_id="EUR/USD.IBKR", timeframe="5s")
    for subscription in (quotes, trades, bars):
        await client.subscribe(subscription)
    with anyio.fail_after(TIMEOUT):
        await fake.wait_until(lambda: fake.subscriber_count(EUR_CON_ID) == 1
                              and fake.subscriber_count(EUR_CON_ID, "realtime_bars") == 1)

    await client.unsubscribe(quotes)
    await setup.settle()
    still_streaming = fake.subscriber_count(EUR_CON_ID)
    await client.unsubscribe(trades)
    await client.unsubscribe(bars)
    await setup.settle()

    assert still_streaming == 1  # trades still need the market data stream
    assert fake.subscriber_count(EUR_CON_ID) == 0
    assert fake.subscriber_count(EUR_CON_ID, "realtime_bars") == 0
    assert client.subscriptions() == []
    whats = {f[16] for f in fake.requests_by_client[22] if f[0] == "50"}  # whatToShow
    assert whats == {"MIDPOINT"}  # FX bars are of the midpoint


async def test_an_error_on_a_working_order_leaves_it_working(setup: Setup) -> None:
    fake, client = setup.fake, setup.execution
    await client.submit_order(submit("w-1", OrderSide.BUY, 1, "140.00"))
    await setup.wait(setup.events, of(OrderAccepted, "w-1"))

    fake.send_error(fake.order_by_ref("w-1"), 161, "Cancel attempted when order is not in "
                    "a cancellable state.")  # ib_async calls the trade cancelled
    await setup.settle()
    modify = ModifyOrder(strategy_id="s1", client_order_id="w-1", instrument_id="AAPL.IBKR",
                         price=Decimal("139.00"), ts_event=0, ts_init=0)
    await client.modify_order(modify, None)
    refused = await setup.wait(setup.events, of(OrderModifyRejected, "w-1"))
    fake.trade_through(AAPL_CON_ID, Decimal("139.50"))
    filled = await setup.wait(setup.events, of(OrderFilled, "w-1"))

    assert not [e for e in setup.events.events if type(e) in (OrderRejected, OrderCanceled)]
    assert "ib_async holds it as done" in getattr(refused, "reason", "")
    assert getattr(filled, "last_price", None) == Decimal("139.50")  # still at its limit


async def test_an_instrument_the_gateway_does_not_know_is_refused_naming_it(
    setup: Setup,
) -> None:
    unknown = IbkrContractConfig(instrument_id="NOPE.IBKR", sec_type="STK", symbol="NOPE")
    events = EventRecorder()
    client = IbkrExecutionClient(IbkrVenueConfig(
        connection=connection(setup.fake.port, 23), contracts=(AAPL, unknown)), events)
    async with anyio.create_task_group() as tasks:
        with anyio.fail_after(TIMEOUT):
            await tasks.start(client.run)
        await client.submit_order(msgspec.structs.replace(
            submit("n-1", OrderSide.BUY, 1), instrument_id="NOPE.IBKR"))
        tasks.cancel_scope.cancel()

    [rejected] = events.events
    assert isinstance(rejected, OrderRejected)
    assert "NOPE.IBKR: no IB contract" in rejected.reason
    assert client.contracts.qualified("AAPL.IBKR") is not None


async def test_trailing_stop_ratchets_at_the_gateway_and_fills_once_reached(
    setup: Setup,
) -> None:
    fake, client = setup.fake, setup.execution
    await client.submit_order(SubmitOrder(
        strategy_id="s1", client_order_id="t-1", instrument_id="AAPL.IBKR",
        side=OrderSide.SELL, order_type=OrderType.TRAILING_STOP_MARKET, quantity=Decimal(5),
        trigger_price=Decimal("149.00"), trailing_offset=Decimal("1.00"), ts_event=0,
        ts_init=0))
    await setup.wait(setup.events, of(OrderAccepted, "t-1"))

    for price in ("150.00", "152.00", "151.50"):  # the stop follows to 151.00, untouched
        fake.trade_through(AAPL_CON_ID, Decimal(price))
    await setup.settle()
    untouched = [e for e in setup.events.events if isinstance(e, OrderFilled)]
    fake.trade_through(AAPL_CON_ID, Decimal("151.00"))
    fill = await setup.wait(setup.events, of(OrderFilled, "t-1"))

    placed = fake.order_by_ref("t-1")
    assert (placed.order_type, placed.aux_price, placed.trail_stop) == (
        "TRAIL", Decimal("1.00"), Decimal("151.00"))
    assert untouched == []
    assert isinstance(fill, OrderFilled)
    assert (fill.last_quantity, fill.last_price) == (Decimal(5), Decimal("151.00"))


async def test_trailing_offset_modified_at_the_gateway_keeps_the_stop_it_trailed_to(
    setup: Setup,
) -> None:
    fake, client = setup.fake, setup.execution
    await client.submit_order(SubmitOrder(
        strategy_id="s1", client_order_id="t-2", instrument_id="AAPL.IBKR",
        side=OrderSide.SELL, order_type=OrderType.TRAILING_STOP_MARKET, quantity=Decimal(5),
        trigger_price=Decimal("149.00"), trailing_offset=Decimal("1.00"), ts_event=0,
        ts_init=0))
    await setup.wait(setup.events, of(OrderAccepted, "t-2"))
    for price in ("150.00", "152.00"):  # the stop trails to 151.00
        fake.trade_through(AAPL_CON_ID, Decimal(price))

    await client.modify_order(ModifyOrder(
        strategy_id="s1", client_order_id="t-2", instrument_id="AAPL.IBKR",
        trailing_offset=Decimal("0.50"), ts_event=0, ts_init=0), None)
    updated = await setup.wait(setup.events, of(OrderUpdated, "t-2"))
    placed = fake.order_by_ref("t-2")
    modified = (placed.aux_price, placed.trail_stop)
    fake.trade_through(AAPL_CON_ID, Decimal("152.40"))  # at 0.50 the stop follows to 151.90
    fake.trade_through(AAPL_CON_ID, Decimal("151.90"))
    fill = await setup.wait(setup.events, of(OrderFilled, "t-2"))

    assert isinstance(updated, OrderUpdated) and updated.trailing_offset == Decimal("0.50")
    assert modified == (Decimal("0.50"), Decimal("151.00"))  # not sent back to 149
    assert isinstance(fill, OrderFilled) and fill.last_price == Decimal("151.90")


async def test_trailing_offset_of_a_limit_order_is_refused_unsent(setup: Setup) -> None:
    client = setup.execution
    await client.submit_order(submit("l-9", OrderSide.BUY, 1, "140.00"))
    await setup.wait(setup.events, of(OrderAccepted, "l-9"))
    sent = len(setup.fake.requests)

    await client.modify_order(ModifyOrder(
        strategy_id="s1", client_order_id="l-9", instrument_id="AAPL.IBKR",
        trailing_offset=Decimal("1.00"), ts_event=0, ts_init=0), None)
    refused = await setup.wait(setup.events, of(OrderModifyRejected, "l-9"))

    assert isinstance(refused, OrderModifyRejected)
    assert refused.reason == "trailing_offset: a limit order takes no trailing offsets"
    assert len(setup.fake.requests) == sent
