"""Commission of simulated fills: fee rate x notional, exact."""

from __future__ import annotations

from decimal import Decimal

from adapters.sim.fees import commission, notional
from engine.domain.enums import LiquiditySide
from engine.events.market import Instrument


def make_instrument(maker_fee: str = "0.0002", taker_fee: str = "0.001") -> Instrument:
    return Instrument(
        instrument_id="BTC/USDT.SIM", symbol="BTC/USDT", venue="SIM", base_currency="BTC",
        quote_currency="USDT", price_increment=Decimal("0.01"), size_increment=Decimal("0.001"),
        maker_fee=Decimal(maker_fee), taker_fee=Decimal(taker_fee), ts_event=0, ts_init=0,
    )


def test_commission_taker_is_taker_fee_times_notional() -> None:
    result = commission(make_instrument(), Decimal(1), Decimal("30000.12"), LiquiditySide.TAKER)

    assert result == Decimal("30.00012")


def test_commission_maker_rebate_is_negative() -> None:
    instrument = make_instrument(maker_fee="-0.0001")

    result = commission(instrument, Decimal("2"), Decimal("100.50"), LiquiditySide.MAKER)

    assert result == Decimal("-0.0201")


def test_commission_beyond_default_precision_is_not_rounded() -> None:
    quantity = Decimal("1234567890.123456789")
    price = Decimal("9876543210.987654321")

    result = commission(make_instrument(), quantity, price, LiquiditySide.TAKER)

    digits = 1234567890123456789 * 9876543210987654321
    assert notional(quantity, price) == Decimal(f"{digits}E-18")
    assert result == Decimal(f"{digits}E-21")
