"""The instrument provider needs the gateway: without it, it says so."""

from __future__ import annotations

import pytest

from adapters.ibkr import (
    ContractMap,
    IbkrConnection,
    IbkrConnectionConfig,
    IbkrContractConfig,
    IbkrInstrumentProvider,
)
from engine.errors import VenueUnavailable

AAPL = IbkrContractConfig(instrument_id="AAPL.IBKR", sec_type="STK", symbol="AAPL")


async def test_load_while_disconnected_raises_venue_unavailable() -> None:
    provider = IbkrInstrumentProvider(ContractMap("IBKR", (AAPL,)),
                                      IbkrConnection(IbkrConnectionConfig(), name="IBKR"))

    with pytest.raises(VenueUnavailable, match="IBKR: not connected"):
        await provider.load()
    assert provider.contract("AAPL.IBKR") is None
