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
    to_ns,
)
from engine.domain.enums import LiquiditySide, OrderSide, OrderType, TimeInForce
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
