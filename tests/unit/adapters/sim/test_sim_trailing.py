"""The trailing-stop rules as pure functions: the bar path, offsets, and the trail itself."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.sim.terms import Match, OrderTerms
from adapters.sim.trailing import (
    bar_path,
    initial_trailing_terms,
    match_trailing,
    offset_distance,
)
from engine.domain.enums import OrderSide, OrderType, TrailingOffsetType

D = Decimal
CENT = D("0.01")
PRICE = TrailingOffsetType.PRICE
TICKS = TrailingOffsetType.TICKS
BPS = TrailingOffsetType.BASIS_POINTS


def trailing(
    side: OrderSide,
    offset: str,
    trigger: str | None = None,
    *,
    limit_offset: str | None = None,
    offset_type: TrailingOffsetType = PRICE,
) -> OrderTerms:
    return OrderTerms(
        side=side,
        order_type=OrderType.TRAILING_STOP_MARKET if limit_offset is None
        else OrderType.TRAILING_STOP_LIMIT,
        trigger_price=None if trigger is None else D(trigger),
        trailing_offset=D(offset),
        trailing_offset_type=offset_type,
        limit_offset=None if limit_offset is None else D(limit_offset),
    )


def test_bar_path_visits_the_low_first_on_an_up_bar_and_the_high_first_on_a_down_bar() -> None:
    assert bar_path(D(100), D(110), D(90), D(105)) == (D(100), D(90), D(110), D(105))
    assert bar_path(D(100), D(110), D(90), D(100)) == (D(100), D(90), D(110), D(100))
    assert bar_path(D(100), D(110), D(90), D(95)) == (D(100), D(110), D(90), D(95))


@pytest.mark.parametrize(
    ("offset", "offset_type", "reference", "distance"),
    [
        ("1.25", PRICE, "100", "1.25"),
        ("7", TICKS, "100", "0.07"),
        ("100", BPS, "250.00", "2.50"),
        ("150", BPS, "200.01", "3.01"),  # 3.00015, rounded up: never nearer than asked
    ],
)
def test_offset_distance_converts_each_unit_to_a_price_distance(
    offset: str, offset_type: TrailingOffsetType, reference: str, distance: str
) -> None:
    assert offset_distance(D(offset), offset_type, D(reference), CENT) == D(distance)


def test_sell_trigger_only_rises_and_is_hit_coming_back_down() -> None:
    order = trailing(OrderSide.SELL, "2", "95")

    rising = match_trailing(order, (D(100), D(99), D(103), D(102)), CENT)
    falling = match_trailing(order, (D(96), D("94.5")), CENT)

    assert rising == Match(trigger_price=D(101))
    assert falling == Match(price=D(95), at_open=False, triggered=True, trigger_price=D(95))


def test_buy_trigger_only_falls_and_a_gap_through_it_fills_at_the_first_price() -> None:
    order = trailing(OrderSide.BUY, "2", "105")

    falling = match_trailing(order, (D(101), D(99)), CENT)
    gapped = match_trailing(trailing(OrderSide.BUY, "2", "101"), (D(103), D(104)), CENT)

    assert falling == Match(trigger_price=D(101))
    assert gapped == Match(price=D(103), at_open=True, triggered=True, trigger_price=D(101))


def test_an_unmoved_untriggered_trail_is_no_match() -> None:
    assert match_trailing(trailing(OrderSide.SELL, "2", "98"), (D(99), D(100)), CENT) is None


def test_a_trail_without_a_trigger_starts_from_the_first_price() -> None:
    assert match_trailing(trailing(OrderSide.SELL, "2"), (D(100),), CENT) == Match(
        trigger_price=D(98))


def test_trailing_stop_limit_carries_its_limit_and_fills_only_when_marketable() -> None:
    order = trailing(OrderSide.SELL, "2", "98", limit_offset="0.5")

    moved = match_trailing(order, (D(101),), CENT)
    gapped = match_trailing(order, (D(97),), CENT)

    assert moved == Match(trigger_price=D(99), limit_price=D("98.5"))
    assert gapped == Match(at_open=True, triggered=True, trigger_price=D(98),
                           limit_price=D("97.5"))


def test_initial_terms_set_the_trigger_from_a_price_and_the_limit_from_the_trigger() -> None:
    started = initial_trailing_terms(trailing(OrderSide.BUY, "3", limit_offset="1"), D(100), CENT)
    kept = initial_trailing_terms(trailing(OrderSide.BUY, "3", "104", limit_offset="1"), D(100),
                                  CENT)

    assert (started.trigger_price, started.price) == (D(103), D(104))
    assert (kept.trigger_price, kept.price) == (D(104), D(105))
