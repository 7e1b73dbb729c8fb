"""SmaCross on hand-made price paths, through a full backtest (graph, SimVenue, risk).

With fast = 2 and slow = 4, fast − slow = (c[t] + c[t-1] − c[t-2] − c[t-3]) / 4, so the
paths below are written to make that sign negative, zero (an exact tie) or positive on
chosen bars. Integer prices keep every sum exact.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from adapters.sim.venue import SimVenue, SimVenueConfig
from engine.actors.risk import RiskConfig
from engine.backtest import BacktestResult, BacktestSettings, run_backtest
from engine.cache import MarketCache
from engine.domain.enums import OrderSide, OrderStatus, OrderType
from engine.instruments import InstrumentRegistry
from engine.replay import ReplaySource
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    make_bars,
    make_instrument,
    make_portfolio_config,
)
from engine.topics import bars_topic
from strategies.sma_cross import SmaCross, SmaCrossConfig

MINUTE = 60_000_000_000
T0 = 19_700 * 86_400_000_000_000
D = Decimal
ID = INSTRUMENT_ID


def backtest(
    closes: list[float],
    *,
    quantity: Decimal = Decimal(1),
    risk: RiskConfig | None = None,
    config: SmaCrossConfig | None = None,
) -> BacktestResult:
    cache = MarketCache()
    instruments = [make_instrument()]
    strategy = SmaCross("sma", config or SmaCrossConfig(
        instrument_id=ID, fast_period=2, slow_period=4, quantity=quantity))
    return run_backtest(
        settings=BacktestSettings(fail_fast=True),
        instruments=instruments,
        sources=[ReplaySource(make_bars(closes, start_ns=T0), bars_topic(ID, "1m"), ID)],
        bar_types=[BAR_TYPE],
        venues=[SimVenue(SimVenueConfig(), InstrumentRegistry(instruments), cache=cache)],
        strategies=[strategy],
        portfolio=make_portfolio_config(),
        risk=risk or RiskConfig(),
        cache=cache,
    )


def decisions(result: BacktestResult) -> list[tuple[int, OrderSide, Decimal, OrderStatus]]:
    """(bar index decided on, side, quantity, status) of every order, in order."""
    return [
        ((order.ts_created - T0) // MINUTE - 1, order.side, order.quantity, order.status)
        for order in result.orders
    ]


def test_sma_cross_buys_on_golden_cross_and_sells_whole_position_on_death_cross() -> None:
    # signs from bar 3: 0, -, -, + (bar 6), +, +, - (bar 9), -, -
    closes = [100, 100, 100, 100, 98, 96, 104, 108, 110, 100, 90, 88]

    result = backtest(closes, quantity=D("1.5"))

    assert decisions(result) == [
        (6, OrderSide.BUY, D("1.500"), OrderStatus.FILLED),
        (9, OrderSide.SELL, D("1.500"), OrderStatus.FILLED),
    ]
    assert all(order.order_type is OrderType.MARKET for order in result.orders)
    assert [f.last_price for f in result.fills] == [D("104.00"), D("100.00")]
    assert len(result.trades) == 1
    assert result.balances["BTC"] == 0


def test_sma_cross_first_sign_is_not_a_cross() -> None:
    result = backtest([100, 101, 102, 103, 104, 105, 106])

    assert result.orders == []


def test_sma_cross_golden_cross_while_long_does_not_buy_again() -> None:
    # The death-cross sell at 70 exceeds max_order_notional 50 and is denied, so the
    # strategy is still long at the next golden cross (bar 13).
    closes = [24, 22, 20, 18, 26, 40, 60, 80, 100, 90, 70, 60, 80, 110, 130]

    result = backtest(closes, risk=RiskConfig(max_order_notional=D(50)))

    assert decisions(result) == [
        (4, OrderSide.BUY, D(1), OrderStatus.FILLED),
        (10, OrderSide.SELL, D(1), OrderStatus.DENIED),
    ]
    assert result.orders[1].reason.startswith("max_order_notional:")
    assert result.balances["BTC"] == 1


def test_sma_cross_ties_keep_the_last_sign() -> None:
    # signs from bar 3: 0, -, 0, -, 0, + (bar 8: through a tie, one cross), 0, +, 0, - (bar 12)
    closes = [100, 100, 100, 100, 98, 102, 94, 106, 95, 105, 100, 100, 90]

    result = backtest(closes)

    assert decisions(result) == [
        (8, OrderSide.BUY, D(1), OrderStatus.FILLED),
        (12, OrderSide.SELL, D(1), OrderStatus.ACCEPTED),  # decided on the last bar
    ]


def test_sma_cross_touching_from_below_and_falling_back_is_no_cross() -> None:
    # signs from bar 3: 0, -, 0, -
    result = backtest([100, 100, 100, 100, 98, 102, 94])

    assert result.orders == []


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"fast_period": 4, "slow_period": 4}, "fast_period 4: must be > 0 and < slow_period 4"),
        ({"fast_period": 5, "slow_period": 4}, "fast_period 5: must be > 0 and < slow_period 4"),
        ({"fast_period": 0, "slow_period": 4}, "fast_period 0: must be > 0"),
        ({"quantity": D(0)}, "quantity 0: must be > 0"),
        ({"tolerance": -1e-9}, "tolerance -1e-09: must be >= 0"),
    ],
)
def test_sma_cross_config_with_invalid_params_raises(fields: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SmaCrossConfig(instrument_id=ID, **fields)


def test_sma_cross_config_invalid_params_fail_decoding_before_anything_runs() -> None:
    with pytest.raises(msgspec.ValidationError, match="fast_period 30"):
        msgspec.convert({"instrument_id": ID, "fast_period": 30}, SmaCrossConfig)


def test_sma_cross_config_requires_an_instrument_and_rejects_unknown_fields() -> None:
    with pytest.raises(msgspec.ValidationError, match="instrument_id"):
        msgspec.convert({"fast_period": 2}, SmaCrossConfig)
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"instrument_id": ID, "fast": 2}, SmaCrossConfig)
