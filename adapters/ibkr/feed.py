"""IbkrFeedBinding: one `[[feeds]] kind = "ibkr"` entry as the node's `FeedBinding`.

The feed runs its own `IbkrMarketDataClient` (its own client id), stamped by the node's
clock. With `warmup_bars` and "bars" in `data`, it first delivers that many historical
5-second bars (those after what the journal already holds, `resume_after`), then
subscribes, so warm-up bars always come before live ones. A live feed never finishes.
"""

from __future__ import annotations

import anyio

from adapters.ibkr.config import IbkrFeedConfig
from adapters.ibkr.market_data import (
    REALTIME_BAR_TIMEFRAME,
    IbkrMarketDataClient,
    IbkrMarketDataStatistics,
)
from engine.events.market import BarType
from engine.ports import DataSubscription, MarketData
from engine.runtime import Deliver, FeedClock

__all__ = ("IbkrFeedBinding",)


class IbkrFeedBinding:
    """Quotes, trades or 5-second bars of one instrument from the gateway (module docstring)."""

    def __init__(self, config: IbkrFeedConfig) -> None:
        self.config = config
        self._finished = anyio.Event()
        self._client: IbkrMarketDataClient | None = None

    @property
    def instrument_id(self) -> str:
        return self.config.instrument_id

    @property
    def bar_type(self) -> BarType | None:
        """5-second bars when the feed carries bars alone (a bar source of the graph)."""
        if self.config.streams == ("bars",):
            return BarType(instrument_id=self.instrument_id, timeframe=REALTIME_BAR_TIMEFRAME)
        return None

    @property
    def finished(self) -> anyio.Event:
        return self._finished

    @property
    def client(self) -> IbkrMarketDataClient | None:
        """The running client (None before `run`)."""
        return self._client

    def first_event_time(self) -> int | None:
        return None

    def statistics(self) -> IbkrMarketDataStatistics | None:
        return None if self._client is None else self._client.statistics()

    async def run(
        self, *, clock: FeedClock, deliver: Deliver, resume_after: tuple[int, int] | None
    ) -> None:
        """Connect, deliver warm-up bars, subscribe, deliver until cancelled."""
        config = self.config
        client = IbkrMarketDataClient.from_feed(config, deliver, now_ns=clock.timestamp_ns)
        self._client = client
        async with anyio.create_task_group() as tasks:
            await tasks.start(client.run)
            if config.warmup_bars and "bars" in config.streams:
                after = resume_after[0] if resume_after is not None else None
                bars = await client.historical_bars(self.instrument_id, REALTIME_BAR_TIMEFRAME,
                                                    config.warmup_bars)
                for bar in bars:
                    if after is None or bar.ts_event > after:
                        item: MarketData = bar
                        deliver(item)
            for kind in config.streams:
                await client.subscribe(DataSubscription(
                    kind=kind, instrument_id=self.instrument_id,
                    timeframe=REALTIME_BAR_TIMEFRAME if kind == "bars" else None,
                ))
