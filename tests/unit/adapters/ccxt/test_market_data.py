"""CcxtMarketDataClient on the real ccxt.pro client against the fake: streams into events.

Each test subscribes one stream, moves the fake's market and waits for the events (bounded
by TIMEOUT_S); faults (a dropped socket, a silent feed, a book gap, a malformed message)
are made by the fake's controls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import anyio
import pytest

from adapters.ccxt import CcxtMarketDataClient
from engine.domain.enums import BookAction, OrderSide
from engine.events.market import Bar, BookDelta, QuoteTick, TradeTick
from engine.ports import DataSubscription, MarketData
from tests.fakes.binance import FakeBinance
from tests.fakes.binance.ccxt_support import market_data_client

INSTRUMENT_ID = "BTC/USDT.BINANCE"
TIMEOUT_S = 5.0
MS = 1_000_000


class Collected:
    """A sink that keeps what it gets and lets a test wait for a count of one type."""

    def __init__(self) -> None:
        self.items: list[MarketData] = []

    def __call__(self, item: MarketData) -> None:
        self.items.append(item)

    def of(self, kind: type) -> list[MarketData]:
        return [item for item in self.items if type(item) is kind]

    async def wait(self, kind: type, count: int = 1) -> list[MarketData]:
        await poll_until(lambda: len(self.of(kind)) >= count)
        return self.of(kind)


async def poll_until(condition: Callable[[], bool]) -> None:
    """Wait (bounded) for `condition`: counters and sockets have no event to wait on."""
    with anyio.fail_after(TIMEOUT_S):
        while not condition():  # noqa: ASYNC110 (polled state, no event exists)
            await anyio.sleep(0.01)


@pytest.fixture
async def streaming(fake: FakeBinance) -> AsyncIterator[
        Callable[..., tuple[CcxtMarketDataClient, Collected]]]:
    clients: list[CcxtMarketDataClient] = []
    async with anyio.create_task_group() as tasks:

        def make(**overrides: object) -> tuple[CcxtMarketDataClient, Collected]:
            collected = Collected()
            client = market_data_client(fake, collected, **overrides)
            clients.append(client)
            return client, collected

        async def start(client: CcxtMarketDataClient) -> None:
            await tasks.start(client.run)

        make.start = start  # type: ignore[attr-defined]
        yield make
        tasks.cancel_scope.cancel()


async def started(make: Callable[..., tuple[CcxtMarketDataClient, Collected]],
                  *subscriptions: DataSubscription,
                  **overrides: object) -> tuple[CcxtMarketDataClient, Collected]:
    client, collected = make(**overrides)
    for subscription in subscriptions:
        await client.subscribe(subscription)
    await make.start(client)  # type: ignore[attr-defined]
    await anyio.sleep(0.3)  # the SUBSCRIBE answered (ccxt gives no "subscribed" signal)
    return client, collected


TRADES = DataSubscription(kind="trades", instrument_id=INSTRUMENT_ID)


async def test_trades_become_trade_ticks_with_exchange_time(
    fake: FakeBinance, streaming: Callable[..., tuple[CcxtMarketDataClient, Collected]]
) -> None:
    client, collected = await started(streaming, TRADES)

    fake.trade("100.50", "0.25")
    fake.trade("100.75", "0.5")
    ticks = await collected.wait(TradeTick, 2)

    assert [(t.price, t.size) for t in ticks] == [(100.5, 0.25), (100.75, 0.5)]  # type: ignore[attr-defined]
    assert ticks[1].ts_event == fake.state.now_ms * MS
    assert all(t.ts_init > 0 and t.instrument_id == INSTRUMENT_ID for t in ticks)  # type: ignore[attr-defined]
    assert client.subscriptions() == [TRADES]


async def test_klines_become_bars_once_the_next_bar_opens(
    fake: FakeBinance, streaming: Callable[..., tuple[CcxtMarketDataClient, Collected]]
) -> None:
    bars = DataSubscription(kind="bars", instrument_id=INSTRUMENT_ID, timeframe="1m")
    _, collected = await started(streaming, bars)
    t0 = 1_700_000_040_000

    fake.state.kline("BTCUSDT", "1m", t0, t0 + 59_999, tuple(
        Decimal(v) for v in ("100", "101", "99", "100.5", "3")), closed=False)
    fake.state.kline("BTCUSDT", "1m", t0, t0 + 59_999, tuple(
        Decimal(v) for v in ("100", "102", "99", "101.5", "4")), closed=True)
    fake.state.kline("BTCUSDT", "1m", t0 + 60_000, t0 + 119_999, tuple(
        Decimal(v) for v in ("101.5", "101.5", "101.5", "101.5", "0.1")), closed=False)
    (first,) = await collected.wait(Bar)

    assert (first.open, first.high, first.low, first.close, first.volume) == (  # type: ignore[attr-defined]
        100.0, 102.0, 99.0, 101.5, 4.0)
    assert first.ts_event == (t0 + 60_000) * MS


async def test_book_ticker_becomes_quote_ticks(
    fake: FakeBinance, streaming: Callable[..., tuple[CcxtMarketDataClient, Collected]]
) -> None:
    quotes = DataSubscription(kind="quotes", instrument_id=INSTRUMENT_ID)
    _, collected = await started(streaming, quotes)

    fake.set_level("BUY", "100.00", "2")
    (quote, *_) = await collected.wait(QuoteTick)

    assert (quote.bid_price, quote.bid_size, quote.ask_price) == (100.0, 2.0, 100.01)  # type: ignore[attr-defined]


async def test_book_snapshot_then_diffs_and_a_gap_resynchronizes(
    fake: FakeBinance, streaming: Callable[..., tuple[CcxtMarketDataClient, Collected]]
) -> None:
    book = DataSubscription(kind="book", instrument_id=INSTRUMENT_ID)
    client, collected = await started(streaming, book)
    fake.set_level("BUY", "99.98", "3")
    await collected.wait(BookDelta, 4)

    deltas = collected.of(BookDelta)
    assert deltas[0].action is BookAction.CLEAR  # type: ignore[attr-defined]
    assert {(d.side, d.price, d.size) for d in deltas[1:3]} == {  # type: ignore[attr-defined]
        (OrderSide.BUY, 99.99, 1000.0), (OrderSide.SELL, 100.01, 1000.0)}
    assert (deltas[3].action, deltas[3].price, deltas[3].size) == (  # type: ignore[attr-defined]
        BookAction.ADD, 99.98, 3.0)

    fake.gap_book()
    fake.set_level("SELL", "100.02", "4")
    with anyio.fail_after(TIMEOUT_S):
        while client.statistics().book_resyncs < 1:
            fake.set_level("SELL", "100.03", "1")
            await anyio.sleep(0.1)
    clears = [d for d in collected.of(BookDelta) if d.action is BookAction.CLEAR]  # type: ignore[attr-defined]
    assert len(clears) == 2


async def test_dropped_socket_reconnects_and_resubscribes(
    fake: FakeBinance, streaming: Callable[..., tuple[CcxtMarketDataClient, Collected]]
) -> None:
    client, collected = await started(streaming, TRADES)
    fake.trade("100.50", "0.25")
    await collected.wait(TradeTick)

    fake.drop(private=False)
    await poll_until(lambda: fake.open_sockets(private=False) > 0
                     and client.statistics().reconnects > 0)
    await anyio.sleep(0.2)
    fake.trade("100.60", "0.1")
    ticks = await collected.wait(TradeTick, 2)

    assert ticks[-1].price == 100.6  # type: ignore[attr-defined]
    assert fake.connections_opened[False] >= 2


async def test_stale_feed_is_detected_and_reconnected(
    fake: FakeBinance, streaming: Callable[..., tuple[CcxtMarketDataClient, Collected]]
) -> None:
    client, collected = await started(streaming, TRADES, stale_after_s=0.4)
    opened = fake.connections_opened[False]

    fake.mute_market(True)
    fake.trade("100.50", "0.25")  # lost in the silence
    await poll_until(lambda: client.statistics().stale_reconnects > 0)
    fake.mute_market(False)
    with anyio.fail_after(TIMEOUT_S):
        while not collected.of(TradeTick):
            fake.trade("100.70", "0.1")
            await anyio.sleep(0.1)

    assert fake.connections_opened[False] > opened
    assert collected.of(TradeTick)[0].price == 100.7  # type: ignore[attr-defined]


async def test_malformed_trade_is_counted_and_skipped(
    fake: FakeBinance, streaming: Callable[..., tuple[CcxtMarketDataClient, Collected]]
) -> None:
    client, collected = await started(streaming, TRADES)

    fake.state._publish("market", {"e": "trade", "E": 1, "s": "BTCUSDT", "t": 9,
                                   "p": None, "q": "1", "T": None, "m": False})
    fake.trade("100.80", "0.1")
    (tick,) = await collected.wait(TradeTick)

    assert tick.price == 100.8  # type: ignore[attr-defined]
    assert client.statistics().malformed == 1


async def test_unsubscribe_stops_the_stream_and_tells_the_exchange(
    fake: FakeBinance, streaming: Callable[..., tuple[CcxtMarketDataClient, Collected]]
) -> None:
    client, collected = await started(streaming, TRADES)
    fake.trade("100.10", "0.1")
    await collected.wait(TradeTick)

    await client.unsubscribe(TRADES)
    await anyio.sleep(0.2)  # the UNSUBSCRIBE answered
    fake.trade("100.20", "0.1")
    await anyio.sleep(0.2)

    assert [t.price for t in collected.of(TradeTick)] == [100.1]  # type: ignore[attr-defined]
    assert client.subscriptions() == [] and "UNSUBSCRIBE" in fake.socket_methods


async def test_markets_not_loadable_at_start_are_retried(
    fake: FakeBinance, streaming: Callable[..., tuple[CcxtMarketDataClient, Collected]]
) -> None:
    fake.fail_next(-1001, "Internal error; unable to process your request.", 503,
                   path="/api/v3/exchangeInfo")

    client, collected = await started(streaming, TRADES)
    fake.trade("100.30", "0.1")
    (tick,) = await collected.wait(TradeTick)

    assert tick.price == 100.3 and client.statistics().reconnects == 1  # type: ignore[attr-defined]
    assert fake.requests.count("GET /api/v3/exchangeInfo") == 2
