"""Perpetuals through a real backtest graph: the portfolio's perpetual accounting, the
simulated venue's margin account (initial margin, liquidation) and funding payments, on
hand-built bars and funding rates with every amount written out.

Rules used (adapters/sim/margin.py, engine/actors/portfolio.py): a perpetual fill moves
only the pnl it realizes and its commission (0.1% taker here); equity = balance +
unrealized pnl at the last price; initial margin = notional / leverage; an order decided
at bar t's close fills at bar t+1's open; the account is valued at each bar's low for a
long and liquidated, at that low, below maintenance margin.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings, strategies as st

from adapters.sim import SimVenue, SimVenueConfig
from adapters.sim.margin import MarginConfig
from engine.actors.portfolio import PortfolioConfig
from engine.actors.risk import RiskConfig
from engine.cache import MarketCache
from engine.clock import SimClock
from engine.domain.enums import InstrumentClass, OrderSide, OrderStatus
from engine.events.fills import FundingPayment, OrderFilled, PositionClosed
from engine.events.market import Bar, FundingRate
from engine.events.orders import ExternalOrderAdopted, OrderCanceled, OrderRejected
from engine.graph import TradingGraph
from engine.replay import ReplayDriver, ReplaySource
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    ScriptAction,
    ScriptedStrategy,
    make_graph,
    make_instrument,
)
from engine.topics import bars_topic, funding_topic
from tests.unit.engine.actors.test_actors_contingency import MINUTE, START, bars

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
FLAT = (100.0, 101.0, 99.0, 100.0)
PERPETUAL = make_instrument(instrument_class=InstrumentClass.PERPETUAL, min_notional=D(0))


LENDING = MarginConfig(leverage=10, maintenance_margin_rate=0.05)


def run(script: dict[int, ScriptAction], data: list[Bar], *,
        funding: tuple[FundingRate, ...] | list[FundingRate] = (),
        margin: MarginConfig | None = LENDING, balance: str = "1000",
        risk: RiskConfig | None = None) -> tuple[ScriptedStrategy, TradingGraph]:
    cache = MarketCache()
    clock = SimClock()
    balances = {"USDT": D(balance)}
    graph = make_graph(clock=clock, cache=cache, instruments=[PERPETUAL], fail_fast=True,
                       portfolio=PortfolioConfig(starting_balances=balances), risk=risk)
    graph.add_bar_source(BAR_TYPE)
    graph.add_venue(SimVenue(SimVenueConfig(margin=margin), graph.instruments, cache=cache,
                             starting_balances=balances))
    strategy = ScriptedStrategy("s1", script)
    graph.add_strategy(strategy)
    sources = [ReplaySource(data, bars_topic(INSTRUMENT_ID, "1m"), INSTRUMENT_ID)]
    if funding:
        sources.append(ReplaySource(list(funding), funding_topic(INSTRUMENT_ID),
                                    INSTRUMENT_ID))
    ReplayDriver(graph, clock, sources).run(start=graph.start)
    return strategy, graph


def at(index: int) -> int:
    return START + index * MINUTE


def fills(strategy: ScriptedStrategy) -> list[tuple[str, OrderSide, Decimal, Decimal]]:
    return [(f.client_order_id, f.side, f.last_quantity, f.last_price)
            for f in strategy.events(OrderFilled)]


def test_a_perpetual_round_trip_moves_only_its_pnl_and_fees() -> None:
    script: dict[int, ScriptAction] = {
        0: lambda s, _: s.market_order(INSTRUMENT_ID, BUY, 2),
        2: lambda s, _: s.market_order(INSTRUMENT_ID, SELL, 2),
    }

    strategy, graph = run(script, bars(FLAT, (100, 106, 99, 105), FLAT, (110, 111, 109, 110)))

    assert [(side, qty, price) for _, side, qty, price in fills(strategy)] == [
        (BUY, D(2), D(100)), (SELL, D(2), D(110))]
    # +2 x (110 - 100) realized, 0.2 + 0.22 commission; no BTC bought, no notional paid.
    assert graph.portfolio.balances() == {"USDT": D("1019.58")}
    assert graph.portfolio.equity() == D("1019.58")
    [closed] = strategy.events(PositionClosed)
    assert closed.realized_pnl == D(20)


def test_equity_counts_an_open_perpetual_at_its_unrealized_pnl() -> None:
    strategy, graph = run({0: lambda s, _: s.market_order(INSTRUMENT_ID, SELL, 1)},
                          bars(FLAT, (100, 101, 95, 96)))

    assert graph.portfolio.balances() == {"USDT": D("999.9")}  # the commission only
    assert graph.portfolio.equity() == D("999.9") + D(4)  # short 1 from 100, last 96
    assert graph.portfolio.net_quantity(INSTRUMENT_ID) == D(-1)


def test_an_order_beyond_the_free_margin_is_rejected_with_the_figures() -> None:
    # 1000 USDT at 10x: 10,000 of notional. 95 at 100 takes 950 of margin; 10 more is 1,000.
    script: dict[int, ScriptAction] = {
        0: lambda s, _: s.market_order(INSTRUMENT_ID, BUY, 95),
        1: lambda s, _: s.limit_order(INSTRUMENT_ID, BUY, 10, 99),
    }

    strategy, _ = run(script, bars(FLAT, FLAT, FLAT),
                      margin=MarginConfig(leverage=10, maintenance_margin_rate=0.01))

    [rejected] = strategy.events(OrderRejected)
    assert rejected.reason.startswith(
        "insufficient margin: the order needs 99 USDT of initial margin at 10x leverage, "
        "40.5 is free (equity 990.5, positions 950, open orders 0)")


def test_risks_free_balance_check_leaves_a_perpetual_short_to_the_margin_check() -> None:
    """The cash rule (a sell needs the base currency) would refuse every short; a
    perpetual holds no base currency, its venue checks the margin instead."""
    strategy, graph = run({0: lambda s, _: s.market_order(INSTRUMENT_ID, SELL, 1)},
                          bars(FLAT, FLAT), risk=RiskConfig(check_free_balance=True))

    assert [f.side for f in strategy.events(OrderFilled)] == [SELL]
    assert graph.portfolio.net_quantity(INSTRUMENT_ID) == -1


def test_an_order_that_reduces_the_position_needs_no_margin() -> None:
    script: dict[int, ScriptAction] = {
        0: lambda s, _: s.market_order(INSTRUMENT_ID, BUY, 99),
        1: lambda s, _: s.market_order(INSTRUMENT_ID, SELL, 99),
    }

    strategy, graph = run(script, bars(FLAT, FLAT, FLAT),
                          margin=MarginConfig(leverage=10, maintenance_margin_rate=0.001))

    assert not strategy.events(OrderRejected)
    assert graph.portfolio.net_quantity(INSTRUMENT_ID) == 0


def test_margin_run_out_liquidates_at_the_bar_low_under_the_strategys_own_position() -> None:
    # Long 50 from 100 on 1000 USDT at 10x, maintenance 5%. At bar 2's low of 85 the
    # equity is 1000 - 5 (fee) - 750 = 245, above 5% of 50 x 85 = 212.5: kept. At bar
    # 3's low of 82 it is 1000 - 5 - 900 = 95, below 205: liquidated at 82.
    script: dict[int, ScriptAction] = {
        0: lambda s, _: s.market_order(INSTRUMENT_ID, BUY, 50),
        1: lambda s, _: s.limit_order(INSTRUMENT_ID, SELL, 10, 150),
    }

    strategy, graph = run(script, bars(FLAT, FLAT, (100, 100, 85, 90), (90, 91, 82, 84),
                                       FLAT))

    adopted = strategy.events(ExternalOrderAdopted)
    assert [(a.strategy_id, a.side, a.quantity, a.liquidation) for a in adopted] == [
        ("s1", SELL, D(50), True)]
    assert fills(strategy)[-1] == (adopted[0].client_order_id, SELL, D(50), D(82))
    [canceled] = [c for c in strategy.events(OrderCanceled)]
    assert canceled.reason == "liquidation: margin ran out"
    assert graph.portfolio.net_quantity(INSTRUMENT_ID) == 0
    # 1000 - 5 (entry fee) - 900 (50 x 18 lost) - 4.1 (the liquidation's taker fee)
    assert graph.portfolio.balances() == {"USDT": D("90.9")}
    record = graph.orders.order(adopted[0].client_order_id)
    assert record is not None and record.status is OrderStatus.FILLED
    assert record.reason.startswith("liquidation")
    assert graph.actor("venue_sim").statistics().liquidations == 1  # type: ignore[union-attr]


def test_funding_is_paid_by_longs_and_received_by_shorts_at_the_mark() -> None:
    funding = [FundingRate(instrument_id=INSTRUMENT_ID, rate=0.001, mark_price=101.0,
                           ts_event=at(3) + 1, ts_init=at(3) + 1),
               FundingRate(instrument_id=INSTRUMENT_ID, rate=-0.002,
                           ts_event=at(5) + 1, ts_init=at(5) + 1)]

    strategy, graph = run({0: lambda s, _: s.market_order(INSTRUMENT_ID, BUY, 3)},
                          bars(FLAT, FLAT, FLAT, FLAT, (100, 103, 99, 102)), funding=funding)

    payments = strategy.events(FundingPayment)
    # Long 3: pays 3 x 101 x 0.001, then receives 3 x 102 (the last close) x 0.002.
    assert [(p.amount, p.mark_price, p.quantity) for p in payments] == [
        (D("-0.303"), D(101), D(3)), (D("0.612"), D(102), D(3))]
    assert graph.portfolio.funding(strategy_id="s1") == D("0.309")
    assert graph.portfolio.balances() == {"USDT": D("1000") - D("0.3") + D("0.309")}
    assert graph.portfolio.statistics().funding_payments == 2


def test_funding_without_a_position_pays_nothing() -> None:
    funding = [FundingRate(instrument_id=INSTRUMENT_ID, rate=0.01, ts_event=at(1) + 1,
                           ts_init=at(1) + 1)]

    strategy, graph = run({}, bars(FLAT, FLAT), funding=funding)

    assert strategy.events(FundingPayment) == []
    assert graph.portfolio.balances() == {"USDT": D(1000)}


def test_the_venues_margin_state_survives_its_snapshot() -> None:
    _, graph = run({0: lambda s, _: s.market_order(INSTRUMENT_ID, BUY, 2)}, bars(FLAT, FLAT))
    venue = graph.actor("venue_sim")
    assert isinstance(venue, SimVenue)

    state = venue.snapshot_state()
    decoded = msgspec.msgpack.decode(msgspec.msgpack.encode(state), type=type(state))
    _, fresh_graph = run({}, bars(FLAT))
    fresh = fresh_graph.actor("venue_sim")
    assert isinstance(fresh, SimVenue)
    fresh.restore_state(decoded)
    assert fresh.snapshot_state() == state


def test_margin_config_refuses_a_maintenance_rate_at_or_above_the_initial_margin() -> None:
    with pytest.raises(ValueError, match="maintenance_margin_rate 0.1: must be >= 0 and "
                                         "below the initial margin 1 / leverage = 0.1"):
        MarginConfig(leverage=10, maintenance_margin_rate=0.1)
    with pytest.raises(ValueError, match="margin: a venue's account is a cash account or"):
        SimVenueConfig(margin=MarginConfig(), cash_account=True)


def test_a_perpetual_with_a_contract_size_is_refused() -> None:
    with pytest.raises(ValueError, match="multiplier 10: a perpetual's must be 1"):
        make_instrument(instrument_class=InstrumentClass.PERPETUAL, multiplier=D(10))


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from([BUY, SELL]), st.integers(1, 4),
                                st.integers(90, 110)), min_size=1, max_size=6),
       rates=st.lists(st.integers(-20, 20), min_size=0, max_size=3))
def test_balance_is_the_starting_balance_plus_realized_pnl_less_fees_plus_funding(
        steps: list[tuple[OrderSide, int, int]], rates: list[int]) -> None:
    """Money is conserved: whatever the trades and funding, the balance is the start plus
    the positions' realized pnl, less commissions, plus funding, and the venue's margin
    account agrees with the portfolio to the cent."""
    def trade(side: OrderSide, quantity: int) -> ScriptAction:
        return lambda s, _: s.market_order(INSTRUMENT_ID, side, quantity)

    script = {index: trade(side, qty) for index, (side, qty, _) in enumerate(steps)}
    data = bars(*[(float(p), float(p) + 1, float(p) - 1, float(p)) for _, _, p in steps],
                FLAT)
    funding = [FundingRate(instrument_id=INSTRUMENT_ID, rate=rate / 10_000,
                           ts_event=at(i + 1) + 1, ts_init=at(i + 1) + 1)
               for i, rate in enumerate(rates)]

    strategy, graph = run(script, data, funding=funding, balance="100000",
                          margin=MarginConfig(leverage=10, maintenance_margin_rate=0.001))

    portfolio = graph.portfolio
    venue = graph.actor("venue_sim")
    assert isinstance(venue, SimVenue)
    margin = venue.snapshot_state().margin
    assert margin is not None and margin.balances == portfolio.balances()
    fees = sum((f.commission for f in strategy.events(OrderFilled)), D(0))
    realized = portfolio.realized_pnl()
    expected = D(100000) + realized - fees + portfolio.funding()
    assert portfolio.balances()["USDT"] == expected
    # Equity adds the open position's unrealized pnl at the last price (the last close).
    assert portfolio.equity() == expected + portfolio.unrealized_pnl()


@settings(max_examples=30, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from(["s1", "s2"]), st.sampled_from([BUY, SELL]),
                                st.integers(1, 4), st.integers(90, 110)),
                      min_size=1, max_size=8))
def test_two_strategies_trading_against_each_other_keep_the_venue_and_books_equal(
        steps: list[tuple[str, OrderSide, int, int]]) -> None:
    """Each strategy is a sub-account of the margin account: one's sell never realizes
    pnl against the other's entry, so the venue's balance is the portfolio's exactly."""
    cache = MarketCache()
    clock = SimClock()
    balances = {"USDT": D(100000)}
    graph = make_graph(clock=clock, cache=cache, instruments=[PERPETUAL], fail_fast=True,
                       portfolio=PortfolioConfig(starting_balances=balances))
    graph.add_bar_source(BAR_TYPE)
    venue = SimVenue(SimVenueConfig(margin=MarginConfig(leverage=10,
                                                        maintenance_margin_rate=0.001)),
                     graph.instruments, cache=cache, starting_balances=balances)
    graph.add_venue(venue)

    def trade(side: OrderSide, quantity: int) -> ScriptAction:
        return lambda s, _: s.market_order(INSTRUMENT_ID, side, quantity)

    for strategy_id in ("s1", "s2"):
        graph.add_strategy(ScriptedStrategy(strategy_id, {
            index: trade(side, qty) for index, (owner, side, qty, _) in enumerate(steps)
            if owner == strategy_id}))
    data = bars(*[(float(p), float(p) + 1, float(p) - 1, float(p)) for *_, p in steps], FLAT)
    ReplayDriver(graph, clock, [ReplaySource(data, bars_topic(INSTRUMENT_ID, "1m"),
                                             INSTRUMENT_ID)]).run(start=graph.start)

    margin = venue.snapshot_state().margin
    assert margin is not None and margin.balances == graph.portfolio.balances()
    reported = sum((r.quantity for r in venue.position_reports()), D(0))
    assert reported == graph.portfolio.net_quantity(INSTRUMENT_ID)
