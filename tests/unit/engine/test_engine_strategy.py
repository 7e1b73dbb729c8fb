"""The strategy base through a full graph: TradingGraph + SimVenue + ReplayDriver, no mocks."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from adapters.sim.venue import SimVenue, SimVenueConfig
from engine.actors.risk import RiskConfig
from engine.cache import MarketCache
from engine.clock import SimClock
from engine.domain.enums import (
    LiquiditySide,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    TimeInForce,
    TrailingOffsetType,
    TriggerType,
)
from engine.events.base import Message
from engine.events.fills import OrderFilled, PositionClosed, PositionEvent, PositionOpened
from engine.events.market import Bar
from engine.events.orders import (
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderEvent,
    OrderSubmitted,
    OrderTriggered,
    OrderUpdated,
    SubmitOrder,
)
from engine.graph import TradingGraph
from engine.replay import ReplayDriver, ReplaySource
from engine.strategy import Strategy, StrategyConfig, load_strategy_class
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    ScriptedStrategy as Scripted,
    make_bar,
    make_graph,
)
from engine.topics import RISK_EXECUTE, bars_topic
from strategies.rsi_reversion import RsiMeanReversionConfig
from strategies.sma_cross import SmaCross, SmaCrossConfig

MINUTE = 60_000_000_000
T0 = 19_700 * 86_400_000_000_000
D = Decimal
ID = INSTRUMENT_ID

@dataclass
class Run:
    graph: TradingGraph
    venue: SimVenue
    messages: list[tuple[str, Message]] = field(default_factory=list)

    def commands(self) -> list[SubmitOrder]:
        return [m for t, m in self.messages if t == RISK_EXECUTE and type(m) is SubmitOrder]


def run_graph(
    strategies: list[Strategy], bars: list[Bar], *, risk: RiskConfig | None = None
) -> Run:
    """Replay `bars` through a fail-fast graph with a SimVenue sharing the graph's cache."""
    cache = MarketCache()
    clock = SimClock()
    graph = make_graph(clock=clock, cache=cache, risk=risk, fail_fast=True)
    venue = SimVenue(SimVenueConfig(), graph.instruments, cache=cache)
    graph.add_bar_source(BAR_TYPE)
    graph.add_venue(venue)
    for strategy in strategies:
        graph.add_strategy(strategy)
    run = Run(graph, venue)
    graph.bus.add_observer(lambda topic, message: run.messages.append((topic, message)))
    source = ReplaySource(bars, bars_topic(ID, "1m"), ID)
    ReplayDriver(graph, clock, [source]).run(start=graph.start)
    graph.stop()
    return run


def bar(index: int, open: float, high: float, low: float, close: float) -> Bar:
    """The bar closing `index + 1` minutes after T0 (bar 0 closes at T0 + 1m)."""
    return make_bar(close, ts_event=close_ns(index), open=open, high=high, low=low,
                    volume=10.0)


def close_ns(index: int) -> int:
    return T0 + (index + 1) * MINUTE


def flat_bars(count: int, price: float = 100.0) -> list[Bar]:
    return [bar(i, price, price, price, price) for i in range(count)]


# -- commands ------------------------------------------------------------------------------


def test_order_helpers_round_to_increments_with_sequential_client_order_ids() -> None:
    def orders(strategy: Scripted, _: Bar) -> None:
        strategy.market_order(ID, OrderSide.BUY, D("0.1239"))
        strategy.limit_order(ID, OrderSide.BUY, "0.5", D("90.005"))
        strategy.limit_order(ID, OrderSide.BUY, 0.5, D("90.015"))
        strategy.stop_market_order(ID, OrderSide.SELL, 0.2, 80.004)
        strategy.stop_limit_order(ID, OrderSide.BUY, 1, D("120.006"), "120.5")

    first, second = Scripted("s1", {0: orders}), Scripted("s2", {1: orders})

    run = run_graph([first, second], flat_bars(2))

    rows = [(c.strategy_id, c.client_order_id, c.order_type, str(c.quantity),
             None if c.price is None else str(c.price),
             None if c.trigger_price is None else str(c.trigger_price), c.ts_event)
            for c in run.commands()]
    assert rows == [
        ("s1", "s1-1", OrderType.MARKET, "0.123", None, None, close_ns(0)),
        ("s1", "s1-2", OrderType.LIMIT, "0.500", "90.00", None, close_ns(0)),
        ("s1", "s1-3", OrderType.LIMIT, "0.500", "90.02", None, close_ns(0)),
        ("s1", "s1-4", OrderType.STOP_MARKET, "0.200", None, "80.00", close_ns(0)),
        ("s1", "s1-5", OrderType.STOP_LIMIT, "1.000", "120.50", "120.01", close_ns(0)),
        ("s2", "s2-1", OrderType.MARKET, "0.123", None, None, close_ns(1)),
        ("s2", "s2-2", OrderType.LIMIT, "0.500", "90.00", None, close_ns(1)),
        ("s2", "s2-3", OrderType.LIMIT, "0.500", "90.02", None, close_ns(1)),
        ("s2", "s2-4", OrderType.STOP_MARKET, "0.200", None, "80.00", close_ns(1)),
        ("s2", "s2-5", OrderType.STOP_LIMIT, "1.000", "120.50", "120.01", close_ns(1)),
    ]
    assert run.graph.orders.statistics().denied == 0


