"""Translations between IB's words and the engine's."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from adapters.ibkr.parsing import (
    ErrorKind,
    classify_error,
    ib_order,
    liquidity_side,
    order_type_of,
    side_of,
    time_in_force_of,
    to_ns,
)
from engine.domain.enums import (
    LiquiditySide,
    OrderSide,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
    TriggerType,
)
from engine.events.orders import SubmitOrder


def command(**overrides: object) -> SubmitOrder:
    fields: dict[str, object] = {
        "strategy_id": "s", "client_order_id": "c-1", "instrument_id": "AAPL.IBKR",
        "side": OrderSide.SELL, "order_type": OrderType.STOP_LIMIT, "quantity": Decimal(3),
        "price": Decimal("99.50"), "trigger_price": Decimal("100.00"), "ts_event": 0,
        "ts_init": 0,
    }
    fields.update(overrides)
    return SubmitOrder(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(("code", "kind"), [
    (2104, ErrorKind.NOTICE), (2199, ErrorKind.NOTICE), (399, ErrorKind.NOTICE),
    (404, ErrorKind.NOTICE), (202, ErrorKind.CANCELLED), (201, ErrorKind.REFUSAL),
    (110, ErrorKind.REFUSAL), (434, ErrorKind.REFUSAL), (10147, ErrorKind.REFUSAL),
    (2200, ErrorKind.REFUSAL),
])
def test_classify_error(code: int, kind: ErrorKind) -> None:
    assert classify_error(code) is kind


def test_stop_limit_carries_both_prices_and_the_client_id_in_order_ref() -> None:
    order = ib_order(command(), account="DU1")

    assert (order.action, order.orderType, order.totalQuantity) == ("SELL", "STP LMT", 3.0)
    assert (order.lmtPrice, order.auxPrice, order.orderRef, order.account) == (
        99.5, 100.0, "c-1", "DU1")


def test_gtd_expiry_is_written_in_utc() -> None:
    expire = int(datetime(2026, 12, 3, 21, 0, tzinfo=UTC).timestamp()) * 1_000_000_000

    order = ib_order(command(order_type=OrderType.LIMIT, trigger_price=None,
                             time_in_force=TimeInForce.GTD, expire_ns=expire), account="")

    assert (order.tif, order.goodTillDate) == ("GTD", "20261203-21:00:00")


def test_stop_without_trigger_is_refused_naming_the_order() -> None:
    with pytest.raises(ValueError, match="c-1: a stop needs a trigger price"):
        ib_order(command(order_type=OrderType.STOP_MARKET, trigger_price=None), account="")


def test_words_back_to_the_engines() -> None:
    assert (side_of("BOT"), side_of("SLD"), side_of("BUY")) == (
        OrderSide.BUY, OrderSide.SELL, OrderSide.BUY)
    assert order_type_of("STP LMT") is OrderType.STOP_LIMIT
    assert (liquidity_side(1), liquidity_side(2)) == (LiquiditySide.MAKER, LiquiditySide.TAKER)


def test_to_ns_is_exact_to_the_microsecond() -> None:
    moment = datetime(2026, 12, 2, 14, 30, 0, 123456, tzinfo=UTC)

    assert to_ns(moment) == 1_796_221_800_123_456_000


def test_if_touched_orders_are_ib_mit_and_lit_with_the_trigger_method() -> None:
    mit = ib_order(command(order_type=OrderType.MARKET_IF_TOUCHED, price=None,
                           trigger_type=TriggerType.LAST), account="")
    lit = ib_order(command(order_type=OrderType.LIMIT_IF_TOUCHED,
                           trigger_type=TriggerType.BID_ASK, time_in_force=TimeInForce.DAY),
                   account="")

    assert (mit.orderType, mit.auxPrice, mit.triggerMethod) == ("MIT", 100.0, 2)
    assert (lit.orderType, lit.lmtPrice, lit.auxPrice, lit.triggerMethod, lit.tif) == (
        "LIT", 99.5, 100.0, 4, "DAY")


def test_trailing_stops_carry_amount_or_percent_first_trigger_and_limit_offset() -> None:
    in_ticks = ib_order(command(order_type=OrderType.TRAILING_STOP_LIMIT, price=None,
                                trailing_offset=Decimal(25), limit_offset=Decimal(10),
                                trailing_offset_type=TrailingOffsetType.TICKS),
                        account="", price_increment=Decimal("0.01"))
    in_bps = ib_order(command(order_type=OrderType.TRAILING_STOP_MARKET, price=None,
                              trigger_price=None, trailing_offset=Decimal(150),
                              trailing_offset_type=TrailingOffsetType.BASIS_POINTS),
                      account="")

    assert (in_ticks.orderType, in_ticks.auxPrice, in_ticks.trailStopPrice,
            in_ticks.lmtPriceOffset) == ("TRAIL LIMIT", 0.25, 100.0, 0.1)
    assert (in_bps.orderType, in_bps.trailingPercent) == ("TRAIL", 1.5)
    assert in_bps.trailStopPrice > 1e300  # unset: IB sets it from the market


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"order_type": OrderType.STOP_MARKET, "price": None, "trigger_type": TriggerType.MARK},
         "c-1: trigger_type mark has no IB trigger method"),
        ({"order_type": OrderType.TRAILING_STOP_LIMIT, "price": None,
          "trailing_offset": Decimal(100), "limit_offset": Decimal(10),
          "trailing_offset_type": TrailingOffsetType.BASIS_POINTS},
         "c-1: limit_offset in basis_points: IB takes"),
        ({"order_type": OrderType.TRAILING_STOP_MARKET, "price": None,
          "trailing_offset": Decimal(3), "trailing_offset_type": TrailingOffsetType.TICKS},
         "c-1: trailing_offset in ticks needs the price increment"),
        ({"order_type": OrderType.TRAILING_STOP_MARKET, "price": None},
         "c-1: a trailing stop needs a trailing_offset"),
    ],
)
def test_terms_ib_cannot_carry_are_refused_naming_the_order(
    overrides: dict[str, object], reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        ib_order(command(**overrides), account="")


def test_new_words_back_to_the_engines() -> None:
    assert [order_type_of(name) for name in ("MIT", "LIT", "TRAIL", "TRAIL LIMIT")] == [
        OrderType.MARKET_IF_TOUCHED, OrderType.LIMIT_IF_TOUCHED,
        OrderType.TRAILING_STOP_MARKET, OrderType.TRAILING_STOP_LIMIT]
    assert time_in_force_of("DAY") is TimeInForce.DAY
