"""The pure translations of ccxt's dicts into engine events and reports."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.ccxt.parsing import (
    bar,
    book_deltas,
    decimal,
    instrument,
    instrument_id,
    symbol_of,
    trade_tick,
)
from engine.domain.enums import BookAction, OrderSide
from engine.errors import MalformedMessage
from engine.events.market import BarType


def test_decimal_of_a_float_is_exact_at_the_increment() -> None:
    assert decimal(0.1 + 0.2, Decimal("0.00001")) == Decimal("0.30000")
    assert decimal(100.01) == Decimal("100.01")
    assert decimal(None) == Decimal(0)


def test_instrument_ids_round_trip_and_a_bare_symbol_is_refused() -> None:
    assert symbol_of(instrument_id("BTC/USDT", "BINANCE")) == "BTC/USDT"
    with pytest.raises(ValueError, match="BTCUSDT"):
        symbol_of("BTCUSDT")


def test_instrument_from_a_market_entry() -> None:
    market = {"symbol": "BTC/USDT", "base": "BTC", "quote": "USDT",
              "precision": {"price": 0.01, "amount": 1e-05},
              "limits": {"amount": {"min": 1e-05}, "cost": {"min": 5.0}},
              "maker": 0.001, "taker": 0.001}

    item = instrument(market, "BINANCE")

    assert (item.price_increment, item.size_increment) == (Decimal("0.01"), Decimal("0.00001"))
    assert (item.min_notional, item.taker_fee) == (Decimal(5), Decimal("0.001"))


def test_bar_is_stamped_at_its_close_and_a_short_row_is_malformed() -> None:
    bar_type = BarType(instrument_id="BTC/USDT.BINANCE", timeframe="1m")

    made = bar([60_000, 1, 2, 0.5, 1.5, 10], bar_type, "BINANCE", 5)

    assert made.ts_event == 120_000 * 1_000_000 and made.ts_init == 5
    with pytest.raises(MalformedMessage):
        bar([60_000, 1, 2], bar_type, "BINANCE", 5)


def test_trade_without_a_price_is_malformed() -> None:
    with pytest.raises(MalformedMessage, match="price"):
        trade_tick({"amount": 1.0, "timestamp": 1}, "BTC/USDT.BINANCE", "BINANCE", 0)


def test_book_deltas_snapshot_then_changes_only() -> None:
    previous: dict[OrderSide, dict[float, float]] = {}
    snapshot = {"bids": [[99.0, 1.0]], "asks": [[101.0, 2.0]], "nonce": 5, "timestamp": 1}
    changed = {"bids": [[99.0, 3.0]], "asks": [], "nonce": 6, "timestamp": 2}

    first = book_deltas(previous, snapshot, "X.V", 0, snapshot=True)
    second = book_deltas(previous, changed, "X.V", 0, snapshot=False)

    assert [d.action for d in first] == [BookAction.CLEAR, BookAction.ADD, BookAction.ADD]
    assert [(d.side, d.action, d.price, d.size) for d in second] == [
        (OrderSide.BUY, BookAction.UPDATE, 99.0, 3.0),
        (OrderSide.SELL, BookAction.DELETE, 101.0, 0.0)]
    assert second[0].sequence == 6