def test_order_helper_return_value_is_the_client_order_id_it_sent() -> None:
    returned: list[str] = []
    strategy = Scripted(script={0: lambda s, _: returned.extend(
        [s.market_order(ID, OrderSide.BUY, 1), s.limit_order(ID, OrderSide.SELL, 1, 200)]
    )})

    run = run_graph([strategy], flat_bars(1))

    assert returned == [c.client_order_id for c in run.commands()] == ["s1-1", "s1-2"]


def test_order_helper_for_unknown_instrument_sends_unrounded_and_risk_denies() -> None:
    strategy = Scripted(script={0: lambda s, _: s.market_order("ETH/USDT.SIM", OrderSide.BUY,
                                                                 D("0.12345"))})

    run = run_graph([strategy], flat_bars(1))

    assert [c.quantity for c in run.commands()] == [D("0.12345")]
    [denied] = strategy.events(OrderDenied)
    assert denied.reason.startswith("unknown_instrument:")


# -- fills through the full graph ------------------------------------------------------------


def test_market_order_fills_at_next_bar_open_as_taker() -> None:
    strategy = Scripted(script={0: lambda s, _: s.market_order(ID, OrderSide.BUY, 1)})
    bars = [bar(0, 100, 100, 100, 100), bar(1, 101, 103, 99, 102)]

    run_graph([strategy], bars)

    [fill] = strategy.events(OrderFilled)
    assert (fill.last_price, fill.last_quantity, fill.liquidity_side) == (
        D("101.00"), D("1.000"), LiquiditySide.TAKER)
    assert fill.commission == D("0.101")
    assert fill.ts_event == close_ns(0)  # bar 1's open time
    assert fill.ts_init == close_ns(1)


def test_limit_order_below_open_fills_at_limit_as_maker_when_low_touches() -> None:
    strategy = Scripted(script={0: lambda s, _: s.limit_order(ID, OrderSide.BUY, 1, "99.5")})
    bars = [bar(0, 100, 100, 100, 100), bar(1, 101, 103, 99, 102)]

    run_graph([strategy], bars)

    [fill] = strategy.events(OrderFilled)
    assert (fill.last_price, fill.liquidity_side, fill.ts_event) == (
        D("99.50"), LiquiditySide.MAKER, close_ns(1))
    assert fill.commission == D("0.0995")


def test_limit_order_the_open_crosses_fills_at_open_as_taker() -> None:
    strategy = Scripted(script={0: lambda s, _: s.limit_order(ID, OrderSide.BUY, 1, 102)})
    bars = [bar(0, 100, 100, 100, 100), bar(1, 101, 103, 99, 102)]

    run_graph([strategy], bars)

    [fill] = strategy.events(OrderFilled)
    assert (fill.last_price, fill.liquidity_side, fill.ts_event) == (
        D("101.00"), LiquiditySide.TAKER, close_ns(0))


def test_limit_order_out_of_reach_stays_open() -> None:
    strategy = Scripted(script={0: lambda s, _: s.limit_order(ID, OrderSide.BUY, 1, 98)})
    bars = [bar(0, 100, 100, 100, 100), bar(1, 101, 103, 99, 102)]

    run = run_graph([strategy], bars)

    assert strategy.events(OrderFilled) == []
    [order] = run.graph.orders.open_orders(strategy_id="s1")
    assert (order.client_order_id, order.status) == ("s1-1", OrderStatus.ACCEPTED)


