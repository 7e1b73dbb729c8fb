"""Backstop: the REST check of orders in flight, because private streams miss updates.

Run after every reconnect of the private stream and every `backstop_interval_s`. For
each order the tracker has in flight, at most `backstop_concurrency` at once:
`fetch_order` (by venue order id, or by the exchange client id of a submit in doubt),
then `fetch_my_trades` of each leg whose counted fills were not all delivered. What it
learns goes to the tracker like any other news, so nothing is delivered twice. A submit
in doubt that is still not found once a receive window (plus a request timeout) has
passed never arrived: the exchange drops a signed request that old, so it is rejected
(a cancel-replace's new leg that never arrived: the order is canceled, since its old
leg was).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import anyio
import ccxt

from adapters.ccxt.config import CcxtConfig
from adapters.ccxt.exchange import TradebusBinance
from adapters.ccxt.tracker import OrderTracker, TrackedOrder
from engine.errors import VenueUnavailable

__all__ = ("Backstop",)

logger = logging.getLogger(__name__)

Query = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]
"""Send one query through the client's request policy."""


class Backstop:
    """See the module docstring. Counters: `runs`, `requests`."""

    def __init__(self, config: CcxtConfig, exchange: TradebusBinance, tracker: OrderTracker,
                 query: Query) -> None:
        self._config = config
        self._exchange = exchange
        self._tracker = tracker
        self._query = query
        self._limiter = anyio.CapacityLimiter(config.backstop_concurrency)
        self.runs = self.requests = 0

    async def run_once(self) -> None:
        """Check every order in flight now; returns when all checks are done."""
        self.runs += 1
        async with anyio.create_task_group() as tasks:
            for order in self._tracker.in_flight():
                tasks.start_soon(self._check, order)

    async def _check(self, order: TrackedOrder) -> None:
        async with self._limiter:
            try:
                await self._check_now(order)
            except (VenueUnavailable, ccxt.ExchangeError) as error:
                logger.warning("venue %s: backstop of %s failed (%s); next round retries",
                               self._config.venue, order.client_order_id, error)

    async def _check_now(self, order: TrackedOrder) -> None:
        symbol = order.instrument.symbol
        if not order.closed:
            self.requests += 1
            venue_order_id = order.venue_order_id
            params = {} if venue_order_id else {
                "origClientOrderId": order.exchange_client_ids[-1]}
            try:
                raw = await self._query(lambda: self._exchange.fetch_order(
                    venue_order_id, symbol, params))
            except ccxt.OrderNotFound:
                self._settle_missing(order)
                return
            self._tracker.on_order(raw)
        for leg in list(order.venue_order_ids):
            delivered = order.filled - order.filled_before(leg)
            if order.leg_filled.get(leg, Decimal(0)) > delivered:
                self.requests += 1
                trades = await self._query(lambda leg=leg: self._exchange.fetch_my_trades(
                    symbol, None, 1000, {"orderId": leg}))
                for trade in trades:
                    self._tracker.on_trade(trade)
        self._tracker.settle(order)

    def _settle_missing(self, order: TrackedOrder) -> None:
        window = self._config.recv_window_s + self._config.request_timeout_s
        now = anyio.current_time()
        if order.new_terms is not None:  # a cancel-replace's new leg, in doubt
            waited = now - order.new_terms[2]
            if waited > window:
                logger.warning("venue %s: the new leg of %s's modify never arrived (%.1f s); "
                               "its old leg is canceled, so the order is", self._config.venue,
                               order.client_order_id, waited)
                self._tracker.close_replaced(order)
            return
        if order.in_doubt_since is None or order.accepted:
            return
        waited = now - order.in_doubt_since
        if waited > window:
            self._tracker.reject(order, f"submit never reached venue {self._config.venue}: "
                                        f"not found {waited:.1f} s after it was sent (past "
                                        f"the {self._config.recv_window_s} s receive window)")
