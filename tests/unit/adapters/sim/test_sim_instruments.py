"""The simulated venue's instrument provider answers the InstrumentProvider port."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.sim.instruments import SimInstrumentProvider
from engine.ports import InstrumentProvider
from engine.testing import make_instrument

ETH = make_instrument(instrument_id="ETH/USDT.SIM", symbol="ETH/USDT", base_currency="ETH",
                      multiplier=Decimal("1"))
BTC = make_instrument()
OTHER = make_instrument(instrument_id="BTC/USDT.X", venue="X")


async def test_loads_the_venues_instruments_in_id_order() -> None:
    provider: InstrumentProvider = SimInstrumentProvider("SIM", [ETH, BTC, OTHER])
    assert await provider.load() == [BTC, ETH]
    assert await provider.load(["ETH/USDT.SIM"]) == [ETH]


async def test_an_instrument_the_venue_does_not_list_is_named() -> None:
    provider = SimInstrumentProvider("SIM", [BTC])
    with pytest.raises(KeyError, match="DOGE/USDT.SIM"):
        await provider.load(["DOGE/USDT.SIM"])