def test_stop_market_order_fills_at_trigger_when_high_reaches_it() -> None:
    strategy = Scripted(script={
        0: lambda s, _: s.stop_market_order(ID, OrderSide.BUY, 1, "102.5"),
    })
    bars = [bar(0, 100, 100, 100, 100), bar(1, 101, 101.5, 100, 101),
            bar(2, 101, 103, 99, 102)]

    run_graph([strategy], bars)

    [fill] = strategy.events(OrderFilled)
    assert (fill.last_price, fill.liquidity_side, fill.ts_event) == (
        D("102.50"), LiquiditySide.TAKER, close_ns(2))


def test_stop_market_sell_fills_at_open_when_the_open_gaps_through_the_trigger() -> None:
    strategy = Scripted(script={
        0: lambda s, _: s.stop_market_order(ID, OrderSide.SELL, 1, 99),
    })
    bars = [bar(0, 100, 100, 100, 100), bar(1, 97, 98, 96, 97)]

    run_graph([strategy], bars)

    [fill] = strategy.events(OrderFilled)
    assert (fill.side, fill.last_price, fill.ts_event) == (OrderSide.SELL, D("97.00"),
                                                            close_ns(0))


def test_stop_limit_order_marketable_at_trigger_triggers_and_fills_at_trigger() -> None:
    strategy = Scripted(script={
        0: lambda s, _: s.stop_limit_order(ID, OrderSide.BUY, 1, "102.5", "103"),
    })
    bars = [bar(0, 100, 100, 100, 100), bar(1, 101, 104, 100, 103)]

    run_graph([strategy], bars)

    order_events = strategy.events(OrderEvent)
    assert [type(e) for e in order_events] == [
        OrderSubmitted, OrderAccepted, OrderTriggered, OrderFilled]
    assert order_events[-1].last_price == D("102.50")
    assert order_events[-1].liquidity_side is LiquiditySide.TAKER


def test_stop_limit_order_not_marketable_rests_as_limit_then_fills_at_limit() -> None:
    strategy = Scripted(script={
        0: lambda s, _: s.stop_limit_order(ID, OrderSide.BUY, 1, "102.5", "102"),
    })
    bars = [bar(0, 100, 100, 100, 100), bar(1, 101, 104, 100, 103),
            bar(2, 103, 103.5, 101.5, 102)]

    run_graph([strategy], bars)

    [triggered] = strategy.events(OrderTriggered)
    [fill] = strategy.events(OrderFilled)
    assert triggered.ts_init == close_ns(1)
    assert (fill.last_price, fill.liquidity_side, fill.ts_init) == (
        D("102.00"), LiquiditySide.MAKER, close_ns(2))


def test_new_order_helpers_round_prices_and_offsets_to_their_units() -> None:
    def orders(strategy: Scripted, _: Bar) -> None:
        strategy.market_if_touched_order(ID, OrderSide.BUY, D("0.1239"), "95.004")
        strategy.limit_if_touched_order(ID, OrderSide.BUY, 1, "95.006", D("95.504"),
                                        time_in_force=TimeInForce.DAY)
        strategy.trailing_stop_market_order(ID, OrderSide.SELL, 1, "2.004",
                                            trigger_type=TriggerType.LAST)
        strategy.trailing_stop_limit_order(ID, OrderSide.SELL, 1, D("20.4"), 5,
                                           trailing_offset_type=TrailingOffsetType.TICKS,
                                           trigger_price="97.996")
        strategy.trailing_stop_market_order(ID, OrderSide.SELL, 1, "12.5",
                                            trailing_offset_type=TrailingOffsetType.BASIS_POINTS)

    run = run_graph([Scripted("s1", {0: orders})], flat_bars(1))

    rows = [(c.order_type, str(c.quantity), c.price and str(c.price),
             c.trigger_price and str(c.trigger_price), c.trailing_offset and str(c.trailing_offset),
             c.limit_offset and str(c.limit_offset), c.trailing_offset_type, c.trigger_type,
             c.time_in_force) for c in run.commands()]
    price, ticks, bps = (TrailingOffsetType.PRICE, TrailingOffsetType.TICKS,
                         TrailingOffsetType.BASIS_POINTS)
    default, gtc = TriggerType.DEFAULT, TimeInForce.GTC
    assert rows == [
        (OrderType.MARKET_IF_TOUCHED, "0.123", None, "95.00", None, None, price, default, gtc),
        (OrderType.LIMIT_IF_TOUCHED, "1.000", "95.50", "95.01", None, None, price, default,
         TimeInForce.DAY),
        (OrderType.TRAILING_STOP_MARKET, "1.000", None, None, "2.00", None, price,
         TriggerType.LAST, gtc),
        (OrderType.TRAILING_STOP_LIMIT, "1.000", None, "98.00", "20", "5", ticks, default, gtc),
        (OrderType.TRAILING_STOP_MARKET, "1.000", None, None, "12.5", None, bps, default, gtc),
    ]
    assert run.graph.orders.statistics().denied == 0


