"""Live trading through ccxt.pro: Binance spot market data, order entry and account state.

The adapter implements the engine's three ports (`engine.ports`):
`CcxtExecutionClient` (orders, fills, reconciliation queries, with a REST backstop
behind the private stream), `CcxtMarketDataClient` (trades, bars, quotes and books
from ccxt.pro's `watch_*` streams, reconnecting and resubscribing by itself) and
`CcxtInstrumentProvider` (instruments from `load_markets`); `CcxtFeedBinding` is a live
feed for the node (`[[feeds]] kind = "ccxt"`), `CcxtVenueBinding` a live venue
(`[[venues]] kind = "ccxt"`). `make_exchange` builds the ccxt object
from a `CcxtConfig`, credentials only from the environment. See docs/live-ccxt.md.

Only the config Structs are imported with the package; every other name on first use
(PEP 562 `__getattr__`): ccxt takes seconds to import, and the registry, which every
`tradebus` command loads, imports this package for the config types.
"""

from __future__ import annotations

import importlib
from typing import Any

from adapters.ccxt.config import CcxtConfig, CcxtConnection, CcxtFeedEntry, CcxtVenueEntry

__all__ = (
    "AuthenticationFailed",
    "Backoff",
    "Backstop",
    "CcxtConfig",
    "CcxtConnection",
    "CcxtExecutionClient",
    "CcxtExecutionStatistics",
    "CcxtFeedBinding",
    "CcxtFeedEntry",
    "CcxtInstrumentProvider",
    "CcxtMarketDataClient",
    "CcxtMarketDataStatistics",
    "CcxtVenueBinding",
    "CcxtVenueEntry",
    "CommandRefused",
    "FeedLocation",
    "OrderTracker",
    "Outcome",
    "RequestPolicy",
    "TrackedOrder",
    "TradebusBinance",
    "classify",
    "credentials",
    "exchange_client_id",
    "make_ccxt_feed",
    "make_exchange",
)

_LAZY = {
    "Backoff": "adapters.ccxt.backoff",
    "CcxtFeedBinding": "adapters.ccxt.feed",
    "FeedLocation": "adapters.ccxt.feed",
    "make_ccxt_feed": "adapters.ccxt.feed",
    "exchange_client_id": "adapters.ccxt.ids",
    "OrderTracker": "adapters.ccxt.tracker",
    "TrackedOrder": "adapters.ccxt.tracker",
    "CcxtVenueBinding": "adapters.ccxt.binding",
    "AuthenticationFailed": "adapters.ccxt.errors",
    "Outcome": "adapters.ccxt.errors",
    "classify": "adapters.ccxt.errors",
    "Backstop": "adapters.ccxt.backstop",
    "CommandRefused": "adapters.ccxt.retry",
    "RequestPolicy": "adapters.ccxt.retry",
    "TradebusBinance": "adapters.ccxt.exchange",
    "credentials": "adapters.ccxt.exchange",
    "make_exchange": "adapters.ccxt.exchange",
    "CcxtExecutionClient": "adapters.ccxt.execution",
    "CcxtExecutionStatistics": "adapters.ccxt.execution",
    "CcxtInstrumentProvider": "adapters.ccxt.instruments",
    "CcxtMarketDataClient": "adapters.ccxt.market_data",
    "CcxtMarketDataStatistics": "adapters.ccxt.market_data",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'adapters.ccxt' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
