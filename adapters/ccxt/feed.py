"""The `ccxt` feed kind: one instrument's live market data as a node feed binding.

A `[[feeds]] kind = "ccxt"` entry streams `stream` ("bars" of `timeframe`, "trades",
"quotes" or "book") of `instrument_id` through a `CcxtMarketDataClient`, stamping
`ts_init` with the node's clock. It needs no credentials (public streams), so a paper
session (a `kind = "sim"` venue) can run on it. A live feed never finishes and has no
first event time known in advance; after a restart it resumes with what the exchange
sends next (`resume_after` is ignored: the market does not replay).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

import anyio

from adapters.ccxt.config import CcxtFeedEntry
from adapters.ccxt.parsing import symbol_of
from engine.errors import ConfigError
from engine.events.market import BarType, timeframe_ns
from engine.runtime import Deliver, FeedClock

if TYPE_CHECKING:
    from adapters.ccxt.market_data import CcxtMarketDataClient, CcxtMarketDataStatistics

__all__ = ("CcxtFeedBinding", "FeedLocation", "make_ccxt_feed")

logger = logging.getLogger(__name__)


class FeedLocation(Protocol):
    """Where in which file the entry is (the composition root's feed context has both)."""

    @property
    def at(self) -> str: ...

    @property
    def file(self) -> str: ...


class CcxtFeedBinding:
    """One instrument's live stream, as the node's `FeedBinding` (module docstring)."""

    def __init__(self, config: CcxtFeedEntry) -> None:
        self.config = config
        self._finished = anyio.Event()
        self._client: CcxtMarketDataClient | None = None

    @property
    def instrument_id(self) -> str:
        return self.config.instrument_id

    @property
    def bar_type(self) -> BarType | None:
        if self.config.stream != "bars":
            return None
        return BarType(instrument_id=self.config.instrument_id, timeframe=self.config.timeframe)

    @property
    def finished(self) -> anyio.Event:
        """Never set: a live feed does not end."""
        return self._finished

    def first_event_time(self) -> int | None:
        return None

    async def run(
        self, *, clock: FeedClock, deliver: Deliver, resume_after: tuple[int, int] | None
    ) -> None:
        """Stream until cancelled (reconnecting by itself)."""
        # ccxt is imported here, not at module level: it takes seconds to import and the
        # registry (every `tradebus` command) imports this module.
        from adapters.ccxt.exchange import make_exchange
        from adapters.ccxt.market_data import CcxtMarketDataClient

        if resume_after is not None:
            logger.info("feed %s: live, resumes with what the exchange sends next",
                        self.instrument_id)
        client = self._client = CcxtMarketDataClient(
            self.config, make_exchange(self.config), deliver, now_ns=clock.timestamp_ns)
        await client.subscribe(self.config.subscription)
        await client.run()

    def statistics(self) -> CcxtMarketDataStatistics | None:
        """The running client's counters (None before it runs)."""
        return None if self._client is None else self._client.statistics()


def make_ccxt_feed(config: CcxtFeedEntry, context: FeedLocation) -> CcxtFeedBinding:
    """Check the entry and build its binding (nothing connects until it runs).

    Raises:
        ConfigError: a malformed `instrument_id` or `timeframe`, or an unsupported exchange.
    """
    at, file = context.at, context.file
    try:
        symbol_of(config.instrument_id)
    except ValueError as error:
        raise ConfigError(f"{at}.instrument_id", str(error), file=file) from error
    if config.stream == "bars":
        try:
            timeframe_ns(config.timeframe)
        except ValueError as error:
            raise ConfigError(f"{at}.timeframe", str(error), file=file) from error
    if config.exchange_id != "binance":
        raise ConfigError(f"{at}.exchange_id", f"{config.exchange_id!r}: only 'binance' is "
                          "supported", file=file)
    return CcxtFeedBinding(config)
