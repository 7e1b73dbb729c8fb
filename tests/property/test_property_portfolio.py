"""Exact accounting for any sequence of fills: balances, positions and pnl add up to the cent.

Quantities are on a 0.001 grid, prices on a 0.01 grid and fees at a 0.001 rate, so every
flow is a finite Decimal and every identity below must hold exactly, not approximately.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings, strategies as st

from engine.actors.portfolio import Portfolio, PortfolioConfig
from engine.bus import MessageBus
from engine.cache import MarketCache
from engine.clock import SimClock
from engine.domain.enums import LiquiditySide, OrderSide
from engine.domain.money import to_decimal
from engine.events.fills import OrderFilled
from engine.events.market import Instrument
from engine.instruments import InstrumentRegistry
from engine.topics import order_topic

BTC = "BTC/USDT.SIM"
FEE_RATE = Decimal("0.001")
START_USDT = Decimal("10000000")
START_BTC = Decimal("5")
INSTRUMENT = Instrument(
    instrument_id=BTC, symbol="BTC/USDT", venue="SIM", base_currency="BTC",
    quote_currency="USDT", price_increment=Decimal("0.01"), size_increment=Decimal("0.001"),
    ts_event=0, ts_init=0,
)

fills_strategy = st.lists(
    st.tuples(
        st.sampled_from(["s1", "s2"]),
        st.sampled_from([OrderSide.BUY, OrderSide.SELL]),
        st.integers(min_value=1, max_value=50_000),  # thousandths: 0.001 .. 50
        st.integers(min_value=1, max_value=10_000_000),  # cents: 0.01 .. 100,000
    ),
    max_size=40,
)


def run(fills: list[tuple[str, OrderSide, int, int]], mark_cents: int) -> tuple[
    Portfolio, MarketCache
]:
    bus = MessageBus()
    clock = SimClock()
    cache = MarketCache()
    config = PortfolioConfig(starting_balances={"USDT": START_USDT, "BTC": START_BTC})
    portfolio = Portfolio(config, InstrumentRegistry([INSTRUMENT]), cache)
    portfolio.register(bus, clock)
    portfolio.start()
    for index, (strategy_id, side, thousandths, cents) in enumerate(fills):
        quantity = Decimal(thousandths).scaleb(-3)
        price = Decimal(cents).scaleb(-2)
        clock.advance_to(index + 1)
        bus.publish(order_topic(strategy_id), OrderFilled(
            strategy_id=strategy_id, client_order_id=f"O-{index}", instrument_id=BTC,
            venue_order_id=f"V-{index}", trade_id=f"T-{index}", side=side,
            last_quantity=quantity, last_price=price, commission=quantity * price * FEE_RATE,
            commission_currency="USDT", liquidity_side=LiquiditySide.TAKER,
            ts_event=index + 1, ts_init=index + 1,
        ))
    cache.set_price(BTC, mark_cents / 100)
    return portfolio, cache


@settings(deadline=None)
@given(fills=fills_strategy, mark_cents=st.integers(min_value=1, max_value=10_000_000))
def test_portfolio_any_fills_balances_are_start_plus_flows_minus_fees(
    fills: list[tuple[str, OrderSide, int, int]], mark_cents: int
) -> None:
    portfolio, _ = run(fills, mark_cents)
    usdt, btc = START_USDT, START_BTC
    for _, side, thousandths, cents in fills:
        quantity, price = Decimal(thousandths).scaleb(-3), Decimal(cents).scaleb(-2)
        usdt += -side.sign * quantity * price - quantity * price * FEE_RATE
        btc += side.sign * quantity
    assert portfolio.balances() == {"BTC": btc, "USDT": usdt}


@settings(deadline=None)
@given(fills=fills_strategy, mark_cents=st.integers(min_value=1, max_value=10_000_000))
def test_portfolio_any_fills_pnl_minus_fees_is_equity_change(
    fills: list[tuple[str, OrderSide, int, int]], mark_cents: int
) -> None:
    portfolio, cache = run(fills, mark_cents)
    mark = to_decimal(cache.last_price(BTC) or 0.0)
    start_equity = START_USDT + START_BTC * mark
    pnl = portfolio.realized_pnl() + portfolio.unrealized_pnl() - portfolio.total_fees()
    assert pnl == portfolio.equity() - start_equity
    per_strategy = sum(
        (portfolio.realized_pnl(s) + portfolio.unrealized_pnl(s) - portfolio.total_fees(s)
         for s in ("s1", "s2")),
        Decimal(0),
    )
    assert per_strategy == pnl


@settings(deadline=None)
@given(fills=fills_strategy)
def test_portfolio_any_fills_position_is_signed_sum_of_fills(
    fills: list[tuple[str, OrderSide, int, int]],
) -> None:
    portfolio, _ = run(fills, 100)
    for strategy_id in ("s1", "s2"):
        expected = sum(
            (side.sign * Decimal(thousandths).scaleb(-3)
             for s, side, thousandths, _ in fills if s == strategy_id),
            Decimal(0),
        )
        assert portfolio.net_quantity(BTC, strategy_id) == expected
        position = portfolio.position(BTC, strategy_id)
        assert (position.quantity if position else Decimal(0)) == expected
    trades = portfolio.closed_trades()
    assert portfolio.statistics().positions_closed == len(trades)
    assert all(trade.quantity > 0 for trade in trades)