def test_trailing_stop_order_record_follows_the_venue_and_the_stop_fills() -> None:
    strategy = Scripted(script={
        0: lambda s, _: s.market_order(ID, OrderSide.BUY, 1),
        1: lambda s, _: s.trailing_stop_market_order(ID, OrderSide.SELL, 1, 2, reduce_only=True),
    })
    bars = [bar(0, 100, 100, 100, 100), bar(1, 100, 100, 100, 100),
            bar(2, 100, 104, 99.5, 103), bar(3, 103, 103, 101, 101.5)]

    run = run_graph([strategy], bars)

    updates = [(u.trigger_price, u.ts_event) for u in strategy.events(OrderUpdated)]
    fills = [(f.side, f.last_price, f.ts_event) for f in strategy.events(OrderFilled)]
    assert updates == [(D("98.00"), close_ns(1)), (D("102.00"), close_ns(2))]
    assert fills == [(OrderSide.BUY, D("100.00"), close_ns(0)),
                     (OrderSide.SELL, D("102.00"), close_ns(3))]
    record = run.graph.orders.order("s1-2")
    assert record is not None
    assert (record.status, record.trigger_price, record.trailing_offset) == (
        OrderStatus.FILLED, D("102.00"), D("2.00"))


# -- cancel, modify, close ---------------------------------------------------------------------


def test_cancel_order_cancels_a_working_limit_before_it_can_fill() -> None:
    strategy = Scripted(script={
        0: lambda s, _: s.limit_order(ID, OrderSide.BUY, 1, 99),
        1: lambda s, _: s.cancel_order("s1-1"),
    })
    bars = [bar(0, 100, 100, 100, 100), flat_bars(2)[1], bar(2, 100, 100, 98, 99)]

    run = run_graph([strategy], bars)

    [canceled] = strategy.events(OrderCanceled)
    assert canceled.client_order_id == "s1-1"
    assert strategy.events(OrderFilled) == []
    assert run.graph.orders.order("s1-1").status is OrderStatus.CANCELED  # type: ignore[union-attr]
    assert run.graph.orders.open_orders() == []


def test_cancel_order_of_unknown_id_is_a_programming_error() -> None:
    strategy = Scripted(script={0: lambda s, _: s.cancel_order("nope")})

    with pytest.raises(ValueError, match="'nope': no such order"):
        run_graph([strategy], flat_bars(1))


def test_modify_order_moves_the_limit_rounded_then_fills_at_the_new_price() -> None:
    strategy = Scripted(script={
        0: lambda s, _: s.limit_order(ID, OrderSide.BUY, 1, 90),
        1: lambda s, _: s.modify_order("s1-1", price=D("99.254"), quantity=D("0.5009")),
    })
    bars = [bar(0, 100, 100, 100, 100), flat_bars(2)[1], bar(2, 100, 100, 99, 99.5)]

    run_graph([strategy], bars)

    [updated] = strategy.events(OrderUpdated)
    [fill] = strategy.events(OrderFilled)
    assert (updated.price, updated.quantity) == (D("99.25"), D("0.500"))
    assert (fill.last_price, fill.last_quantity) == (D("99.25"), D("0.500"))


def test_cancel_all_orders_cancels_only_this_strategys_open_orders() -> None:
    def two_limits(strategy: Scripted, _: Bar) -> None:
        strategy.limit_order(ID, OrderSide.BUY, 1, 90)
        strategy.limit_order(ID, OrderSide.SELL, 1, 110)

    first = Scripted("s1", {0: two_limits, 1: lambda s, _: s.cancel_all_orders()})
    second = Scripted("s2", {0: two_limits})

    run = run_graph([first, second], flat_bars(3))

    assert [e.client_order_id for e in first.events(OrderCanceled)] == ["s1-1", "s1-2"]
    assert second.events(OrderCanceled) == []
    assert [o.client_order_id for o in run.graph.orders.open_orders()] == ["s2-1", "s2-2"]


