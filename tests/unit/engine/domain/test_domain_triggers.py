"""The trigger rules the simulated venue and the order emulator share, as a table."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.domain.enums import OrderSide, OrderType, TrailingOffsetType
from engine.domain.triggers import (
    DAY_NS,
    day_end_ns,
    rises_to_trigger,
    trailing_limit,
    trigger_reached,
    walk_trail,
)

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
STOP, TOUCHED = OrderType.STOP_MARKET, OrderType.MARKET_IF_TOUCHED
CENT = D("0.01")


@pytest.mark.parametrize(("side", "order_type", "rises"), [
    (BUY, STOP, True), (SELL, STOP, False), (BUY, TOUCHED, False), (SELL, TOUCHED, True),
    (BUY, OrderType.STOP_LIMIT, True), (SELL, OrderType.LIMIT_IF_TOUCHED, True),
])
def test_stops_trigger_against_the_position_and_if_touched_orders_in_favour(
        side: OrderSide, order_type: OrderType, rises: bool) -> None:
    assert rises_to_trigger(side, order_type) is rises


@pytest.mark.parametrize(("side", "order_type", "prices", "reached"), [
    (BUY, STOP, (100, 106, 99), (D(105), False)),   # reached inside: at the trigger
    (BUY, STOP, (107, 108, 106), (D(107), True)),   # a gap: at the open
    (BUY, STOP, (100, 104, 99), None),
    (SELL, STOP, (100, 101, 94), (D(95), False)),
    (SELL, STOP, (93, 96, 92), (D(93), True)),
    (BUY, TOUCHED, (100, 101, 94), (D(95), False)),
    (SELL, TOUCHED, (107, 108, 106), (D(107), True)),
])
def test_a_trigger_is_reached_at_its_price_or_in_a_gap_at_the_open(
        side: OrderSide, order_type: OrderType, prices: tuple[int, int, int],
        reached: tuple[Decimal, bool] | None) -> None:
    trigger = D(105) if (side is BUY) is (order_type is STOP) else D(95)
    open_price, high, low = (D(p) for p in prices)
    assert trigger_reached(side, order_type, trigger, open_price, high, low) == reached


def test_a_trail_moves_only_in_favour_then_triggers_at_its_trigger() -> None:
    up = walk_trail(SELL, D(2), TrailingOffsetType.PRICE, D(98), (D(100), D(99), D(104)), CENT)
    down = walk_trail(SELL, D(2), TrailingOffsetType.PRICE, up.trigger, (D(103), D(101)),
                      CENT)

    assert (up.trigger, up.triggered_at, up.moved) == (D(102), None, True)
    assert (down.trigger, down.triggered_at, down.at_open) == (D(102), D(102), False)


def test_a_trailing_limit_lies_beyond_its_trigger_in_basis_points_of_it() -> None:
    assert trailing_limit(SELL, D(50), TrailingOffsetType.BASIS_POINTS, D(200), CENT) == D(199)
    assert trailing_limit(BUY, D(3), TrailingOffsetType.TICKS, D(200), CENT) == D("200.03")


def test_a_day_ends_at_the_next_utc_midnight() -> None:
    assert day_end_ns(0) == DAY_NS
    assert day_end_ns(DAY_NS - 1) == DAY_NS
    assert day_end_ns(DAY_NS) == 2 * DAY_NS
