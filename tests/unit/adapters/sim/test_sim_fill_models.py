"""The seeded fill models on bars: slippage of taker fills (`[venue] slippage_ticks`),
within the bar's range, never on ticks, quotes or maker fills; fills of limit orders a
bar only touches (`touch_fill_probability`); the same on a rerun or a restore."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, strategies as st
from test_sim_venue import INSTRUMENT_ID, MINUTE, T0, Harness

from adapters.sim.fill_models import Slippage, draw
from adapters.sim.venue import SimVenueConfig, SimVenueSnapshot
from engine.config import decode_config
from engine.domain.enums import OrderSide, OrderType
from engine.errors import ConfigError
from engine.events.fills import OrderFilled
from engine.events.market import TradeTick

D = Decimal
ALWAYS = SimVenueConfig(slippage_ticks=3)


def fill_prices(harness: Harness) -> list[Decimal]:
    return [m.last_price for m in harness.take() if type(m) is OrderFilled]


def test_a_market_buy_slips_up_and_a_sell_down_by_the_ticks() -> None:
    harness = Harness(ALWAYS)
    harness.submit(client_order_id="B")
    harness.submit(client_order_id="S", side=OrderSide.SELL)
    harness.bar(1, 100.0, 101.0, 99.0, 100.5)

    assert fill_prices(harness) == [D("100.03"), D("99.97")]


def test_slippage_never_leaves_the_bars_range() -> None:
    harness = Harness(SimVenueConfig(slippage_ticks=500))
    harness.submit(client_order_id="B")
    harness.submit(client_order_id="S", side=OrderSide.SELL)
    harness.bar(1, 100.0, 100.02, 99.99, 100.0)

    assert fill_prices(harness) == [D("100.02"), D("99.99")]


def test_a_stop_in_a_gap_slips_from_the_open_it_fills_at() -> None:
    harness = Harness(ALWAYS)
    harness.submit(order_type=OrderType.STOP_MARKET, trigger_price=D("105.00"))
    harness.take()
    harness.bar(1, 110.0, 112.0, 109.0, 111.0)  # gaps over the trigger: fills at the open

    assert fill_prices(harness) == [D("110.03")]


def test_resting_limit_orders_fill_at_their_price() -> None:
    harness = Harness(ALWAYS)
    harness.submit(order_type=OrderType.LIMIT, price=D("99.50"))
    harness.take()
    harness.bar(1, 100.0, 100.5, 99.0, 99.8)  # trades through: a maker fill

    assert fill_prices(harness) == [D("99.50")]


def test_a_trade_tick_fill_keeps_the_traded_price() -> None:
    harness = Harness(ALWAYS)
    harness.submit()
    ts = T0 + MINUTE
    harness.clock.advance_to(ts)
    harness.venue.process_market_data(TradeTick(
        instrument_id=INSTRUMENT_ID, price=100.0, size=5.0, aggressor_side=OrderSide.SELL,
        trade_id="t-1", ts_event=ts, ts_init=ts))

    assert fill_prices(harness) == [D("100.00")]


def run_session(config: SimVenueConfig, bars: int = 40) -> list[Decimal]:
    harness = Harness(config)
    for minute in range(1, bars + 1):
        harness.submit(client_order_id=f"O-{minute}",
                       side=OrderSide.BUY if minute % 2 else OrderSide.SELL)
        harness.bar(minute, 100.0, 101.0, 99.0, 100.0)
    return fill_prices(harness)


def test_a_seed_gives_the_same_fills_every_run_and_another_seed_others() -> None:
    half = SimVenueConfig(slippage_ticks=2, slippage_probability=0.5, slippage_seed=7)

    first, again = run_session(half), run_session(half)
    other = run_session(msgspec.structs.replace(half, slippage_seed=8))

    assert first == again
    assert other != first
    slipped = sum(price != D("100.00") for price in first)
    assert 5 < slipped < 35  # about half of 40


def test_a_restored_venue_draws_what_the_uninterrupted_one_drew() -> None:
    half = SimVenueConfig(slippage_ticks=2, slippage_probability=0.5, slippage_seed=7)
    whole = run_session(half, bars=20)

    harness = Harness(half)
    for minute in range(1, 11):
        harness.submit(client_order_id=f"O-{minute}",
                       side=OrderSide.BUY if minute % 2 else OrderSide.SELL)
        harness.bar(minute, 100.0, 101.0, 99.0, 100.0)
    before = fill_prices(harness)
    state = msgspec.json.decode(msgspec.json.encode(harness.venue.snapshot_state()),
                                type=SimVenueSnapshot)
    restored = Harness(half)
    restored.clock.advance_to(harness.clock.timestamp_ns())
    restored.venue.restore_state(state)
    for minute in range(11, 21):
        restored.submit(client_order_id=f"O-{minute}",
                        side=OrderSide.BUY if minute % 2 else OrderSide.SELL)
        restored.bar(minute, 100.0, 101.0, 99.0, 100.0)

    assert before + fill_prices(restored) == whole


@given(st.integers(0, 2**63), st.integers(0, 2**40))
def test_draws_are_uniform_floats_in_the_unit_interval(seed: int, number: int) -> None:
    value = draw(seed, number)
    assert 0.0 <= value < 1.0
    assert draw(seed, number) == value


@given(st.sampled_from([OrderSide.BUY, OrderSide.SELL]), st.integers(0, 50),
       st.integers(0, 1000))
def test_a_slipped_price_is_never_better_and_never_outside_the_range(
    side: OrderSide, ticks: int, number: int,
) -> None:
    model = Slippage(ticks, 1.0, seed=3)
    price = model.price(D("100.00"), side, increment=D("0.01"), high=D("100.10"),
                        low=D("99.95"), number=number)
    assert D("99.95") <= price <= D("100.10")
    assert (price >= D("100.00")) if side is OrderSide.BUY else (price <= D("100.00"))


def touch_session(config: SimVenueConfig, *, low: float, bars: int = 1) -> int:
    """A limit buy at 99.00 resting through `bars` bars whose low is `low`: its fills."""
    harness = Harness(config)
    harness.submit(order_type=OrderType.LIMIT, price=D("99.00"))
    for minute in range(1, bars + 1):
        harness.bar(minute, 100.0, 101.0, low, 100.0)
    return len(fill_prices(harness))


def test_a_limit_the_bar_only_touches_fills_with_the_touch_probability() -> None:
    never = SimVenueConfig(touch_fill_probability=0.0)
    half = SimVenueConfig(touch_fill_probability=0.5, slippage_seed=11)

    assert touch_session(SimVenueConfig(), low=99.0) == 1  # the default: a touch fills
    assert touch_session(never, low=99.0, bars=20) == 0
    assert touch_session(never, low=98.99) == 1  # through the price: always
    # At one half it waits some touching bars, then fills (each bar a new draw).
    assert touch_session(half, low=99.0, bars=30) == 1


def test_touch_fills_draw_the_same_on_a_rerun() -> None:
    def first_fill_minute(seed: int) -> int | None:
        harness = Harness(SimVenueConfig(touch_fill_probability=0.2, slippage_seed=seed))
        harness.submit(order_type=OrderType.LIMIT, price=D("99.00"))
        for minute in range(1, 60):
            harness.bar(minute, 100.0, 101.0, 99.0, 100.0)
            if fill_prices(harness):
                return minute
        return None

    minutes = [first_fill_minute(seed) for seed in range(8)]
    assert minutes == [first_fill_minute(seed) for seed in range(8)]
    assert len(set(minutes)) > 1 and None not in minutes


@pytest.mark.parametrize(("text", "message"), [
    ("slippage_ticks = -1\n", "slippage_ticks -1"),
    ("touch_fill_probability = -0.1\n", "touch_fill_probability -0.1"),
    ("slippage_ticks = 1\nslippage_probability = 1.5\n", "slippage_probability 1.5"),
])
def test_bad_slippage_settings_are_config_errors_naming_the_field(text: str,
                                                                  message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        decode_config(text, SimVenueConfig)
