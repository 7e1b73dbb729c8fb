"""CcxtInstrumentProvider on the real ccxt client against the fake's exchangeInfo."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.ccxt import CcxtInstrumentProvider, credentials, make_exchange
from tests.fakes.binance import FakeBinance
from tests.fakes.binance.ccxt_support import ENVIRON, config_for


async def test_load_gives_increments_minimums_and_fees_from_exchange_info(
    fake: FakeBinance,
) -> None:
    config = config_for(fake)
    exchange = make_exchange(config, *credentials(config, ENVIRON))
    try:
        (item,) = await CcxtInstrumentProvider(config, exchange).load()
        with pytest.raises(ValueError, match="ETH/USDT.BINANCE"):
            await CcxtInstrumentProvider(config, exchange).load(["ETH/USDT.BINANCE"])
    finally:
        await exchange.close()

    assert (item.instrument_id, item.base_currency, item.quote_currency) == (
        "BTC/USDT.BINANCE", "BTC", "USDT")
    assert (item.price_increment, item.size_increment) == (Decimal("0.01"), Decimal("0.00001"))
    assert (item.min_quantity, item.min_notional) == (Decimal("0.00001"), Decimal(5))
    assert (item.maker_fee, item.taker_fee) == (Decimal("0.001"), Decimal("0.001"))
