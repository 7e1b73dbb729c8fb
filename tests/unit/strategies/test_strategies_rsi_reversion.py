"""RsiMeanReversion on hand-made price paths, through a full backtest (graph, SimVenue, risk).

With period 2, the RSI is known from the third close; two falling closes make it 0
(oversold), and Wilder's smoothing then moves it by half of each new change. Bars open at
the previous close (`make_bars`), so a market order decided on bar i fills at bar i's
close, and a stop fills at its trigger on the bar whose low reaches it.
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
from engine.domain.money import round_to_increment
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
from strategies.rsi_reversion import RsiMeanReversion, RsiMeanReversionConfig

MINUTE = 60_000_000_000
T0 = 19_700 * 86_400_000_000_000
D = Decimal
ID = INSTRUMENT_ID
FRACTION = D("0.033")


def backtest(closes: list[float], venue: SimVenueConfig | None = None) -> BacktestResult:
    cache = MarketCache()
    instruments = [make_instrument()]
    config = RsiMeanReversionConfig(instrument_id=ID, period=2, stop_loss_fraction=FRACTION)
    return run_backtest(
        settings=BacktestSettings(fail_fast=True),
        instruments=instruments,
        sources=[ReplaySource(make_bars(closes, start_ns=T0), bars_topic(ID, "1m"), ID)],
        bar_types=[BAR_TYPE],
        venues=[SimVenue(venue or SimVenueConfig(), InstrumentRegistry(instruments), cache=cache)],
        strategies=[RsiMeanReversion("rsi", config)],
        portfolio=make_portfolio_config(),
        risk=RiskConfig(),
        cache=cache,
    )


def bar_index(ts_ns: int) -> int:
    return (ts_ns - T0) // MINUTE - 1


def orders(result: BacktestResult) -> list[tuple[Any, ...]]:
    """(id, bar decided on, type, side, quantity, trigger, reduce_only, status) per order."""
    return [
        (o.client_order_id, bar_index(o.ts_created), o.order_type, o.side, o.quantity,
         o.trigger_price, o.reduce_only, o.status)
        for o in result.orders
    ]


def test_rsi_enters_below_oversold_and_rests_a_stop_below_the_fill_on_the_increment() -> None:
    result = backtest([100, 99, 98, 97.5])

    entry_fill = result.fills[0]
    stop = round_to_increment(entry_fill.last_price * (1 - FRACTION), D("0.01"))
    assert (entry_fill.last_price, stop) == (D("98.00"), D("94.77"))  # 94.766 on the increment
    assert orders(result) == [
        ("rsi-1", 2, OrderType.MARKET, OrderSide.BUY, D(1), None, False, OrderStatus.FILLED),
        ("rsi-2", 3, OrderType.STOP_MARKET, OrderSide.SELL, D(1), stop, True,
         OrderStatus.ACCEPTED),
    ]


def test_rsi_entry_filled_in_parts_gets_its_stop_below_the_average_entry_price() -> None:
    # Each fill takes at most half a bar's volume (1.0): 0.5 at 98, then 0.5 at 97.
    result = backtest([100, 99, 98, 97, 96.5], SimVenueConfig(max_volume_fraction=0.5))

    assert [(f.last_quantity, f.last_price) for f in result.fills] == [
        (D("0.5"), D("98.00")), (D("0.5"), D("97.00"))]
    [stop] = [o for o in result.orders if o.order_type is OrderType.STOP_MARKET]
    assert (stop.quantity, stop.trigger_price) == (D(1), D("94.28"))  # 97.50 × 0.967 = 94.2825
    assert bar_index(stop.ts_created) == 4


def test_rsi_stop_fills_at_its_trigger_when_the_price_falls_through() -> None:
    result = backtest([100, 99, 98, 97, 96, 94])

    stop_fill = result.fills[1]
    assert (stop_fill.client_order_id, stop_fill.side, stop_fill.last_price) == (
        "rsi-2", OrderSide.SELL, D("94.77"))
    assert bar_index(stop_fill.ts_event) == 5
    [trade] = result.trades
    assert trade.realized_pnl == D("94.77") - D("98.00")
    assert result.balances["BTC"] == 0


def test_rsi_exits_on_overbought_and_cancels_the_stop_leaving_no_orphan() -> None:
    # RSI: bar 2 = 0 (buy), bar 3 = 50, bar 4 = 83.3 (exit).
    result = backtest([100, 99, 98, 99, 101, 103])

    assert orders(result) == [
        ("rsi-1", 2, OrderType.MARKET, OrderSide.BUY, D(1), None, False, OrderStatus.FILLED),
        ("rsi-2", 3, OrderType.STOP_MARKET, OrderSide.SELL, D(1), D("94.77"), True,
         OrderStatus.CANCELED),
        ("rsi-3", 4, OrderType.MARKET, OrderSide.SELL, D(1), None, True, OrderStatus.FILLED),
    ]
    assert [o for o in result.orders if o.is_open] == []
    assert result.statistics["venue.venue_sim"]["orders_working"] == 0
    assert result.fills[-1].last_price == D("101.00")
    assert result.balances["BTC"] == 0


def test_rsi_reenters_after_a_round_trip_with_a_new_stop() -> None:
    # Exit on overbought at bar 4 (filled at bar 5's open), oversold again on bar 5.
    result = backtest([100, 99, 98, 99, 101, 95, 96])

    assert [(o[0], o[1], o[2], o[3], o[5], o[7]) for o in orders(result)] == [
        ("rsi-1", 2, OrderType.MARKET, OrderSide.BUY, None, OrderStatus.FILLED),
        ("rsi-2", 3, OrderType.STOP_MARKET, OrderSide.SELL, D("94.77"), OrderStatus.CANCELED),
        ("rsi-3", 4, OrderType.MARKET, OrderSide.SELL, None, OrderStatus.FILLED),
        ("rsi-4", 5, OrderType.MARKET, OrderSide.BUY, None, OrderStatus.FILLED),
        # 95 × 0.967 = 91.865, a tie on the increment: rounded half to even.
        ("rsi-5", 6, OrderType.STOP_MARKET, OrderSide.SELL, D("91.86"), OrderStatus.ACCEPTED),
    ]
    assert len(result.trades) == 1


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"period": 0}, "period 0: must be > 0"),
        ({"oversold": 70.0, "overbought": 30.0}, "need 0 < oversold < overbought < 100"),
        ({"oversold": 0.0}, "need 0 < oversold"),
        ({"overbought": 100.0}, "need 0 < oversold < overbought < 100"),
        ({"stop_loss_fraction": D(0)}, "stop_loss_fraction 0: must be in"),
        ({"stop_loss_fraction": D(1)}, "stop_loss_fraction 1: must be in"),
        ({"quantity": D("-1")}, "quantity -1: must be > 0"),
    ],
)
def test_rsi_config_with_invalid_params_raises(fields: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RsiMeanReversionConfig(instrument_id=ID, **fields)


def test_rsi_config_invalid_params_fail_decoding_before_anything_runs() -> None:
    with pytest.raises(msgspec.ValidationError, match="stop_loss_fraction"):
        msgspec.convert({"instrument_id": ID, "stop_loss_fraction": "1.5"},
                        RsiMeanReversionConfig, strict=False)