def test_close_position_sends_reduce_only_market_order_that_flattens() -> None:
    results: list[str | None] = []
    strategy = Scripted(script={
        0: lambda s, _: results.append(s.close_position(ID)),
        1: lambda s, _: s.market_order(ID, OrderSide.BUY, D("0.5")),
        3: lambda s, _: results.append(s.close_position(ID)),
    })

    run = run_graph([strategy], flat_bars(5))

    assert results == [None, "s1-2"]
    closing = run.commands()[-1]
    assert (closing.side, closing.quantity, closing.reduce_only, closing.order_type) == (
        OrderSide.SELL, D("0.500"), True, OrderType.MARKET)
    [closed] = strategy.events(PositionClosed)
    assert closed.quantity == 0
    assert run.graph.portfolio.net_quantity(ID, "s1") == 0


def test_close_position_of_a_short_buys_it_back() -> None:
    strategy = Scripted(script={
        0: lambda s, _: s.market_order(ID, OrderSide.SELL, 2),
        2: lambda s, _: s.close_position(ID),
    })

    run = run_graph([strategy], flat_bars(4))

    closing = run.commands()[-1]
    assert (closing.side, closing.quantity, closing.reduce_only) == (OrderSide.BUY, D(2), True)
    assert run.graph.portfolio.net_quantity(ID, "s1") == 0


def test_selling_more_than_the_long_flips_to_short() -> None:
    strategy = Scripted(script={
        0: lambda s, _: s.market_order(ID, OrderSide.BUY, 1),
        1: lambda s, _: s.market_order(ID, OrderSide.SELL, 3),
    })
    bars = [bar(0, 100, 100, 100, 100), bar(1, 101, 101, 101, 101),
            bar(2, 104, 104, 104, 104)]

    run = run_graph([strategy], bars)

    positions = strategy.events(PositionEvent)
    assert [(type(p), p.side, p.quantity) for p in positions] == [
        (PositionOpened, PositionSide.LONG, D(1)),
        (PositionClosed, PositionSide.FLAT, D(0)),
        (PositionOpened, PositionSide.SHORT, D(-2)),
    ]
    assert positions[1].realized_pnl == D(3)  # bought at 101, sold at 104
    assert positions[2].average_entry_price == D(104)
    assert run.graph.portfolio.net_quantity(ID, "s1") == D(-2)


# -- handlers and reads --------------------------------------------------------------------------


class Recording(Strategy):
    """Record which handler ran, in order, specific ones before the family hooks."""

    def __init__(self) -> None:
        super().__init__("rec")
        self.calls: list[str] = []

    def on_start(self) -> None:
        self.subscribe_bars(BAR_TYPE)

    def on_bar(self, bar: Bar) -> None:
        self.calls.append("bar")
        if bar.ts_event == close_ns(0):
            self.market_order(ID, OrderSide.BUY, 1)
        elif bar.ts_event == close_ns(2):
            self.close_position(ID)

    def on_order_submitted(self, event: OrderSubmitted) -> None:
        self.calls.append("submitted")

    def on_order_accepted(self, event: OrderAccepted) -> None:
        self.calls.append("accepted")

    def on_order_filled(self, event: OrderFilled) -> None:
        self.calls.append("filled")

    def on_order_event(self, event: OrderEvent) -> None:
        self.calls.append("order_event")

    def on_position_opened(self, event: PositionOpened) -> None:
        self.calls.append("opened")

    def on_position_closed(self, event: PositionClosed) -> None:
        self.calls.append("closed")

    def on_position_event(self, event: PositionEvent) -> None:
        self.calls.append("position_event")


def test_handlers_receive_order_then_position_events_in_order_before_the_next_bar() -> None:
    strategy = Recording()

    run_graph([strategy], flat_bars(4))

    assert strategy.calls == [
        "bar",
        "submitted", "order_event", "accepted", "order_event",
        "filled", "order_event", "opened", "position_event",
        "bar", "bar",
        "submitted", "order_event", "accepted", "order_event",
        "filled", "order_event", "closed", "position_event",
        "bar",
    ]


