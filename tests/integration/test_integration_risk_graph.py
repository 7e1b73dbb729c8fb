"""Risk limits through the real graph: the real order manager, portfolio and simulated
venue, a scripted strategy, replayed bars. No view of the books is faked: what risk
reads is what fills made."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.sim import SimVenue, SimVenueConfig
from engine.actors.risk import RiskConfig
from engine.cache import MarketCache
from engine.clock import SimClock
from engine.domain.enums import OrderSide
from engine.events.fills import OrderFilled
from engine.events.orders import OrderDenied
from engine.replay import ReplayDriver, ReplaySource
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    ScriptAction,
    ScriptedStrategy,
    make_bars,
    make_graph,
    make_portfolio_config,
)
from engine.topics import bars_topic

pytestmark = pytest.mark.integration
D = Decimal
START = 1_700_000_000_000_000_000


def run(script: dict[int, ScriptAction], risk: RiskConfig, *, bars: int = 6,
        usdt: str = "100000") -> ScriptedStrategy:
    cache = MarketCache()
    clock = SimClock()
    graph = make_graph(clock=clock, cache=cache, risk=risk, fail_fast=True,
                       portfolio=make_portfolio_config(starting_balances={"USDT": D(usdt)}))
    graph.add_bar_source(BAR_TYPE)
    graph.add_venue(SimVenue(SimVenueConfig(), graph.instruments, cache=cache))
    strategy = ScriptedStrategy("s1", script)
    graph.add_strategy(strategy)
    data = make_bars([100.0] * bars, start_ns=START)
    ReplayDriver(graph, clock, [ReplaySource(data, bars_topic(INSTRUMENT_ID, "1m"),
                                             INSTRUMENT_ID)]).run(start=graph.start)
    graph.stop()
    return strategy


def buy(quantity: str) -> ScriptAction:
    return lambda s, _: s.market_order(INSTRUMENT_ID, OrderSide.BUY, D(quantity))


def reasons(strategy: ScriptedStrategy) -> list[str]:
    return [denied.reason.split(":")[0] for denied in strategy.events(OrderDenied)]


def test_position_limit_counts_what_real_fills_built() -> None:
    # Two fills of 1 make a position of 2; the third buy would make 3 > 2.5.
    strategy = run({0: buy("1"), 1: buy("1"), 2: buy("1")},
                   RiskConfig(max_position_quantity=D("2.5")))
    assert len(strategy.events(OrderFilled)) == 2
    assert reasons(strategy) == ["max_position_quantity"]


def test_open_order_limit_counts_the_order_managers_open_orders() -> None:
    def two_resting(s: ScriptedStrategy, _: object) -> None:
        s.limit_order(INSTRUMENT_ID, OrderSide.BUY, D("1"), D("90"))
        s.limit_order(INSTRUMENT_ID, OrderSide.BUY, D("1"), D("91"))

    strategy = run({0: two_resting, 1: buy("1")}, RiskConfig(max_open_orders=2))
    assert reasons(strategy) == ["max_open_orders"]


def test_notional_limit_values_a_market_order_at_the_last_price() -> None:
    strategy = run({1: buy("0.5"), 2: buy("2")}, RiskConfig(max_order_notional=D("150")))
    assert reasons(strategy) == ["max_order_notional"]
    assert len(strategy.events(OrderFilled)) == 1


def test_free_balance_counts_fills_and_what_open_orders_hold() -> None:
    def rest(s: ScriptedStrategy, _: object) -> None:
        s.limit_order(INSTRUMENT_ID, OrderSide.BUY, D("5"), D("90"))  # holds 450 USDT

    # 1,000 USDT: 5 x 100 spent by the fill, 450 held by the resting order; a buy of 1 at
    # 100 (plus fee) no longer fits in the 50 left.
    strategy = run({0: buy("5"), 1: rest, 2: buy("1")}, RiskConfig(check_free_balance=True),
                   usdt="1000")
    assert reasons(strategy) == ["free_balance"]
    [denied] = strategy.events(OrderDenied)
    assert "USDT" in denied.reason


def test_free_balance_refuses_a_sell_of_what_the_account_does_not_hold() -> None:
    strategy = run({0: lambda s, _: s.market_order(INSTRUMENT_ID, OrderSide.SELL, D("1"))},
                   RiskConfig(check_free_balance=True))
    assert reasons(strategy) == ["free_balance"]


def test_free_balance_check_off_by_default_lets_a_backtest_short_spot() -> None:
    strategy = run({0: lambda s, _: s.market_order(INSTRUMENT_ID, OrderSide.SELL, D("1"))},
                   RiskConfig())
    assert reasons(strategy) == [] and len(strategy.events(OrderFilled)) == 1
