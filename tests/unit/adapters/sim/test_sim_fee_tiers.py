"""Volume fee tiers (`[venue] fee_tiers`): a fill is priced by the volume traded before it
over the window, the window slides in engine time, and it survives a snapshot."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from test_sim_venue import Harness, make_instrument

from adapters.sim.fee_tiers import FeeTier, FeeTiers
from adapters.sim.venue import SimVenueConfig, SimVenueSnapshot
from engine.config import decode_config
from engine.domain.enums import LiquiditySide, OrderSide, OrderType
from engine.errors import ConfigError
from engine.events.fills import OrderFilled

D = Decimal
DAY = 1440  # minutes
TIERS = (
    FeeTier(volume=D(0), maker=D("0.0002"), taker=D("0.001")),
    FeeTier(volume=D(30000), maker=D("0.0001"), taker=D("0.0005")),
    FeeTier(volume=D(100000), maker=D("-0.0001"), taker=D("0.0002")),
)
TIERED = SimVenueConfig(fee_tiers=TIERS, fee_window_days=30)
BTC_USDT = make_instrument()
ETH_BTC = make_instrument(instrument_id="ETH/BTC.SIM", symbol="ETH/BTC", base_currency="ETH",
                          quote_currency="BTC")


def commissions(harness: Harness) -> list[Decimal]:
    return [m.commission for m in harness.take() if type(m) is OrderFilled]


def buy_at(harness: Harness, minute: int, price: float, number: int) -> None:
    """A market buy of 1 filled at the next bar's open, `price` (notional = price)."""
    harness.submit(client_order_id=f"O-{number}")
    harness.bar(minute, price, price, price, price)


def test_each_fill_is_priced_by_the_volume_before_it() -> None:
    harness = Harness(TIERED)

    for number in range(1, 7):
        buy_at(harness, number, 20_000.0, number)
    fees = commissions(harness)

    # Volume before each fill: 0, 20k, 40k, 60k, 80k, 100k.
    assert fees == [D("20.000"), D("20.000"), D("10.0000"), D("10.0000"), D("10.0000"),
                    D("4.0000")]


def test_volume_older_than_the_window_no_longer_counts() -> None:
    harness = Harness(TIERED)
    buy_at(harness, 1, 20_000.0, 1)
    buy_at(harness, 2, 20_000.0, 2)
    harness.take()

    buy_at(harness, 2 * DAY, 20_000.0, 3)  # 40k before it: the second tier
    # 30 days after the first two: they left the window, the third (29 days old) did not.
    buy_at(harness, 31 * DAY, 20_000.0, 4)

    assert commissions(harness) == [D("10.0000"), D("20.000")]
    assert harness.venue._fee_tiers is not None
    assert harness.venue._fee_tiers.volume("USDT", harness.clock.timestamp_ns()) == D(40000)


def test_a_resting_limit_order_pays_the_tiers_maker_rate() -> None:
    harness = Harness(TIERED)
    for number in range(1, 4):
        buy_at(harness, number, 20_000.0, number)
    harness.take()

    harness.submit(client_order_id="L", order_type=OrderType.LIMIT, side=OrderSide.SELL,
                   price=D("20100.00"))
    harness.bar(4, 20_000.0, 20_200.0, 20_000.0, 20_150.0)  # trades through 20,100

    fills = [m for m in harness.take() if type(m) is OrderFilled]
    assert [(f.liquidity_side, f.commission) for f in fills] == [
        (LiquiditySide.MAKER, D("2.010000"))]  # 60k before it: maker 0.0001


def test_volumes_in_different_quote_currencies_are_kept_apart() -> None:
    tiers = FeeTiers(TIERS, window_days=30)
    tiers.commission(BTC_USDT, D(1), D(50000), LiquiditySide.TAKER, 0)

    assert tiers.tier("USDT", 1) == TIERS[1]
    assert tiers.tier("BTC", 1) == TIERS[0]
    assert tiers.commission(ETH_BTC, D(10), D("0.05"), LiquiditySide.TAKER, 2) == D("0.000500")


def test_the_volume_window_survives_a_snapshot() -> None:
    harness = Harness(TIERED)
    for number in range(1, 4):
        buy_at(harness, number, 20_000.0, number)
    harness.take()
    state = msgspec.json.decode(msgspec.json.encode(harness.venue.snapshot_state()),
                                type=SimVenueSnapshot)

    restored = Harness(TIERED)
    restored.clock.advance_to(harness.clock.timestamp_ns())
    restored.venue.restore_state(state)
    buy_at(restored, 4, 20_000.0, 4)
    buy_at(harness, 4, 20_000.0, 4)

    assert commissions(restored) == commissions(harness) == [D("10.0000")]


def test_a_snapshot_without_the_window_is_refused_by_a_tiered_venue() -> None:
    state = Harness().venue.snapshot_state()

    with pytest.raises(ValueError, match="fee tiers"):
        Harness(TIERED).venue.restore_state(state)


def test_a_cash_account_holds_at_the_highest_taker_rate_of_the_table() -> None:
    from test_sim_account import BALANCES

    from adapters.sim.venue import SimVenue
    from engine.instruments import InstrumentRegistry

    config = SimVenueConfig(fee_tiers=(
        FeeTier(volume=D(0), maker=D(0), taker=D("0.001")),
        FeeTier(volume=D(1), maker=D(0), taker=D("0.002")),  # odd, but the highest
    ), cash_account=True)
    venue = SimVenue(config, InstrumentRegistry([BTC_USDT]), starting_balances=BALANCES)
    assert venue._account is not None
    hold = venue._account.hold_for(OrderSide.BUY, OrderType.LIMIT, D(1), price=D(100),
                                   trigger_price=None, instrument=BTC_USDT, last_price=None)
    assert not isinstance(hold, str)
    assert hold.per_unit == D("100.2")


@pytest.mark.parametrize(("tiers", "message"), [
    ('[{volume = 10, maker = 0.001, taker = 0.001}]', "first tier must start at volume 0"),
    ('[{volume = 0, maker = 0.001, taker = 0.001}, {volume = 0, maker = 0.0, taker = 0.0}]',
     r"fee_tiers\[1\].volume 0: must be above"),
    ('[{volume = 0, maker = 0.001, taker = 1.5}]', r"fee_tiers\[0\]: rates are fractions"),
    ('[{volume = 0, maker = 0.001, taker = "nan"}]', r"fee_tiers\[0\].taker NaN"),
    ('[{volume = 0, maker = 0.001}]', "taker"),
])
def test_a_bad_tier_table_is_a_config_error_naming_the_field(tiers: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        decode_config(f"fee_tiers = {tiers}\n", SimVenueConfig)


def test_a_window_of_no_days_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="fee_window_days 0"):
        decode_config("fee_window_days = 0\n", SimVenueConfig)


def test_without_tiers_the_instruments_own_fees_apply() -> None:
    harness = Harness()
    for number in range(1, 5):
        buy_at(harness, number, 20_000.0, number)

    assert commissions(harness) == [D("20.000")] * 4
