"""Build the ccxt adapter's clients on a running fake (shared by unit and integration tests)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

import anyio
import msgspec

from adapters.ccxt import (
    CcxtConfig,
    CcxtExecutionClient,
    CcxtMarketDataClient,
    credentials,
    make_exchange,
)
from engine.domain.enums import OrderSide, OrderType
from engine.events.base import Event
from engine.events.market import Instrument
from engine.events.orders import SubmitOrder
from engine.ports import EventSink, MarketData
from engine.testing.conformance import EventRecorder
from tests.fakes.binance.server import FakeBinance

__all__ = ("ENVIRON", "INSTRUMENT_ID", "binance_instrument", "config_for", "events_of",
           "execution_client", "market_data_client", "submit", "wait_for_count")

INSTRUMENT_ID = "BTC/USDT.BINANCE"

ENVIRON = {"TRADEBUS_BINANCE_API_KEY": "fake-key", "TRADEBUS_BINANCE_SECRET": "fake-secret"}
"""The environment the clients read their credentials from (the fake's key)."""


def config_for(fake: FakeBinance, **overrides: Any) -> CcxtConfig:
    """The adapter's config pointed at `fake`, with short timers for tests."""
    base = CcxtConfig(symbols=["BTC/USDT"], urls=fake.urls, request_timeout_s=2.0,
                      recv_window_s=1.0, backstop_interval_s=0.5,
                      reconnect_initial_s=0.05, reconnect_max_s=0.2)
    return msgspec.structs.replace(base, **overrides)


def execution_client(fake: FakeBinance, sink: EventSink, environ: dict[str, str] | None = None,
                     on_reconnected: Callable[[], Awaitable[None]] | None = None,
                     **overrides: Any) -> CcxtExecutionClient:
    """An execution client on `fake` delivering to `sink` (config overrides apply)."""
    config = config_for(fake, **overrides)
    key, secret = credentials(config, ENVIRON if environ is None else environ)
    return CcxtExecutionClient(config, make_exchange(config, key, secret), sink,
                               on_reconnected=on_reconnected)


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


def submit(client_order_id: str, *, price: str | None = None, quantity: str = "0.1",
           side: OrderSide = OrderSide.BUY) -> SubmitOrder:
    """A market order (a limit order at `price`) of BTC/USDT.BINANCE by strategy "s"."""
    return SubmitOrder(
        strategy_id="s", client_order_id=client_order_id, instrument_id=INSTRUMENT_ID,
        side=side, order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
        quantity=Decimal(quantity), price=None if price is None else Decimal(price),
        ts_event=0, ts_init=0,
    )


def events_of(events: Sequence[Event], kind: type[Event], client_order_id: str) -> list[Event]:
    """The events of exactly `kind` delivered for `client_order_id`, in order."""
    return [e for e in events if type(e) is kind
            and getattr(e, "client_order_id", None) == client_order_id]


WAIT_S = 5.0
"""How long a test waits for an event before it fails."""


async def wait_for_count(recorder: EventRecorder, kind: type[Event], client_order_id: str,
                         count: int = 1) -> None:
    """Wait (at most WAIT_S) until `count` events of `kind` for `client_order_id` came."""
    with anyio.fail_after(WAIT_S):
        while len(events_of(recorder.events, kind, client_order_id)) < count:
            seen = len(recorder.events)
            await recorder.wait_for(lambda _event, seen=seen: len(recorder.events) > seen)
