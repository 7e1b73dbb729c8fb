"""The execution client with no gateway: nothing leaves, and it says so by VenueUnavailable."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.ibkr import IbkrContractConfig, IbkrExecutionClient, IbkrVenueConfig
from engine.domain.enums import OrderSide, OrderType
from engine.errors import VenueUnavailable
from engine.events.orders import CancelOrder, SubmitOrder
from engine.testing.conformance import EventRecorder

CONFIG = IbkrVenueConfig(contracts=(
    IbkrContractConfig(instrument_id="AAPL.IBKR", sec_type="STK", symbol="AAPL"),))


async def test_commands_while_disconnected_raise_venue_unavailable_and_send_nothing() -> None:
    recorder = EventRecorder()
    client = IbkrExecutionClient(CONFIG, recorder)
    submit = SubmitOrder(strategy_id="s", client_order_id="c-1", instrument_id="AAPL.IBKR",
                         side=OrderSide.BUY, order_type=OrderType.MARKET, quantity=Decimal(1),
                         ts_event=0, ts_init=0)
    cancel = CancelOrder(strategy_id="s", client_order_id="c-1", instrument_id="AAPL.IBKR",
                         ts_event=0, ts_init=0)

    with pytest.raises(VenueUnavailable, match="not connected"):
        await client.submit_order(submit)
    with pytest.raises(VenueUnavailable, match="not connected"):
        await client.cancel_order(cancel, None)
    with pytest.raises(VenueUnavailable, match="not connected"):
        await client.fills_since(0)

    assert recorder.events == []
    assert client.statistics().orders_submitted == 0
    assert await client.open_orders() == []
