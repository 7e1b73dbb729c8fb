"""run_backtest end to end: fills, trades, the equity curve and a report consistent with them."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from adapters.sim.venue import SimVenue, SimVenueConfig
from engine.actor import Actor
from engine.actors.risk import RiskConfig
from engine.backtest import BacktestResult, BacktestSettings, run_backtest
from engine.cache import MarketCache
from engine.domain.enums import LiquiditySide, OrderSide
from engine.domain.money import to_decimal
from engine.events.fills import OrderFilled, PositionClosed
from engine.events.market import Bar
from engine.graph import TradingGraph
from engine.instruments import InstrumentRegistry
from engine.replay import ReplaySource
from engine.strategy import Strategy
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    make_bars,
    make_instrument,
    make_portfolio_config,
)
from engine.topics import ALL_POSITION_EVENTS, ORDERS_PROCESS, bars_topic

MINUTE = 60_000_000_000
T0 = 19_700 * 86_400_000_000_000
INTERVAL = 5 * MINUTE
D = Decimal
ID = INSTRUMENT_ID
START = D(100_000)
CLOSES = [100.0, 101.25, 102.5, 101.75, 103.0, 104.5, 103.25, 102.0, 100.5, 99.75, 101.0,
          102.25, 103.5, 102.75, 104.0, 105.25, 104.75, 106.0]

Action = Callable[[Strategy], object]


class Scripted(Strategy):
    def __init__(self, strategy_id: str = "s1", script: dict[int, Action] | None = None) -> None:
        super().__init__(strategy_id)
        self.script = script or {}
        self.bar_count = 0

    def on_start(self) -> None:
        self.subscribe_bars(BAR_TYPE)

    def on_bar(self, bar: Bar) -> None:
        action = self.script.get(self.bar_count)
        self.bar_count += 1
        if action is not None:
            action(self)


def trading_script() -> dict[int, Action]:
    """Round trip, then a position reduced in part and left open at the end."""
    return {
        1: lambda s: s.market_order(ID, OrderSide.BUY, 1),
        4: lambda s: s.close_position(ID),
        7: lambda s: s.market_order(ID, OrderSide.BUY, 2),
        12: lambda s: s.market_order(ID, OrderSide.SELL, D("0.5")),
    }


def backtest(
    bars: list[Bar],
    strategies: list[Strategy] | None = None,
    balances: dict[str, Decimal] | None = None,
    *,
    others: list[Actor] | None = None,
    observe: Callable[[TradingGraph], None] | None = None,
) -> BacktestResult:
    cache = MarketCache()
    instruments = [make_instrument()]
    venue = SimVenue(SimVenueConfig(), InstrumentRegistry(instruments), cache=cache)
    return run_backtest(
        settings=BacktestSettings(name="unit"),
        instruments=instruments,
        sources=[ReplaySource(bars, bars_topic(ID, "1m"), ID)],
        bar_types=[BAR_TYPE],
        venues=[venue, *(others or [])],
        observe=observe,
        strategies=[Scripted(script=trading_script())] if strategies is None else strategies,
        portfolio=make_portfolio_config(
            equity_interval_ns=INTERVAL, starting_balances=balances or {"USDT": START}),
        risk=RiskConfig(),
        cache=cache,
    )


def account_at(fills: list[OrderFilled], bars: list[Bar], before_ns: int | None) -> Decimal:
    """Equity by hand: cash and base from the fills applied so far, marked at the last close.

    Before `before_ns` means what a timer at that time sees: items at that time come after.
    """
    applied = [f for f in fills if before_ns is None or f.ts_init < before_ns]
    seen = [b for b in bars if before_ns is None or b.ts_init < before_ns]
    cash = START
    base = D(0)
    for fill in applied:
        sign = fill.side.sign
        cash -= sign * fill.last_quantity * fill.last_price + fill.commission
        base += sign * fill.last_quantity
    mark = to_decimal(seen[-1].close) if seen else D(0)
    return cash + base * mark


def test_backtest_returns_every_fill_in_order_with_matching_orders() -> None:
    bars = make_bars(CLOSES, start_ns=T0)

    result = backtest(bars)

    assert [(f.client_order_id, f.side, f.last_quantity, f.last_price) for f in result.fills] == [
        ("s1-1", OrderSide.BUY, D(1), D("101.25")),
        ("s1-2", OrderSide.SELL, D(1), D("103.00")),
        ("s1-3", OrderSide.BUY, D(2), D("102.00")),
        ("s1-4", OrderSide.SELL, D("0.5"), D("103.50")),
    ]
    assert [o.client_order_id for o in result.orders] == ["s1-1", "s1-2", "s1-3", "s1-4"]
    assert result.faults == []


def test_backtest_trades_are_the_closed_round_trips() -> None:
    result = backtest(make_bars(CLOSES, start_ns=T0))

    [trade] = result.trades
    assert (trade.side, trade.quantity, trade.average_entry_price, trade.average_exit_price) == (
        "long", D(1), D("101.25"), D("103.00"))
    assert trade.realized_pnl == D("1.75")
    assert trade.fees == (D("101.25") + D("103.00")) * D("0.001")


class Outsider(Actor):
    """A venue's private stream filling orders the engine never placed: a buy at bar 2, a
    sell of the same size at bar 9 (two unknown venue orders, adopted as external)."""

    def __init__(self) -> None:
        super().__init__("outsider")
        self.bars = 0

    def on_start(self) -> None:
        self.subscribe(bars_topic(ID, "1m"), Bar)

    def on_bar(self, bar: Bar) -> None:
        self.bars += 1
        side = {2: OrderSide.BUY, 9: OrderSide.SELL}.get(self.bars)
        if side is not None:
            self.send(ORDERS_PROCESS, OrderFilled(
                strategy_id="", client_order_id="", instrument_id=ID,
                venue_order_id=f"x-{self.bars}", trade_id=f"xt-{self.bars}", side=side,
                last_quantity=D(3), last_price=to_decimal(bar.close), commission=D(0),
                commission_currency="USDT", liquidity_side=LiquiditySide.TAKER,
                ts_event=bar.ts_init, ts_init=bar.ts_init))


def closes_seen(into: list[str]) -> Callable[[TradingGraph], None]:
    """An observe hook recording the strategy of every PositionClosed: the truth."""
    def observe(graph: TradingGraph) -> None:
        graph.bus.subscribe(ALL_POSITION_EVENTS, lambda m: into.append(m.strategy_id)
                            if type(m) is PositionClosed else None)
    return observe


def test_backtest_names_the_strategy_of_each_trade_with_one_strategy() -> None:
    seen: list[str] = []
    script = {**trading_script(), 14: lambda s: s.close_position(ID)}

    result = backtest(make_bars(CLOSES, start_ns=T0), [Scripted(script=script)],
                      observe=closes_seen(seen))

    assert result.trade_strategy_ids == seen == ["s1", "s1"]
    assert len(result.trades) == 2


def test_backtest_names_the_strategy_of_each_trade_with_several_strategies() -> None:
    seen: list[str] = []
    strategies = [Scripted("a", {1: lambda s: s.market_order(ID, OrderSide.BUY, 1),
                                 9: lambda s: s.close_position(ID)}),
                  Scripted("b", {2: lambda s: s.market_order(ID, OrderSide.SELL, 1),
                                 5: lambda s: s.close_position(ID)})]

    result = backtest(make_bars(CLOSES, start_ns=T0), strategies, observe=closes_seen(seen))

    assert result.trade_strategy_ids == seen == ["b", "a"]


def test_backtest_names_external_trades_with_one_strategy() -> None:
    # One strategy, and a venue filling orders nobody placed: the trades before the first
    # adoption are the strategy's, the external round trip and those after are told apart.
    seen: list[str] = []
    script = {0: lambda s: s.market_order(ID, OrderSide.BUY, 1),
              1: lambda s: s.close_position(ID),
              12: lambda s: s.market_order(ID, OrderSide.BUY, 1),
              14: lambda s: s.close_position(ID)}

    result = backtest(make_bars(CLOSES, start_ns=T0), [Scripted(script=script)],
                      others=[Outsider()], observe=closes_seen(seen))

    assert result.trade_strategy_ids == seen == ["s1", "external", "s1"]
    assert result.faults == []


def test_backtest_equity_curve_is_sampled_from_the_first_bar_at_each_interval_and_at_end() -> None:
    bars = make_bars(CLOSES, start_ns=T0)

    result = backtest(bars)

    first, last = bars[0].ts_init, bars[-1].ts_init
    times = [ts for ts, _ in result.equity_curve]
    assert times == [first, T0 + INTERVAL, T0 + 2 * INTERVAL, T0 + 3 * INTERVAL, last]
    assert result.equity_curve[0][1] == START
    for ts, equity in result.equity_curve[1:-1]:
        assert equity == account_at(result.fills, bars, ts), ts
    assert result.equity_curve[-1][1] == account_at(result.fills, bars, None)


def test_backtest_final_equity_is_cash_plus_position_at_the_last_close_exactly() -> None:
    bars = make_bars(CLOSES, start_ns=T0)

    result = backtest(bars)

    notionals = [D("101.25"), D("103.00"), D("204.00"), D("51.75")]  # 1, 1, 2 and 0.5 BTC
    commissions = sum((notional * D("0.001") for notional in notionals), D(0))
    cash = START - notionals[0] + notionals[1] - notionals[2] + notionals[3] - commissions
    position = D("1.5")
    final = cash + position * D("106.00")
    assert result.balances == {"BTC": position, "USDT": cash}
    assert result.equity_curve[-1] == (bars[-1].ts_init, final)
    assert result.report.final_equity == float(final)


def test_backtest_report_agrees_with_the_result() -> None:
    bars = make_bars(CLOSES, start_ns=T0)

    result = backtest(bars)

    report = result.report
    assert report.fills == len(result.fills) == 4
    assert report.trade_count == len(result.trades) == 1
    assert report.total_fees == float(sum((f.commission for f in result.fills), D(0)))
    assert report.starting_equity == float(START)
    assert (report.start_ns, report.end_ns) == (bars[0].ts_init, bars[-1].ts_init)
    assert (result.start_ns, result.end_ns) == (bars[0].ts_init, bars[-1].ts_init)
    assert report.period_count == len(result.equity_curve) - 1
    assert result.items_processed == len(bars)
    assert result.name == "unit"


def test_backtest_statistics_cover_every_actor_and_the_venue() -> None:
    result = backtest(make_bars(CLOSES, start_ns=T0))

    statistics: dict[str, Any] = result.statistics
    assert sorted(statistics) == ["actor_faults", "bus", "market_data", "orders", "portfolio",
                                  "risk", "venue.venue_sim"]
    assert statistics["orders"]["fills"] == 4
    assert statistics["venue.venue_sim"]["fills"] == 4
    assert statistics["portfolio"]["fills_applied"] == 4
    assert statistics["actor_faults"] == 0


def test_backtest_records_a_faulted_strategy_and_runs_the_others() -> None:
    def boom(strategy: Strategy) -> None:
        raise RuntimeError("boom")

    bars = make_bars(CLOSES, start_ns=T0)

    result = backtest(bars, [Scripted("bad", {2: boom}), Scripted(script=trading_script())])

    assert [(f.actor_id, f.error) for f in result.faults] == [("bad", "boom")]
    assert result.statistics["actor_faults"] == 1
    assert len(result.fills) == 4


def test_backtest_is_deterministic_to_the_byte() -> None:
    bars = make_bars(CLOSES, start_ns=T0)

    first, second = backtest(bars), backtest(bars)

    assert msgspec.json.encode(first) == msgspec.json.encode(second)


def test_backtest_without_data_starts_and_reports_the_starting_account() -> None:
    result = backtest([])

    assert result.items_processed == 0
    assert result.equity_curve == [(0, START)]
    assert (result.fills, result.trades, result.report.trade_count) == ([], [], 0)
    assert result.report.final_equity == float(START)


def test_backtest_start_sample_prices_balances_at_the_first_bar() -> None:
    bars = make_bars([100.0] * 12, start_ns=T0)

    result = backtest(bars, [], balances={"USDT": D(1000), "BTC": D(1)})

    assert [equity for _, equity in result.equity_curve] == [D(1100)] * 4
    assert result.report.total_return == 0.0
