"""The portfolio actor through a real bus and SimClock: fills in, position/account events out."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import msgspec
import pytest

from engine.actors.portfolio import Portfolio, PortfolioConfig
from engine.actors.retention import RetentionConfig
from engine.bus import MessageBus
from engine.cache import MarketCache
from engine.clock import SimClock
from engine.domain.enums import LiquiditySide, OrderSide, PositionSide
from engine.events.base import Message
from engine.events.fills import (
    AccountUpdated,
    Balance,
    OrderFilled,
    PositionChanged,
    PositionClosed,
    PositionOpened,
)
from engine.events.market import Instrument
from engine.events.orders import OrderAccepted
from engine.instruments import InstrumentRegistry
from engine.ports import PositionsView
from engine.topics import account_topic, order_topic, position_topic

D = Decimal
HOUR = 3_600_000_000_000
BTC = "BTC/USDT.SIM"
ETH_BTC = "ETH/BTC.SIM"


def make_instrument(symbol: str) -> Instrument:
    base, quote = symbol.split("/")
    return Instrument(
        instrument_id=f"{symbol}.SIM", symbol=symbol, venue="SIM", base_currency=base,
        quote_currency=quote, price_increment=D("0.01"), size_increment=D("0.001"),
        ts_event=0, ts_init=0,
    )


@dataclass
class Graph:
    bus: MessageBus
    clock: SimClock
    cache: MarketCache
    portfolio: Portfolio
    positions: list[tuple[str, Message]] = field(default_factory=list)
    accounts: list[tuple[str, Message]] = field(default_factory=list)
    sequence: int = 0

    def fill(
        self, side: OrderSide, quantity: str, price: str, *, commission: str = "0",
        commission_currency: str = "USDT", strategy_id: str = "s1", instrument_id: str = BTC,
    ) -> None:
        self.sequence += 1
        now = self.clock.timestamp_ns()
        self.bus.publish(order_topic(strategy_id), OrderFilled(
            strategy_id=strategy_id, client_order_id=f"O-{self.sequence}",
            instrument_id=instrument_id, venue_order_id=f"V-{self.sequence}",
            trade_id=f"T-{self.sequence}", side=side, last_quantity=D(quantity),
            last_price=D(price), commission=D(commission),
            commission_currency=commission_currency, liquidity_side=LiquiditySide.TAKER,
            ts_event=now, ts_init=now,
        ))


def make_graph(
    balances: dict[str, Decimal] | None = None, *, interval_ns: int = HOUR, start_ns: int = 0,
) -> Graph:
    bus = MessageBus()
    clock = SimClock(start_ns)
    cache = MarketCache()
    registry = InstrumentRegistry([make_instrument("BTC/USDT"), make_instrument("ETH/BTC")])
    config = PortfolioConfig(
        starting_balances=balances or {"USDT": D("10000")}, equity_interval_ns=interval_ns
    )
    graph = Graph(bus, clock, cache, Portfolio(config, registry, cache))
    bus.subscribe("events.position.#", lambda message: graph.positions.append(
        (position_topic(message.strategy_id), message)))
    bus.subscribe("events.account.#", lambda message: graph.accounts.append(
        (account_topic(message.account_id), message)))
    graph.portfolio.register(bus, clock)
    graph.portfolio.start()
    return graph


def test_portfolio_buy_fill_publishes_opened_and_account_updated() -> None:
    graph = make_graph()
    graph.clock.advance_to(5)
    graph.fill(OrderSide.BUY, "0.5", "100", commission="0.05")
    ((topic, opened),) = graph.positions
    assert topic == position_topic("s1")
    assert isinstance(opened, PositionOpened)
    assert (opened.side, opened.quantity, opened.average_entry_price) == (
        PositionSide.LONG, D("0.5"), 100)
    assert (opened.fees, opened.opened_ns, opened.ts_event) == (D("0.05"), 5, 5)
    ((topic, account),) = graph.accounts
    assert topic == account_topic("SIM-001")
    assert isinstance(account, AccountUpdated)
    assert account.balances == (Balance(currency="BTC", total=D("0.5")),
                                Balance(currency="USDT", total=D("9949.95")))
    assert (account.equity, account.currency) == (D("9949.95"), "USDT")  # no BTC price yet


def test_portfolio_sell_fill_moves_cash_the_other_way() -> None:
    graph = make_graph({"USDT": D("1000"), "BTC": D("2")})
    graph.fill(OrderSide.SELL, "1.5", "200", commission="0.3")
    assert graph.portfolio.balances() == {"BTC": D("0.5"), "USDT": D("1299.7")}
    assert graph.portfolio.net_quantity(BTC) == D("-1.5")


def test_portfolio_equity_marks_balances_at_cache_price() -> None:
    graph = make_graph()
    graph.fill(OrderSide.BUY, "2", "100", commission="0.2")
    graph.cache.set_price(BTC, 110.1)
    assert graph.portfolio.equity() == D("9799.8") + 2 * D("110.1")
    assert graph.portfolio.unrealized_pnl() == D("20.2")
    position = graph.portfolio.position(BTC, "s1")
    assert position is not None and position.unrealized_pnl(D("110.1")) == D("20.2")


def test_portfolio_partial_close_and_flip_publish_changed_closed_opened() -> None:
    graph = make_graph()
    graph.fill(OrderSide.BUY, "2", "100")
    graph.fill(OrderSide.SELL, "1", "110")
    graph.fill(OrderSide.SELL, "3", "120", commission="0.3")
    kinds = [type(message) for _, message in graph.positions]
    assert kinds == [PositionOpened, PositionChanged, PositionClosed, PositionOpened]
    closed = graph.positions[2][1]
    assert isinstance(closed, PositionClosed)
    assert (closed.realized_pnl, closed.fees, closed.peak_quantity) == (30, D("0.1"), 2)
    assert closed.average_exit_price == D("115")
    assert len(graph.accounts) == 3
    (trade,) = graph.portfolio.closed_trades()
    assert (trade.side, trade.quantity, trade.realized_pnl, trade.fees) == ("long", 2, 30, D("0.1"))
    position = graph.portfolio.position(BTC, "s1")
    assert position is not None
    assert (position.side, position.quantity, position.average_entry_price) == (
        PositionSide.SHORT, -2, 120)
    assert graph.portfolio.realized_pnl() == 30
    assert graph.portfolio.total_fees() == D("0.3")


def test_portfolio_read_api_filters_by_strategy_and_instrument() -> None:
    graph = make_graph({"USDT": D("10000"), "BTC": D("10")})
    graph.fill(OrderSide.BUY, "1", "100", strategy_id="s2")
    graph.fill(OrderSide.SELL, "1", "100", strategy_id="s1")
    graph.fill(OrderSide.BUY, "1", "0.05", strategy_id="s1", instrument_id=ETH_BTC,
               commission_currency="BTC")
    assert [(p.strategy_id, p.instrument_id) for p in graph.portfolio.positions()] == [
        ("s1", BTC), ("s1", ETH_BTC), ("s2", BTC)]
    assert [p.instrument_id for p in graph.portfolio.positions("s2")] == [BTC]
    assert graph.portfolio.net_quantity(BTC) == 0
    assert graph.portfolio.is_flat(BTC)
    assert not graph.portfolio.is_flat(BTC, "s1")
    view: PositionsView = graph.portfolio  # what risk reads
    assert view.net_quantity(BTC, "s2") == 1
    assert graph.portfolio.position(BTC, "s3") is None
    graph.fill(OrderSide.BUY, "1", "90", strategy_id="s1")
    assert graph.portfolio.realized_pnl("s1", BTC) == 10
    assert graph.portfolio.realized_pnl("s2") == 0
    assert graph.portfolio.is_flat(BTC, "s1")
    assert graph.portfolio.balance("ETH") == 1
    assert graph.portfolio.balance("XRP") == 0


def test_portfolio_commission_in_base_counts_at_fill_price() -> None:
    graph = make_graph()
    graph.fill(OrderSide.BUY, "1", "100", commission="0.001", commission_currency="BTC")
    assert graph.portfolio.balance("BTC") == D("0.999")
    assert graph.portfolio.total_fees() == D("0.100")


def test_portfolio_commission_in_third_currency_is_counted_unattributed() -> None:
    graph = make_graph({"USDT": D("1000"), "BNB": D("1")})
    graph.fill(OrderSide.BUY, "1", "100", commission="0.01", commission_currency="BNB")
    assert graph.portfolio.balance("BNB") == D("0.99")
    assert graph.portfolio.total_fees() == 0
    assert graph.portfolio.statistics().unattributed_commissions == 1


def test_portfolio_currency_without_price_path_is_left_out_and_named() -> None:
    graph = make_graph({"USDT": D("1000"), "BTC": D("1")})
    graph.fill(OrderSide.BUY, "2", "0.05", instrument_id=ETH_BTC, commission_currency="BTC")
    statistics = graph.portfolio.statistics()
    assert statistics.unconverted_currencies == ("BTC", "ETH")
    assert statistics.unpriced_positions == 1
    assert graph.portfolio.equity() == 1000
    assert graph.portfolio.unrealized_pnl() == 0
    graph.cache.set_price(BTC, 100.0)
    assert graph.portfolio.statistics().unconverted_currencies == ("ETH",)
    assert graph.portfolio.equity() == 1000 + D("0.9") * 100


def test_portfolio_unknown_instrument_fill_is_ignored_and_counted() -> None:
    graph = make_graph()
    graph.fill(OrderSide.BUY, "1", "100", instrument_id="DOGE/USDT.SIM")
    graph.fill(OrderSide.BUY, "0", "100")
    statistics = graph.portfolio.statistics()
    assert (statistics.fills_ignored, statistics.fills_applied) == (2, 0)
    assert graph.positions == [] and graph.accounts == []
    assert graph.portfolio.balances() == {"USDT": D("10000")}


def test_portfolio_other_order_events_change_nothing() -> None:
    graph = make_graph()
    graph.bus.publish(order_topic("s1"), OrderAccepted(
        strategy_id="s1", client_order_id="O-1", instrument_id=BTC, venue_order_id="V-1",
        ts_event=0, ts_init=0))
    assert graph.positions == [] and graph.accounts == []


def test_portfolio_equity_curve_samples_at_timer_and_stop() -> None:
    graph = make_graph()
    graph.fill(OrderSide.BUY, "1", "100")
    graph.cache.set_price(BTC, 100.0)
    graph.clock.advance_to(HOUR + 1)
    graph.cache.set_price(BTC, 150.0)
    graph.clock.advance_to(3 * HOUR)
    graph.cache.set_price(BTC, 120.0)
    graph.clock.advance_to(3 * HOUR + 7)
    graph.portfolio.stop()
    assert graph.portfolio.equity_curve() == [
        (0, D("10000")), (HOUR, D("10000")), (2 * HOUR, D("10050")), (3 * HOUR, D("10050")),
        (3 * HOUR + 7, D("10020")),
    ]
    assert graph.portfolio.statistics().equity_samples == 5
    curve = graph.portfolio.equity_curve()
    assert graph.portfolio.equity_curve_since(HOUR) == curve[2:]  # after, not at
    assert graph.portfolio.equity_curve_since(HOUR + 1) == curve[2:]
    assert graph.portfolio.equity_curve_since(-1) == curve
    assert graph.portfolio.equity_curve_since(3 * HOUR + 7) == []


def test_portfolio_equity_curve_aligns_timer_to_interval() -> None:
    graph = make_graph(start_ns=HOUR + HOUR // 2)
    graph.clock.advance_to(3 * HOUR)
    graph.portfolio.stop()
    times = [ts for ts, _ in graph.portfolio.equity_curve()]
    assert times == [HOUR + HOUR // 2, 2 * HOUR, 3 * HOUR]  # the stop sample replaces 3h's


def test_portfolio_equity_curve_stays_bounded_by_interval() -> None:
    graph = make_graph(interval_ns=24 * HOUR)
    for minute in range(1, 3 * 24 * 60 + 1):
        graph.clock.advance_to(minute * 60_000_000_000)
        graph.cache.set_price(BTC, 100.0 + minute % 7)
    assert len(graph.portfolio.equity_curve()) == 4


def test_portfolio_config_rejects_unknown_fields_and_bad_interval() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"starting_balances": {}, "bogus": 1}, PortfolioConfig)
    with pytest.raises(ValueError, match="equity_interval_ns 0"):
        PortfolioConfig(starting_balances={}, equity_interval_ns=0)
    config = msgspec.convert({"starting_balances": {"USDT": "5.5"}}, PortfolioConfig)
    assert config.starting_balances == {"USDT": D("5.5")}


# -- retention (the daemon's bounded history; engine.actors.retention) ---------------------------


def round_trips(graph: Graph, count: int) -> None:
    """Buy 1 at 100 and sell it at 101, `count` times, a fee of 0.1 each fill."""
    for _ in range(count):
        graph.fill(OrderSide.BUY, "1", "100", commission="0.1")
        graph.fill(OrderSide.SELL, "1", "101", commission="0.1")


def test_retention_keeps_the_latest_fills_and_trades_and_exact_totals() -> None:
    kept_all, bounded = make_graph(), make_graph()
    bounded.portfolio.retain(RetentionConfig(fills=3, closed_trades=2))

    round_trips(kept_all, 10)
    round_trips(bounded, 10)

    book, full = bounded.portfolio, kept_all.portfolio
    assert book.fills() == full.fills()[-3:]
    assert book.closed_trades() == full.closed_trades()[-2:]
    assert (book.realized_pnl(), book.total_fees(), book.balances()) == (
        D("10"), D("2.0"), {"BTC": D("0"), "USDT": D("10008.0")})
    assert (book.realized_pnl(), book.total_fees(), book.balances()) == (
        full.realized_pnl(), full.total_fees(), full.balances())
    stats = book.statistics()
    assert (stats.fills_applied, stats.fills_evicted, stats.positions_closed) == (20, 17, 10)


@pytest.mark.parametrize("held", [None, 3], ids=["all-held", "fills-3"])
def test_fill_totals_asked_between_fills_equal_the_totals_summed_at_the_end(
    held: int | None,
) -> None:
    # Each call adds only the fills since the last one; with 3 fills held, the two calls
    # six fills apart start over (fills it never summed were let go in between).
    asked, once = make_graph(), make_graph()
    if held is not None:
        asked.portfolio.retain(RetentionConfig(fills=held))
        once.portfolio.retain(RetentionConfig(fills=held))
    seen = []
    for gap in (1, 1, 2, 6, 1):
        round_trips(asked, gap)
        round_trips(once, gap)
        seen.append(asked.portfolio.fill_totals())
        assert seen[-1] == once.portfolio.fill_totals() == make_totals(once)
    assert sum(t.fills for t in seen[-1]) == 22
    assert sum(t.fills for t in seen[0]) == 2  # an earlier answer is not changed later


def make_totals(graph: Graph) -> list[object]:
    """The totals summed from scratch: a fresh portfolio restored from this one's books."""
    fresh = make_graph()
    fresh.portfolio.restore_state(graph.portfolio.snapshot_state())
    return list(fresh.portfolio.fill_totals())


