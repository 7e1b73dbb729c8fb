"""The market data bridge: subscriptions from the graph to a venue's market data client.

The market data actor forwards every subscription no source of the graph serves to
`data_endpoint(venue)` (once per stream, however many strategies want it). This actor
is registered there: it turns each command into a `DataSubscription` and a task makes
the client's subscribe or unsubscribe call, in order. A failed call is logged and
counted, never raised into the graph; the client keeps its own list and restores it
after a reconnect. What the client receives goes straight to the inbox, not through
here.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Literal

import anyio
import msgspec
from anyio.abc import TaskStatus

from engine.actor import Actor
from engine.events.market import (
    SubscribeBars,
    SubscribeOrderBook,
    SubscribeQuoteTicks,
    SubscribeTradeTicks,
    UnsubscribeMarketData,
)
from engine.ports import DataSubscription, MarketDataClient
from engine.topics import data_endpoint, segment

__all__ = ("DataBridgeStatistics", "MarketDataBridge")

logger = logging.getLogger(__name__)


class DataBridgeStatistics(msgspec.Struct, frozen=True, kw_only=True):
    venue: str
    subscribed: int
    unsubscribed: int
    failed: int
    pending: int


class MarketDataBridge(Actor):
    """Queue subscription changes from the graph; make them on the client from a task."""

    def __init__(self, client: MarketDataClient) -> None:
        super().__init__(f"data_{segment(client.venue)}")
        self._client = client
        self._venue = client.venue
        self._pending: deque[tuple[bool, DataSubscription]] = deque()
        self._ready = anyio.Event()
        self._subscribe_calls = self._unsubscribe_calls = self._failed = 0

    def on_start(self) -> None:
        self.register_endpoint(data_endpoint(self._venue))

    def on_subscribe_bars(self, command: SubscribeBars) -> None:
        bar_type = command.bar_type
        self._queue(True, DataSubscription(kind="bars", instrument_id=bar_type.instrument_id,
                                           timeframe=bar_type.timeframe))

    def on_subscribe_trade_ticks(self, command: SubscribeTradeTicks) -> None:
        self._queue(True, DataSubscription(kind="trades", instrument_id=command.instrument_id))

    def on_subscribe_quote_ticks(self, command: SubscribeQuoteTicks) -> None:
        self._queue(True, DataSubscription(kind="quotes", instrument_id=command.instrument_id))

    def on_subscribe_order_book(self, command: SubscribeOrderBook) -> None:
        self._queue(True, DataSubscription(kind="book", instrument_id=command.instrument_id,
                                           depth=command.depth))

    def on_unsubscribe_market_data(self, command: UnsubscribeMarketData) -> None:
        self._queue(False, DataSubscription(kind=command.stream,
                                            instrument_id=command.instrument_id,
                                            timeframe=command.timeframe))

    def _queue(self, subscribe: bool, subscription: DataSubscription) -> None:
        self._pending.append((subscribe, subscription))
        self._ready.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            while not self._pending:
                self._ready = anyio.Event()
                await self._ready.wait()
            subscribe, subscription = self._pending.popleft()
            action: Literal["subscribe", "unsubscribe"] = (
                "subscribe" if subscribe else "unsubscribe")
            try:
                if subscribe:
                    await self._client.subscribe(subscription)
                    self._subscribe_calls += 1
                else:
                    await self._client.unsubscribe(subscription)
                    self._unsubscribe_calls += 1
            except Exception as error:  # an adapter's failure must not end the node
                self._failed += 1
                logger.error("%s %s %s of %s at %s failed: %s: %s", action, subscription.kind,
                             subscription.timeframe or "", subscription.instrument_id,
                             self._venue, type(error).__name__, error)

    def statistics(self) -> DataBridgeStatistics:
        return DataBridgeStatistics(venue=self._venue, subscribed=self._subscribe_calls,
                                    unsubscribed=self._unsubscribe_calls, failed=self._failed,
                                    pending=len(self._pending))
