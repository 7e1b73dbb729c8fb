"""Build the ccxt adapter's clients on a running fake (shared by unit and integration tests)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from adapters.ccxt import (
    CcxtConfig,
    CcxtExecutionClient,
    CcxtMarketDataClient,
    credentials,
    make_exchange,
)
from engine.events.market import Instrument
from engine.ports import EventSink, MarketData
from tests.fakes.binance.server import FakeBinance

__all__ = ("ENVIRON", "binance_instrument", "config_for", "execution_client",
           "market_data_client")

ENVIRON = {"TRADEBUS_BINANCE_API_KEY": "fake-key", "TRADEBUS_BINANCE_SECRET": "fake-secret"}
"""The environment the clients read their credentials from (the fake's key)."""


def config_for(fake: FakeBinance, **overrides: Any) -> CcxtConfig:
    """The adapter's config pointed at `fake`, with short timers for tests."""
    base = CcxtConfig(symbols=("BTC/USDT",), urls=fake.urls, request_timeout_s=2.0,
                      recv_window_s=1.0, backstop_interval_s=0.5,
                      reconnect_initial_s=0.05, reconnect_max_s=0.2)
    return msgspec.structs.replace(base, **overrides)


def execution_client(fake: FakeBinance, sink: EventSink, environ: dict[str, str] | None = None,
                     **overrides: Any) -> CcxtExecutionClient:
    """An execution client on `fake` delivering to `sink` (config overrides apply)."""
    config = config_for(fake, **overrides)
    key, secret = credentials(config, ENVIRON if environ is None else environ)
    return CcxtExecutionClient(config, make_exchange(config, key, secret), sink)


def market_data_client(fake: FakeBinance, sink: Callable[[MarketData], None],
                       **overrides: Any) -> CcxtMarketDataClient:
    """A market data client on `fake` delivering to `sink` (config overrides apply)."""
    config = config_for(fake, **overrides)
    key, secret = credentials(config, ENVIRON)
    return CcxtMarketDataClient(config, make_exchange(config, key, secret), sink)


def binance_instrument() -> Instrument:
    """BTC/USDT as the adapter loads it from the fake's exchangeInfo."""
    return Instrument(
        instrument_id="BTC/USDT.BINANCE", symbol="BTC/USDT", venue="BINANCE",
        base_currency="BTC", quote_currency="USDT", price_increment=Decimal("0.01"),
        size_increment=Decimal("0.00001"), min_quantity=Decimal("0.00001"),
        min_notional=Decimal(5), maker_fee=Decimal("0.001"), taker_fee=Decimal("0.001"),
        ts_event=0, ts_init=0,
    )