def test_fills_from_numbers_each_fill_by_its_place_in_the_session() -> None:
    graph = make_graph()
    graph.portfolio.retain(RetentionConfig(fills=3))

    round_trips(graph, 3)  # six fills: 0..5, the last three held

    numbered = graph.portfolio.fills_from(0)
    assert [number for number, _ in numbered] == [3, 4, 5]
    assert [fill.trade_id for _, fill in numbered] == ["T-4", "T-5", "T-6"]
    assert [number for number, _ in graph.portfolio.fills_from(5)] == [5]
    assert graph.portfolio.fills_from(6) == []


def test_retention_bounds_the_equity_curve_and_keeps_its_ends() -> None:
    graph = make_graph(interval_ns=HOUR)
    graph.portfolio.retain(RetentionConfig(equity_points=4))

    sizes = []
    for hour in range(1, 30):
        graph.clock.advance_to(hour * HOUR)
        sizes.append(len(graph.portfolio.equity_curve()))

    curve = graph.portfolio.equity_curve()
    assert max(sizes) <= 4 and min(sizes[4:]) >= 2
    assert curve[0][0] == 0 and curve[-1][0] == 29 * HOUR  # the start and the latest
    assert [ts for ts, _ in curve] == sorted({ts for ts, _ in curve})


def test_without_retention_every_fill_and_sample_is_kept() -> None:
    graph = make_graph(interval_ns=HOUR)

    round_trips(graph, 5)
    graph.clock.advance_to(20 * HOUR)

    assert len(graph.portfolio.fills()) == 10
    assert len(graph.portfolio.closed_trades()) == 5
    assert len(graph.portfolio.equity_curve()) == 21
    assert [n for n, _ in graph.portfolio.fills_from(8)] == [8, 9]
