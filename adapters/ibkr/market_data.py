"""IbkrMarketDataClient: quotes, trades and bars from TWS / IB Gateway as engine events.

Streams
    "quotes" and "trades" of an instrument share one reqMktData stream: bid and ask ticks
    (types 1, 2; delayed 66, 67) become one QuoteTick per instrument per packet once both
    sides are known, last ticks (4, 68) a TradeTick each. "bars" are IB's real-time bars,
    which come in one size only: 5 seconds (`timeframe="5s"`); the market data actor
    aggregates longer ones. IB gives no exchange time with a tick, so ticks carry the
    arrival time (`now_ns`) as `ts_event`; bars carry their close time.

Bad input
    A tick with a price that is not finite or not positive (or a negative size) is
    counted in `statistics().malformed` and skipped; a quote with a side missing waits
    for it. Messages ib_async could not decode are counted by the connection.

Reconnects
    ib_async forgets every subscription when the socket goes; the client keeps its own
    list and makes every request again on each connect (`subscriptions()` is what is
    restored), after qualifying the contracts anew.

`historical_bars` fetches bars for warm-up (TRADES, or MIDPOINT for FX, outside regular
hours included).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime

import anyio
import msgspec
from anyio.abc import TaskStatus
from ib_async import IB, BarDataList, RealTimeBarList, Ticker

from adapters.ibkr.config import IbkrConnectionConfig, IbkrContractConfig, IbkrFeedConfig
from adapters.ibkr.connection import ConnectionStatistics, IbkrConnection
from adapters.ibkr.contracts import ContractMap, QualifiedContract
from adapters.ibkr.parsing import to_ns
from engine.events.market import Bar, BarType, QuoteTick, TradeTick, timeframe_ns
from engine.ports import DataSubscription, MarketDataSink

__all__ = ("IbkrMarketDataClient", "IbkrMarketDataStatistics", "bar_size_setting")

logger = logging.getLogger(__name__)

REALTIME_BAR_TIMEFRAME = "5s"
_BID_TICKS = frozenset({1, 66})
_ASK_TICKS = frozenset({2, 67})
_LAST_TICKS = frozenset({4, 68})
_BAR_SIZES = {"s": "secs", "m": "mins", "h": "hours", "d": "day"}


def bar_size_setting(timeframe: str) -> str:
    """IB's barSizeSetting for an engine timeframe ("1m" -> "1 min", "5m" -> "5 mins").

    Raises:
        ValueError: a timeframe IB has no bars of.
    """
    timeframe_ns(timeframe)
    count, unit = int(timeframe[:-1]), timeframe[-1]
    if unit == "d" and count != 1:
        raise ValueError(f"timeframe {timeframe!r}: IB's daily bars are 1 day")
    word = _BAR_SIZES[unit]
    if count == 1 and unit != "d":
        word = word[:-1]
    return f"{count} {word}"


class IbkrMarketDataStatistics(msgspec.Struct, frozen=True, kw_only=True):
    connection: ConnectionStatistics
    subscriptions: int
    quotes: int
    trades: int
    bars: int
    malformed: int
    resubscribed: int


class IbkrMarketDataClient:
    """Market data of configured instruments over one connection (module docstring).

    Args:
        venue: the engine venue name of the instruments.
        connection: gateway and client id (a client id other than the venue's).
        contracts: the instruments this client may subscribe.
        sink: where events go, in arrival order.
        now_ns: the clock stamping `ts_init` (and ticks' `ts_event`).
    """

    def __init__(
        self,
        venue: str,
        connection: IbkrConnectionConfig,
        contracts: Iterable[IbkrContractConfig],
        sink: MarketDataSink,
        *,
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.venue = venue
        self.connection = IbkrConnection(connection, name=f"{venue}-data")
        self.contracts = ContractMap(venue, tuple(contracts))
        self._sink = sink
        self._now_ns = now_ns
        self._subscriptions: list[DataSubscription] = []
        self._tickers: dict[str, Ticker] = {}
        self._bar_lists: dict[str, RealTimeBarList] = {}
        self._quotes = self._trades = self._bars = self._malformed = self._resubscribed = 0
        self.connection.listen(self.connection.ib.pendingTickersEvent, self._on_tickers)
        self.connection.listen(self.connection.ib.barUpdateEvent, self._on_bar_update)

    @classmethod
    def from_feed(cls, config: IbkrFeedConfig, sink: MarketDataSink, *,
                  now_ns: Callable[[], int] = time.time_ns) -> IbkrMarketDataClient:
        """The client of one `[[feeds]] kind = "ibkr"` entry (not yet subscribed)."""
        return cls(config.venue, config.connection, (config.contract,), sink, now_ns=now_ns)

    @property
    def ib(self) -> IB:
        return self.connection.ib

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Connect, (re)subscribe everything, report started; reconnect until cancelled."""
        await self.connection.run(self._on_connected, task_status=task_status)

    def subscriptions(self) -> list[DataSubscription]:
        return list(self._subscriptions)

    def statistics(self) -> IbkrMarketDataStatistics:
        return IbkrMarketDataStatistics(
            connection=self.connection.statistics(), subscriptions=len(self._subscriptions),
            quotes=self._quotes, trades=self._trades, bars=self._bars,
            malformed=self._malformed, resubscribed=self._resubscribed,
        )

    async def subscribe(self, subscription: DataSubscription) -> None:
        """Start `subscription` now if connected, and on every reconnect.

        Raises:
            ValueError: an instrument not configured here, book data, or bars of a
                timeframe other than 5s.
        """
        await anyio.lowlevel.checkpoint()
        self._check(subscription)
        if subscription in self._subscriptions:
            return
        self._subscriptions.append(subscription)
        if self.connection.connected:
            self._start(subscription)

    async def unsubscribe(self, subscription: DataSubscription) -> None:
        await anyio.lowlevel.checkpoint()
        if subscription not in self._subscriptions:
            return
        self._subscriptions.remove(subscription)
        instrument_id = subscription.instrument_id
        if not self.connection.connected:
            return
        if subscription.kind == "bars":
            bars = self._bar_lists.pop(instrument_id, None)
            if bars is not None:
                self.ib.cancelRealTimeBars(bars)
        elif not self._kinds(instrument_id) & {"quotes", "trades"}:
            ticker = self._tickers.pop(instrument_id, None)
            if ticker is not None and ticker.contract is not None:
                self.ib.cancelMktData(ticker.contract)

    async def historical_bars(self, instrument_id: str, timeframe: str, count: int) -> list[Bar]:
        """The last `count` completed bars of `timeframe`, oldest first (for warm-up).

        Raises:
            ValueError: not configured, or a timeframe IB has no bars of.
            VenueUnavailable-like ConnectionError: not connected.
        """
        qualified = self._qualified(instrument_id)
        step_s = timeframe_ns(timeframe) // 1_000_000_000
        seconds = step_s * count
        duration = f"{seconds} S" if seconds <= 86_400 else f"{math.ceil(seconds / 86_400)} D"
        bars: BarDataList = await self.ib.reqHistoricalDataAsync(
            qualified.contract, endDateTime="", durationStr=duration,
            barSizeSetting=bar_size_setting(timeframe), whatToShow=self._what_to_show(qualified),
            useRTH=False, formatDate=2,
        )
        bar_type = BarType(instrument_id=instrument_id, timeframe=timeframe)
        now = self._now_ns()
        result = []
        for bar in bars:
            start = bar.date
            if isinstance(start, datetime):
                start_ns = to_ns(start if start.tzinfo else start.replace(tzinfo=UTC))
            elif isinstance(start, date):
                start_ns = to_ns(datetime(start.year, start.month, start.day, tzinfo=UTC))
            else:
                self._malformed += 1
                continue
            values = (bar.open, bar.high, bar.low, bar.close)
            if not all(math.isfinite(v) and v > 0 for v in values) or bar.volume < 0:
                self._malformed += 1
                continue
            result.append(Bar(bar_type=bar_type, open=bar.open, high=bar.high, low=bar.low,
                              close=bar.close, volume=float(bar.volume),
                              ts_event=start_ns + step_s * 1_000_000_000, ts_init=now))
        return result[-count:]

    # -- connection ------------------------------------------------------------------------

    async def _on_connected(self, ib: IB) -> None:
        await self.contracts.qualify(ib, sorted({s.instrument_id for s in self._subscriptions})
                                     or None)
        reconnect = bool(self._tickers or self._bar_lists)
        self._tickers.clear()
        self._bar_lists.clear()
        for subscription in self._subscriptions:
            self._start(subscription)
            self._resubscribed += reconnect

    def _start(self, subscription: DataSubscription) -> None:
        instrument_id = subscription.instrument_id
        qualified = self.contracts.qualified(instrument_id)
        if qualified is None:
            logger.error("%s: %s not qualified, %s not subscribed", self.venue, instrument_id,
                         subscription.kind)
            return
        if subscription.kind == "bars":
            if instrument_id not in self._bar_lists:
                self._bar_lists[instrument_id] = self.ib.reqRealTimeBars(
                    qualified.contract, 5, self._what_to_show(qualified), useRTH=False)
        elif instrument_id not in self._tickers:
            self._tickers[instrument_id] = self.ib.reqMktData(qualified.contract)

    # -- the stream ------------------------------------------------------------------------

    def _on_tickers(self, tickers: set[Ticker]) -> None:
        # A packet's tickers come as a set: deliver them in instrument id order.
        named = []
        for ticker in tickers:
            con_id = ticker.contract.conId if ticker.contract is not None else 0
            instrument_id = self.contracts.instrument_id_of(con_id)
            if instrument_id is not None:
                named.append((instrument_id, ticker))
        for instrument_id, ticker in sorted(named, key=lambda pair: pair[0]):
            self._on_ticker(instrument_id, ticker)

    def _on_ticker(self, instrument_id: str, ticker: Ticker) -> None:
        kinds = self._kinds(instrument_id)
        quoted = False
        now = self._now_ns()
        for tick in ticker.ticks:
            if tick.tickType in _BID_TICKS or tick.tickType in _ASK_TICKS:
                if math.isnan(tick.price):  # ib_async's empty side (IB sent size 0)
                    continue
                if not _valid(tick.price, tick.size):
                    self._malformed += 1
                    continue
                quoted = True
            elif tick.tickType in _LAST_TICKS and "trades" in kinds:
                if not _valid(tick.price, tick.size):
                    self._malformed += 1
                    continue
                self._trades += 1
                self._sink(TradeTick(instrument_id=instrument_id, price=tick.price,
                                     size=tick.size, ts_event=now, ts_init=now))
        bid, ask = ticker.bid, ticker.ask
        if quoted and "quotes" in kinds and _valid(bid, ticker.bidSize) and _valid(
                ask, ticker.askSize):
            self._quotes += 1
            self._sink(QuoteTick(instrument_id=instrument_id, bid_price=bid, ask_price=ask,
                                 bid_size=ticker.bidSize, ask_size=ticker.askSize,
                                 ts_event=now, ts_init=now))

    def _on_bar_update(self, bars: RealTimeBarList, has_new_bar: bool) -> None:
        if not has_new_bar or not isinstance(bars, RealTimeBarList) or not bars:
            return
        con_id = bars.contract.conId if bars.contract is not None else 0
        instrument_id = self.contracts.instrument_id_of(con_id)
        if instrument_id is None or "bars" not in self._kinds(instrument_id):
            return
        bar = bars[-1]
        values = (bar.open_, bar.high, bar.low, bar.close)
        if not all(_valid(v, 0.0) for v in values) or not bar.volume >= 0:
            self._malformed += 1
            return
        self._bars += 1
        step_ns = timeframe_ns(REALTIME_BAR_TIMEFRAME)
        self._sink(Bar(
            bar_type=BarType(instrument_id=instrument_id, timeframe=REALTIME_BAR_TIMEFRAME),
            open=bar.open_, high=bar.high, low=bar.low, close=bar.close,
            volume=float(bar.volume), ts_event=to_ns(bar.time) + step_ns,
            ts_init=self._now_ns(),
        ))

    # -- helpers ---------------------------------------------------------------------------

    def _kinds(self, instrument_id: str) -> set[str]:
        return {s.kind for s in self._subscriptions if s.instrument_id == instrument_id}

    def _check(self, subscription: DataSubscription) -> None:
        if self.contracts.config(subscription.instrument_id) is None:
            raise ValueError(f"instrument_id {subscription.instrument_id!r}: not configured "
                             f"for {self.venue}")
        if subscription.kind == "book":
            raise ValueError(f"subscription of {subscription.instrument_id}: IBKR books are "
                             "not supported by this adapter")
        if subscription.kind == "bars" and subscription.timeframe != REALTIME_BAR_TIMEFRAME:
            raise ValueError(f"timeframe {subscription.timeframe!r}: IB streams 5s bars only "
                             "(subscribe 5s; longer bars are aggregated)")

    def _qualified(self, instrument_id: str) -> QualifiedContract:
        qualified = self.contracts.qualified(instrument_id)
        if qualified is None:
            raise ValueError(f"instrument_id {instrument_id!r}: not qualified at {self.venue}")
        return qualified

    @staticmethod
    def _what_to_show(qualified: QualifiedContract) -> str:
        return "MIDPOINT" if qualified.config.sec_type == "CASH" else "TRADES"


def _valid(price: float, size: float) -> bool:
    return math.isfinite(price) and price > 0 and math.isfinite(size) and size >= 0
