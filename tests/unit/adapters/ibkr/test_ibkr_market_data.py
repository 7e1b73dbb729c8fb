"""Market data: bar sizes and what a subscription may ask for (no gateway needed)."""

from __future__ import annotations

import pytest

from adapters.ibkr import (
    IbkrConnectionConfig,
    IbkrContractConfig,
    IbkrMarketDataClient,
    bar_size_setting,
)
from engine.ports import DataSubscription

AAPL = IbkrContractConfig(instrument_id="AAPL.IBKR", sec_type="STK", symbol="AAPL")


@pytest.mark.parametrize(("timeframe", "setting"), [
    ("5s", "5 secs"), ("1m", "1 min"), ("5m", "5 mins"), ("1h", "1 hour"), ("1d", "1 day"),
])
def test_bar_size_setting(timeframe: str, setting: str) -> None:
    assert bar_size_setting(timeframe) == setting


def test_bar_size_setting_refuses_what_ib_lacks() -> None:
    with pytest.raises(ValueError, match="daily bars are 1 day"):
        bar_size_setting("2d")


@pytest.mark.parametrize(("subscription", "message"), [
    (DataSubscription(kind="bars", instrument_id="AAPL.IBKR", timeframe="1m"), "5s bars only"),
    (DataSubscription(kind="book", instrument_id="AAPL.IBKR"), "books"),
    (DataSubscription(kind="quotes", instrument_id="MSFT.IBKR"), "not configured"),
])
async def test_subscriptions_it_cannot_serve_are_refused(
    subscription: DataSubscription, message: str,
) -> None:
    client = IbkrMarketDataClient("IBKR", IbkrConnectionConfig(), (AAPL,), lambda item: None)

    with pytest.raises(ValueError, match=message):
        await client.subscribe(subscription)
    assert client.subscriptions() == []


async def test_subscriptions_are_kept_while_disconnected() -> None:
    client = IbkrMarketDataClient("IBKR", IbkrConnectionConfig(), (AAPL,), lambda item: None)
    quotes = DataSubscription(kind="quotes", instrument_id="AAPL.IBKR")

    await client.subscribe(quotes)
    await client.subscribe(quotes)

    assert client.subscriptions() == [quotes]  # restored on the next connect
