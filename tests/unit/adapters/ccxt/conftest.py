"""Fixtures of the ccxt adapter's tests: a fake Binance per test, and clients built on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
import pytest

from adapters.ccxt import CcxtConfig, CcxtExecutionClient, credentials, make_exchange
from engine.ports import EventSink
from tests.fakes.binance import FakeBinance, running_fake

ENVIRON = {"TRADEBUS_BINANCE_API_KEY": "fake-key", "TRADEBUS_BINANCE_SECRET": "fake-secret"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    """A fake Binance with a market at 100.00 (99.99 bid, 100.01 ask, deep)."""
    async with running_fake() as exchange:
        exchange.set_level("BUY", "99.99", "1000")
        exchange.set_level("SELL", "100.01", "1000")
        yield exchange


def config_for(fake: FakeBinance, **overrides: Any) -> CcxtConfig:
    """The adapter's config pointed at `fake`, with short timers for tests."""
    base = CcxtConfig(symbols=("BTC/USDT",), urls=fake.urls, request_timeout_s=2.0,
                      recv_window_s=1.0, backstop_interval_s=0.5,
                      reconnect_initial_s=0.05, reconnect_max_s=0.2)
    return msgspec.structs.replace(base, **overrides)


@pytest.fixture
def make_client(fake: FakeBinance) -> Callable[..., CcxtExecutionClient]:
    """Build an execution client on `fake` delivering to `sink` (config overrides apply)."""

    def make(sink: EventSink, environ: dict[str, str] | None = None,
             **overrides: Any) -> CcxtExecutionClient:
        config = config_for(fake, **overrides)
        key, secret = credentials(config, ENVIRON if environ is None else environ)
        return CcxtExecutionClient(config, make_exchange(config, key, secret), sink)

    return make