def test_strategy_reads_position_open_orders_balances_and_last_price() -> None:
    reads: list[tuple[Any, ...]] = []

    def read(strategy: Scripted, bar: Bar) -> None:
        reads.append((
            strategy.net_quantity(ID),
            [o.client_order_id for o in strategy.open_orders()],
            [o.client_order_id for o in strategy.open_orders("ETH/USDT.SIM")],
            strategy.portfolio.balance("USDT"),
            strategy.last_price(ID),
            strategy.instruments.require(ID).price_increment,
        ))

    def buy_and_rest(strategy: Scripted, bar: Bar) -> None:
        read(strategy, bar)
        strategy.market_order(ID, OrderSide.BUY, 1)
        strategy.limit_order(ID, OrderSide.BUY, 1, 50)

    strategy = Scripted(script={0: buy_and_rest, 1: read})
    bars = [bar(0, 100, 100, 100, 100), bar(1, 101, 102, 100, 102)]

    run_graph([strategy], bars)

    assert reads == [
        (D(0), [], [], D(100_000), 100.0, D("0.01")),
        (D(1), ["s1-2"], [], D(100_000) - D(101) - D("0.101"), 102.0, D("0.01")),
    ]


def test_strategy_read_before_joining_a_graph_raises() -> None:
    strategy = Scripted()

    with pytest.raises(RuntimeError, match="not added to a graph"):
        strategy.open_orders()
    for read in (lambda: strategy.net_quantity(ID), lambda: strategy.last_price(ID),
                 lambda: strategy.portfolio, lambda: strategy.orders,
                 lambda: strategy.instruments):
        with pytest.raises(RuntimeError, match="strategy .*: not added to a graph yet"):
            read()


def test_denied_order_arrives_as_order_denied_and_is_recorded() -> None:
    strategy = Scripted(script={0: lambda s, _: s.market_order(ID, OrderSide.BUY, D("0.0004"))})

    run = run_graph([strategy], flat_bars(2))

    [denied] = strategy.events(OrderDenied)
    assert (denied.client_order_id, denied.quantity) == ("s1-1", D("0.000"))
    assert denied.reason.startswith("quantity")
    assert run.graph.orders.order("s1-1").status is OrderStatus.DENIED  # type: ignore[union-attr]


# -- loading and configuration ------------------------------------------------------------------


def test_load_strategy_class_returns_the_named_strategy() -> None:
    assert load_strategy_class("strategies.sma_cross:SmaCross") is SmaCross


@pytest.mark.parametrize(
    ("path", "match"),
    [
        ("strategies.sma_cross", "expected 'module:Class'"),
        (":SmaCross", "expected 'module:Class'"),
        ("strategies.sma_cross:", "expected 'module:Class'"),
        ("strategies.no_such_module:X", "cannot import strategies.no_such_module"),
        ("strategies.sma_cross:Missing", "Missing is not a Strategy subclass"),
        ("strategies.sma_cross:SmaCrossConfig", "SmaCrossConfig is not a Strategy subclass"),
        ("strategies.sma_cross:OrderSide", "OrderSide is not a Strategy subclass"),
    ],
)
def test_load_strategy_class_with_bad_path_raises_value_error(path: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        load_strategy_class(path)


def test_strategy_with_config_of_another_type_raises_type_error() -> None:
    wrong = RsiMeanReversionConfig(instrument_id=ID)

    with pytest.raises(TypeError, match="config RsiMeanReversionConfig: expected SmaCrossConfig"):
        SmaCross("sma", wrong)


def test_strategy_with_base_config_where_a_subclass_is_required_raises_type_error() -> None:
    with pytest.raises(TypeError, match="expected SmaCrossConfig"):
        SmaCross("sma", StrategyConfig())


def test_strategy_without_config_gets_its_config_type_default() -> None:
    assert type(Scripted().config) is StrategyConfig


def test_strategy_config_rejects_unknown_fields() -> None:
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"instrument_id": ID, "fast": 3}, SmaCrossConfig)


def test_modify_order_changes_a_trailing_offset_rounded_and_the_record_keeps_it() -> None:
    strategy = Scripted(script={
        0: lambda s, _: s.trailing_stop_market_order(ID, OrderSide.SELL, 1, 2),
        1: lambda s, _: s.modify_order("s1-1", trailing_offset="4.004"),
    })
    # After the modify the trigger is 100 - 4 = 96: the low of 97 leaves it working.
    bars = [bar(0, 100, 100, 100, 100), flat_bars(2)[1], bar(2, 100, 100, 97, 98)]

    run = run_graph([strategy], bars)

    [*_, updated] = strategy.events(OrderUpdated)
    assert (updated.trigger_price, updated.trailing_offset) == (D("96.00"), D("4.00"))
    record = run.graph.orders.order("s1-1")
    assert record is not None
    assert (record.trailing_offset, record.trigger_price) == (D("4.00"), D("96.00"))
    assert strategy.events(OrderFilled) == []
