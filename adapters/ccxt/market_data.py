"""CcxtMarketDataClient: the market-data-client port (`engine.ports.MarketDataClient`) on ccxt.pro.

Each `DataSubscription` is one task looping over a `watch_*` call:

- trades: `watch_trades` -> TradeTick per trade;
- bars: `watch_ohlcv` -> Bar. ccxt keeps updating the open candle and drops Binance's
  "closed" flag, so a bar is delivered when the next one opens (its values are then
  final); `ts_event` is its close time;
- quotes: `watch_bids_asks` (Binance bookTicker) -> QuoteTick;
- book: `watch_order_book` -> BookDelta, computed against the last book delivered: a
  CLEAR and every level after a (re)synchronization, only the changed levels after.

ccxt does not reconnect by itself: a call after a drop opens a new socket. A failing
watch (socket dropped, book gap detected by ccxt's U/u check) is retried after an
exponential backoff with seeded jitter, and a stream silent for `stale_after_s` has its
socket closed and is retried the same way. A message that does not parse is counted
(`malformed`) and skipped. `ts_event` is the exchange's time, `ts_init` engine time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import anyio
import ccxt
import msgspec
from anyio.abc import TaskGroup, TaskStatus

from adapters.ccxt.backoff import Backoff
from adapters.ccxt.config import CcxtConnection
from adapters.ccxt.errors import Outcome, classify, unwrap
from adapters.ccxt.exchange import TradebusBinance
from adapters.ccxt.parsing import bar, book_deltas, quote_tick, symbol_of, trade_tick
from engine.domain.enums import OrderSide
from engine.errors import MalformedMessage
from engine.events.market import BarType
from engine.ports import DataSubscription, MarketData, MarketDataSink

__all__ = ("CcxtMarketDataClient", "CcxtMarketDataStatistics")

logger = logging.getLogger(__name__)


class CcxtMarketDataStatistics(msgspec.Struct, frozen=True, kw_only=True):
    venue: str
    subscriptions: int
    messages: int
    delivered: int
    malformed: int
    reconnects: int
    stale_reconnects: int
    book_resyncs: int


class _Stale(Exception):
    """No message within `stale_after_s`."""


class CcxtMarketDataClient:
    """Market data streams of a ccxt exchange (see the module docstring).

    Args:
        config: the adapter's config (backoff, stale time, venue name).
        exchange: the ccxt exchange, owned by this client (closed when `run` ends).
        sink: where market data goes.
        now_ns: engine time for `ts_init` (default: the wall clock, at the edge).
    """

    def __init__(self, config: CcxtConnection, exchange: TradebusBinance,
                 sink: MarketDataSink,
                 *, now_ns: Callable[[], int] = time.time_ns) -> None:
        self._config = config
        self._exchange = exchange
        self._sink = sink
        self._now_ns = now_ns
        self._scopes: dict[DataSubscription, anyio.CancelScope | None] = {}
        self._tasks: TaskGroup | None = None
        self._messages = self._delivered = self._malformed = 0
        self._reconnects = self._stale = self._resyncs = 0
        self._seed = config.jitter_seed

    @property
    def venue(self) -> str:
        return self._config.venue

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Load markets, start every subscription, report started; stream until cancelled."""
        try:
            await self._load_markets()
            async with anyio.create_task_group() as tasks:
                self._tasks = tasks
                for subscription in list(self._scopes):
                    await self._start(subscription)
                task_status.started()
                await anyio.sleep_forever()
        finally:
            self._tasks = None
            with anyio.CancelScope(shield=True):
                await self._exchange.close()

    async def _load_markets(self) -> None:
        """Load markets, retrying network trouble with backoff (the exchange may be down
        when the node starts: the feed waits rather than ending)."""
        backoff = Backoff(self._config.reconnect_initial_s, self._config.reconnect_max_s,
                          seed=self._config.jitter_seed)
        while True:
            try:
                await self._exchange.load_markets()
                return
            except (ccxt.BaseError, OSError) as error:
                if classify(error) not in (Outcome.UNKNOWN, Outcome.REFUSED):
                    raise  # refused with a reason: retrying cannot help
                self._reconnects += 1
                logger.warning("venue %s: markets not loaded (%s); retrying", self.venue,
                               unwrap(error))
                await anyio.sleep(backoff.next_delay())

    async def subscribe(self, subscription: DataSubscription) -> None:
        """Stream `subscription` (now if running, else once `run` starts)."""
        symbol_of(subscription.instrument_id)  # a malformed id fails here, not in the task
        if subscription.kind == "bars" and subscription.timeframe is None:
            raise ValueError("subscription of bars: timeframe is required")
        if subscription in self._scopes:
            return
        self._scopes[subscription] = None
        if self._tasks is not None:
            await self._start(subscription)

    async def unsubscribe(self, subscription: DataSubscription) -> None:
        """Stop streaming `subscription` and tell the exchange (best effort: a failure to
        unsubscribe is logged, the stream is stopped here either way)."""
        scope = self._scopes.pop(subscription, None)
        if scope is None:
            await anyio.lowlevel.checkpoint()
            return
        scope.cancel()
        symbol = symbol_of(subscription.instrument_id)
        exchange = self._exchange
        try:
            if subscription.kind == "trades":
                await exchange.un_watch_trades_for_symbols([symbol])
            elif subscription.kind == "bars":
                await exchange.un_watch_ohlcv(symbol, subscription.timeframe)
            elif subscription.kind == "quotes":
                await exchange.un_watch_bids_asks([symbol])
            else:
                await exchange.un_watch_order_book_for_symbols([symbol])
        except (ccxt.BaseError, OSError) as error:
            logger.warning("venue %s: unsubscribe of %s %s failed (%s)", self.venue,
                           subscription.kind, subscription.instrument_id, unwrap(error))

    def subscriptions(self) -> list[DataSubscription]:
        return list(self._scopes)

    def statistics(self) -> CcxtMarketDataStatistics:
        return CcxtMarketDataStatistics(
            venue=self.venue, subscriptions=len(self._scopes), messages=self._messages,
            delivered=self._delivered, malformed=self._malformed,
            reconnects=self._reconnects, stale_reconnects=self._stale,
            book_resyncs=self._resyncs,
        )

    # -- streams ---------------------------------------------------------------------------

    async def _start(self, subscription: DataSubscription) -> None:
        if self._tasks is None:
            raise RuntimeError("market data client: subscription started while not running")
        await self._tasks.start(self._stream, subscription)

    async def _stream(self, subscription: DataSubscription, *,
                      task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self._seed += 1
        backoff = Backoff(self._config.reconnect_initial_s, self._config.reconnect_max_s,
                          seed=self._seed)
        with anyio.CancelScope() as scope:
            self._scopes[subscription] = scope
            task_status.started()
            state = _StreamState(subscription)
            while True:
                try:
                    await self._pump(state)
                except (ccxt.BaseError, OSError, _Stale) as raised:
                    error = unwrap(raised)
                    self._reconnects += 1
                    state.resync = True
                    logger.warning("venue %s: %s stream of %s interrupted (%s); retrying",
                                   self.venue, subscription.kind, subscription.instrument_id,
                                   error)
                    await anyio.sleep(backoff.next_delay())
                    continue

    async def _pump(self, state: _StreamState) -> None:
        subscription = state.subscription
        symbol = symbol_of(subscription.instrument_id)
        while True:
            with anyio.move_on_after(self._config.stale_after_s) as timer:
                result = await self._watch(subscription, symbol)
            if timer.cancelled_caught:
                self._stale += 1
                await self._close_market_sockets()  # every market stream reconnects
                raise _Stale(f"no message in {self._config.stale_after_s} s")
            self._messages += 1
            try:
                items = self._parse(state, result)
            except (MalformedMessage, KeyError, TypeError, ValueError, IndexError) as error:
                self._malformed += 1
                logger.warning("venue %s: %s message skipped (%s)", self.venue,
                               subscription.kind, error)
                continue
            for item in items:
                self._delivered += 1
                self._sink(item)

    async def _watch(self, subscription: DataSubscription, symbol: str) -> Any:
        exchange = self._exchange
        if subscription.kind == "trades":
            return await exchange.watch_trades(symbol)
        if subscription.kind == "bars":
            return await exchange.watch_ohlcv(symbol, subscription.timeframe)
        if subscription.kind == "quotes":
            return await exchange.watch_bids_asks([symbol])
        return await exchange.watch_order_book(symbol, subscription.depth)

    def _parse(self, state: _StreamState, result: Any) -> list[MarketData]:
        subscription = state.subscription
        item_id = subscription.instrument_id
        now = self._now_ns()
        if subscription.kind == "trades":
            return [trade_tick(trade, item_id, self.venue, now) for trade in result]
        if subscription.kind == "bars":
            return state.closed_bars(result, self.venue, now)
        if subscription.kind == "quotes":
            ticker = result.get(symbol_of(item_id))
            return [] if ticker is None else [quote_tick(ticker, item_id, self.venue, now)]
        snapshot = state.resync
        if snapshot and state.delivered_book:
            self._resyncs += 1
        state.resync = False
        state.delivered_book = True
        return list(book_deltas(state.book, result, item_id, now, snapshot=snapshot))

    async def _close_market_sockets(self) -> None:
        """Close the market sockets so the next watch opens a fresh one (a stale feed)."""
        for url, client in list(self._exchange.clients.items()):
            if "/ws-api/" not in url:
                await client.close()


class _StreamState:
    """What one subscription's stream remembers between messages."""

    def __init__(self, subscription: DataSubscription) -> None:
        self.subscription = subscription
        self.resync = True
        self.delivered_book = False
        self.book: dict[OrderSide, dict[float, float]] = {}
        self.open_candle: list[Any] | None = None
        self.bar_type = BarType(instrument_id=subscription.instrument_id,
                                timeframe=subscription.timeframe or "1m")

    def closed_bars(self, candles: list[list[Any]], venue: str, now: int) -> list[MarketData]:
        """The bars that closed: every candle before the newest one seen."""
        bars: list[MarketData] = []
        for candle in candles:
            if self.open_candle is not None and candle[0] > self.open_candle[0]:
                bars.append(bar(self.open_candle, self.bar_type, venue, now))
            if self.open_candle is None or candle[0] >= self.open_candle[0]:
                self.open_candle = list(candle)
        return bars
