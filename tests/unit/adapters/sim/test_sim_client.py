"""SimVenue's order records and reports, its one-order-per-client-id rule, SimExecutionClient."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anyio
import pytest

from adapters.sim import SimExecutionClient, SimVenue, SimVenueConfig
from engine.bus import MessageBus
from engine.cache import MarketCache
from engine.clock import SimClock
from engine.domain.enums import LiquiditySide, OrderSide, OrderStatus, OrderType, TimeInForce
from engine.domain.reports import AccountReport, BalanceReport, FillReport
from engine.events.base import Event, Message
from engine.events.fills import OrderFilled
from engine.events.market import Bar, BarType
from engine.events.orders import (
    CancelOrder,
    ModifyOrder,
    OrderAccepted,
    OrderRejected,
    SubmitOrder,
)
from engine.instruments import InstrumentRegistry
from engine.replay import ReplayDriver, ReplaySource
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    ScriptedStrategy,
    make_bars,
    make_graph,
    make_instrument,
)
from engine.topics import ORDERS_PROCESS, bars_topic

MINUTE = 60_000_000_000
T0 = 1_000 * MINUTE
D = Decimal


class Venue:
    """A standalone SimExecutionClient; `events` is what it delivered, in order."""

    def __init__(self, config: SimVenueConfig | None = None) -> None:
        self.events: list[Event] = []
        self.clock = SimClock(T0)
        self.client = SimExecutionClient.standalone(
            config or SimVenueConfig(), [make_instrument()], self.events.append, clock=self.clock
        )
        self.venue = self.client.sim_venue

    async def submit(self, client_order_id: str = "O-1", **overrides: Any) -> None:
        fields: dict[str, Any] = {
            "strategy_id": "s1", "client_order_id": client_order_id,
            "instrument_id": INSTRUMENT_ID, "side": OrderSide.BUY,
            "order_type": OrderType.MARKET, "quantity": D(1), "ts_event": 0, "ts_init": 0,
        }
        fields.update(overrides)
        await self.client.submit_order(SubmitOrder(**fields))

    async def cancel(self, client_order_id: str = "O-1") -> None:
        await self.client.cancel_order(CancelOrder(
            strategy_id="s1", client_order_id=client_order_id, instrument_id=INSTRUMENT_ID,
            ts_event=0, ts_init=0,
        ), None)

    def bar(self, minute: int, open: float, high: float, low: float, close: float,
            volume: float = 100.0) -> None:
        ts = T0 + minute * MINUTE
        self.clock.advance_to(ts)
        self.venue.process_market_data(Bar(bar_type=BAR_TYPE, open=open, high=high, low=low,
                                           close=close, volume=volume, ts_event=ts, ts_init=ts))

    def of(self, event_type: type[Message]) -> list[Any]:
        return [event for event in self.events if type(event) is event_type]


# -- order records: SimVenue.order_report ------------------------------------------------


async def test_order_report_of_working_limit_states_its_terms() -> None:
    venue = Venue()

    await venue.submit(order_type=OrderType.LIMIT, price=D("95.00"), quantity=D("0.5"))
    report = venue.venue.order_report(client_order_id="O-1")

    assert report is not None
    assert (report.venue, report.instrument_id, report.client_order_id, report.venue_order_id) == (
        "SIM", INSTRUMENT_ID, "O-1", "SIM-1")
    assert (report.side, report.order_type, report.quantity, report.price) == (
        OrderSide.BUY, OrderType.LIMIT, D("0.5"), D("95.00"))
    assert (report.status, report.filled_quantity, report.average_fill_price) == (
        OrderStatus.ACCEPTED, D(0), None)
    assert report.ts_event == T0
    assert report.is_open


async def test_order_report_found_by_venue_order_id_and_none_when_never_seen() -> None:
    venue = Venue()
    await venue.submit("A")
    await venue.submit("B")

    by_venue_id = venue.venue.order_report(venue_order_id="SIM-2")

    assert by_venue_id is not None and by_venue_id.client_order_id == "B"
    assert venue.venue.order_report(client_order_id="C") is None
    assert venue.venue.order_report(venue_order_id="SIM-3") is None
    assert venue.venue.order_report(venue_order_id="OTHER-1") is None
    with pytest.raises(ValueError, match="needs a client_order_id or a venue_order_id"):
        venue.venue.order_report()


async def test_order_report_after_two_partial_fills_averages_them_exactly() -> None:
    venue = Venue(SimVenueConfig(max_volume_fraction=0.5))
    await venue.submit(order_type=OrderType.LIMIT, price=D("95.00"), quantity=D(3))

    venue.bar(1, 100.0, 101.0, 94.0, 100.0, volume=2.0)  # 1 at 95.00, maker, inside the bar
    partial = venue.venue.order_report(client_order_id="O-1")
    venue.bar(2, 94.50, 96.0, 94.0, 95.0, volume=4.0)  # 2 at the open 94.50
    filled = venue.venue.order_report(client_order_id="O-1")

    assert partial is not None and filled is not None
    assert (partial.status, partial.filled_quantity, partial.average_fill_price) == (
        OrderStatus.PARTIALLY_FILLED, D(1), D("95.00"))
    assert partial.ts_event == T0 + MINUTE
    assert (filled.status, filled.filled_quantity) == (OrderStatus.FILLED, D(3))
    assert filled.average_fill_price == (D("95.00") + 2 * D("94.50")) / 3
    assert filled.ts_event == T0 + MINUTE  # the second fill was at bar 2's open
    assert not filled.is_open


async def test_order_report_of_canceled_expired_and_ioc_orders_says_why() -> None:
    venue = Venue()
    await venue.submit("cancel", order_type=OrderType.LIMIT, price=D("90.00"))
    await venue.submit("gtd", order_type=OrderType.LIMIT, price=D("90.00"),
                       time_in_force=TimeInForce.GTD, expire_ns=T0 + MINUTE)
    await venue.submit("ioc", order_type=OrderType.LIMIT, price=D("90.00"),
                       time_in_force=TimeInForce.IOC)

    await venue.cancel("cancel")
    venue.bar(1, 100.0, 101.0, 99.0, 100.0)
    reports = {cid: venue.venue.order_report(client_order_id=cid)
               for cid in ("cancel", "gtd", "ioc")}

    assert {cid: (r.status, r.reason, r.ts_event) for cid, r in reports.items() if r} == {
        "cancel": (OrderStatus.CANCELED, "canceled on request", T0),
        "gtd": (OrderStatus.EXPIRED, f"expire_ns {T0 + MINUTE}: reached", T0 + MINUTE),
        "ioc": (OrderStatus.CANCELED, "time_in_force ioc: what did not fill on the first "
                "matching item is canceled", T0 + MINUTE),
    }


async def test_order_report_of_triggered_stop_limit_and_of_modified_order() -> None:
    venue = Venue()
    await venue.submit("stop", order_type=OrderType.STOP_LIMIT, trigger_price=D("105.00"),
                       price=D("104.00"))
    await venue.submit("limit", order_type=OrderType.LIMIT, price=D("90.00"))

    venue.bar(1, 100.0, 106.0, 99.0, 100.0)  # triggers at 105, not marketable at 104
    await venue.client.modify_order(ModifyOrder(
        strategy_id="s1", client_order_id="limit", instrument_id=INSTRUMENT_ID,
        quantity=D(2), price=D("89.00"), ts_event=0, ts_init=0,
    ), None)
    stop = venue.venue.order_report(client_order_id="stop")
    limit = venue.venue.order_report(client_order_id="limit")

    assert stop is not None and (stop.status, stop.ts_event) == (
        OrderStatus.TRIGGERED, T0 + MINUTE)
    assert limit is not None
    assert (limit.status, limit.quantity, limit.price, limit.ts_event) == (
        OrderStatus.ACCEPTED, D(2), D("89.00"), T0 + MINUTE)


async def test_rejected_order_has_no_report() -> None:
    venue = Venue()

    await venue.submit(quantity=D(0))

    assert [type(event) for event in venue.events] == [OrderRejected]
    assert venue.venue.order_report(client_order_id="O-1") is None


# -- open orders and fills ---------------------------------------------------------------


async def test_open_order_reports_list_working_orders_in_acceptance_order() -> None:
    other = make_instrument(instrument_id="ETH/USDT.SIM", symbol="ETH/USDT", base_currency="ETH")
    events: list[Event] = []
    client = SimExecutionClient.standalone(SimVenueConfig(), [make_instrument(), other],
                                           events.append, clock=SimClock(T0))
    for cid, instrument_id in (("B", INSTRUMENT_ID), ("A", "ETH/USDT.SIM"),
                               ("C", INSTRUMENT_ID)):
        await client.submit_order(SubmitOrder(
            strategy_id="s1", client_order_id=cid, instrument_id=instrument_id,
            side=OrderSide.BUY, order_type=OrderType.LIMIT, quantity=D(1), price=D("1.00"),
            ts_event=0, ts_init=0,
        ))
    await client.cancel_order(CancelOrder(strategy_id="s1", client_order_id="C",
                                          instrument_id=INSTRUMENT_ID, ts_event=0, ts_init=0),
                              None)

    every = await client.open_orders()
    of_btc = await client.open_orders(INSTRUMENT_ID)

    assert [r.client_order_id for r in every] == ["B", "A"]
    assert [r.client_order_id for r in of_btc] == ["B"]
    assert client.sim_venue.working_order_ids() == ["A", "B"]


async def test_fill_reports_match_the_fill_events_oldest_first() -> None:
    venue = Venue()
    await venue.submit("limit", order_type=OrderType.LIMIT, price=D("95.00"))
    await venue.submit("market")

    # The limit fills inside the bar (sent first, at its close), the market at its open.
    venue.bar(1, 100.0, 101.0, 94.0, 100.0)
    fills: list[OrderFilled] = venue.of(OrderFilled)
    reports = await venue.client.fills_since(0)

    assert [fill.client_order_id for fill in fills] == ["limit", "market"]
    assert [report.client_order_id for report in reports] == ["market", "limit"]
    by_trade = {fill.trade_id: fill for fill in fills}
    for report in reports:
        fill = by_trade[report.trade_id]
        assert report == FillReport(
            venue="SIM", instrument_id=INSTRUMENT_ID, client_order_id=fill.client_order_id,
            venue_order_id=fill.venue_order_id, trade_id=fill.trade_id, side=fill.side,
            last_quantity=fill.last_quantity, last_price=fill.last_price,
            commission=fill.commission, commission_currency=fill.commission_currency,
            liquidity_side=fill.liquidity_side, ts_event=fill.ts_event,
        )
    assert reports[0].liquidity_side is LiquiditySide.TAKER


async def test_fills_since_filters_by_time_and_instrument() -> None:
    venue = Venue()
    await venue.submit("first")
    venue.bar(1, 100.0, 101.0, 99.0, 100.0)
    await venue.submit("second")
    venue.bar(2, 102.0, 103.0, 101.0, 102.0)

    since_second = await venue.client.fills_since(T0 + MINUTE)
    other = await venue.client.fills_since(0, "ETH/USDT.SIM")

    assert [report.client_order_id for report in since_second] == ["second"]
    assert since_second[0].ts_event == T0 + MINUTE  # at or after: the open of bar 2
    assert other == []


# -- one order per client order id -------------------------------------------------------


@pytest.mark.parametrize(
    ("first_life", "seen"),
    [
        ("working", "order SIM-1, working"),
        ("filled", "order SIM-1, filled"),
        ("canceled", "order SIM-1, canceled"),
        ("rejected", "an order the venue rejected"),
    ],
)
async def test_client_order_id_seen_before_is_rejected_and_never_makes_an_order(
    first_life: str, seen: str
) -> None:
    venue = Venue()
    if first_life == "rejected":
        await venue.submit(quantity=D(0))
    else:
        await venue.submit(order_type=OrderType.LIMIT, price=D("95.00"))
    if first_life == "filled":
        venue.bar(1, 100.0, 101.0, 94.0, 100.0)
    if first_life == "canceled":
        await venue.cancel()
    before = venue.venue.order_report(client_order_id="O-1")

    await venue.submit()  # a market order: it would fill on the next bar
    venue.bar(2, 100.0, 101.0, 99.0, 100.0)

    rejection = venue.of(OrderRejected)[-1]
    assert rejection.reason == (
        f"client_order_id 'O-1': already used at venue SIM by {seen}; "
        "a client order id names one order"
    )
    assert len(venue.of(OrderAccepted)) == (0 if first_life == "rejected" else 1)
    assert len(venue.of(OrderFilled)) == (1 if first_life == "filled" else 0)
    assert venue.venue.order_report(client_order_id="O-1") == before
    statistics = venue.client.statistics()
    assert statistics.duplicates_rejected == 1
    assert statistics.orders_received == 2


# -- the client --------------------------------------------------------------------------


async def test_standalone_client_delivers_venue_events_to_its_sink_in_order() -> None:
    venue = Venue()

    await venue.submit(order_type=OrderType.LIMIT, price=D("95.00"))
    await venue.cancel()
    await venue.cancel()

    assert [type(event).__name__ for event in venue.events] == [
        "OrderAccepted", "OrderCanceled", "OrderCancelRejected"]


async def test_client_run_reports_started_and_ends_when_cancelled() -> None:
    venue = Venue()

    async with anyio.create_task_group() as tasks:
        await tasks.start(venue.client.run)
        tasks.cancel_scope.cancel()

    assert tasks.cancel_scope.cancel_called


async def test_client_account_has_no_balances_and_positions_are_empty() -> None:
    venue = Venue()
    venue.clock.advance_to(T0 + MINUTE)

    account = await venue.client.account()
    positions = await venue.client.positions()

    assert account == AccountReport(venue="SIM", account_id="SIM-001", balances=(),
                                    ts_event=T0 + MINUTE)
    assert positions == []


async def test_a_cash_accounts_client_reports_its_balances_free_and_locked() -> None:
    events: list[Event] = []
    clock = SimClock(T0)
    client = SimExecutionClient.standalone(
        SimVenueConfig(cash_account=True), [make_instrument()], events.append, clock=clock,
        starting_balances={"USDT": D("10000")})
    venue = client.sim_venue
    for minute, price in ((1, 20_000.0), (2, 20_000.0)):
        if minute == 2:  # a resting limit buy (held), then a market buy filled at the open
            for client_id, order_type, extra in (
                ("limit", OrderType.LIMIT, {"price": D("19000.00"), "quantity": D("0.2")}),
                ("market", OrderType.MARKET, {"quantity": D("0.1")}),
            ):
                await client.submit_order(SubmitOrder(
                    strategy_id="s1", client_order_id=client_id, instrument_id=INSTRUMENT_ID,
                    side=OrderSide.BUY, order_type=order_type, ts_event=0, ts_init=0, **extra))
        ts = T0 + minute * MINUTE
        clock.advance_to(ts)
        venue.process_market_data(Bar(bar_type=BAR_TYPE, open=price, high=price, low=price,
                                      close=price, volume=100.0, ts_event=ts, ts_init=ts))

    account = await client.account()

    assert [type(e) for e in events].count(OrderFilled) == 1
    held = D("0.2") * D("19000.00") * D("1.001")  # quantity x limit x (1 + taker fee)
    usdt = D("10000") - D("2000.000") - D("2.000000")  # the fill and its fee
    assert account.balances == (
        BalanceReport(currency="BTC", total=D("0.1"), free=D("0.1"), locked=D(0)),
        BalanceReport(currency="USDT", total=usdt, free=usdt - held, locked=held),
    )


async def test_client_order_status_is_scoped_to_the_instrument() -> None:
    venue = Venue()
    await venue.submit()

    found = await venue.client.order_status(instrument_id=INSTRUMENT_ID, client_order_id="O-1",
                                            venue_order_id=None)
    elsewhere = await venue.client.order_status(instrument_id="ETH/USDT.SIM",
                                                client_order_id="O-1", venue_order_id=None)

    assert found is not None and found.venue_order_id == "SIM-1"
    assert elsewhere is None


async def test_client_over_a_venue_in_a_bus_sends_events_to_orders_process() -> None:
    bus = MessageBus()
    sent: list[Message] = []
    bus.register_endpoint(ORDERS_PROCESS, sent.append)
    sim_venue = SimVenue(SimVenueConfig(), InstrumentRegistry([make_instrument()]),
                         cache=MarketCache())
    sim_venue.register(bus, SimClock(T0))
    sim_venue.start()
    client = SimExecutionClient(sim_venue)

    await client.submit_order(SubmitOrder(
        strategy_id="s1", client_order_id="O-1", instrument_id=INSTRUMENT_ID,
        side=OrderSide.BUY, order_type=OrderType.MARKET, quantity=D(1), ts_event=0, ts_init=0,
    ))

    assert [type(message) for message in sent] == [OrderAccepted]
    assert [r.client_order_id for r in await client.open_orders()] == ["O-1"]
    assert client.venue == "SIM"


def test_client_over_an_in_graph_venue_reports_the_backtest_fills() -> None:
    clock = SimClock()
    graph = make_graph(clock=clock)
    sim_venue = SimVenue(SimVenueConfig(), graph.instruments, cache=graph.cache)
    graph.add_bar_source(BarType(instrument_id=INSTRUMENT_ID, timeframe="1m"))
    graph.add_venue(sim_venue)

    def buy(strategy: ScriptedStrategy, _: Bar) -> None:
        strategy.market_order(INSTRUMENT_ID, OrderSide.BUY, D("0.5"))

    def sell(strategy: ScriptedStrategy, _: Bar) -> None:
        strategy.market_order(INSTRUMENT_ID, OrderSide.SELL, D("0.5"))

    strategy = ScriptedStrategy("s1", {0: buy, 2: sell})
    graph.add_strategy(strategy)
    bars = make_bars([100.0, 101.0, 102.0, 103.0, 104.0], start_ns=T0)
    source = ReplaySource(bars, bars_topic(INSTRUMENT_ID, "1m"), INSTRUMENT_ID)
    ReplayDriver(graph, clock, [source]).run(start=graph.start)
    graph.stop()
    client = SimExecutionClient(sim_venue)

    reports = anyio.run(client.fills_since, 0)
    open_orders = anyio.run(client.open_orders)

    fills = strategy.events(OrderFilled)
    assert [(r.trade_id, r.side, r.last_quantity, r.last_price) for r in reports] == [
        (f.trade_id, f.side, f.last_quantity, f.last_price) for f in fills]
    assert len(reports) == 2
    assert open_orders == []


async def test_a_cash_accounts_balances_agree_with_the_books_reconciliation_keeps() -> None:
    from engine.runtime.reconciliation import reconcile

    clock = SimClock()
    graph = make_graph(clock=clock)
    balances = graph.portfolio.balances()
    sim_venue = SimVenue(SimVenueConfig(cash_account=True), graph.instruments,
                         cache=graph.cache, starting_balances=balances)
    graph.add_bar_source(BarType(instrument_id=INSTRUMENT_ID, timeframe="1m"))
    graph.add_venue(sim_venue)

    def buy(strategy: ScriptedStrategy, _: Bar) -> None:
        strategy.market_order(INSTRUMENT_ID, OrderSide.BUY, D("0.5"))

    def rest(strategy: ScriptedStrategy, _: Bar) -> None:  # holds quote while open
        strategy.limit_order(INSTRUMENT_ID, OrderSide.BUY, D("0.2"), D("50.00"))

    def sell(strategy: ScriptedStrategy, _: Bar) -> None:
        strategy.market_order(INSTRUMENT_ID, OrderSide.SELL, D("0.3"))

    graph.add_strategy(ScriptedStrategy("s1", {0: buy, 1: rest, 2: sell}))
    bars = make_bars([100.0, 101.0, 102.0, 103.0, 104.0], start_ns=T0)
    source = ReplaySource(bars, bars_topic(INSTRUMENT_ID, "1m"), INSTRUMENT_ID)
    ReplayDriver(graph, clock, [source]).run(start=graph.start)
    injected: list[Event] = []

    account = await SimExecutionClient(sim_venue).account()
    report = await reconcile(SimExecutionClient(sim_venue), graph, since_ns=0,
                             now_ns=clock.timestamp_ns(),
                             inject=lambda event, endpoint: injected.append(event))

    assert {b.currency: b.total for b in account.balances} == graph.portfolio.balances()
    assert any(b.locked > 0 for b in account.balances)  # the resting buy's hold
    assert report.balance_corrections == 0 and report.agrees and injected == []
