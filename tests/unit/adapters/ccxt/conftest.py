"""Fixtures of the ccxt adapter's tests: a fake Binance per test, and clients built on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import partial

import pytest

from adapters.ccxt import CcxtExecutionClient
from tests.fakes.binance import FakeBinance, running_fake
from tests.fakes.binance.ccxt_support import execution_client


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    """A fake Binance with a market at 100.00 (99.99 bid, 100.01 ask, deep)."""
    async with running_fake() as exchange:
        exchange.set_level("BUY", "99.99", "1000")
        exchange.set_level("SELL", "100.01", "1000")
        yield exchange


@pytest.fixture
def make_client(fake: FakeBinance) -> Callable[..., CcxtExecutionClient]:
    """Build an execution client on `fake`: make_client(sink, environ=None, **overrides)."""
    return partial(execution_client, fake)
