"""Live trading through ccxt.pro: Binance spot market data, order entry and account state.

The adapter implements the engine's three ports (`engine.ports`):
`CcxtExecutionClient` (orders, fills, reconciliation queries, with a REST backstop
behind the private stream), `CcxtMarketDataClient` (trades, bars, quotes and books
from ccxt.pro's `watch_*` streams, reconnecting and resubscribing by itself) and
`CcxtInstrumentProvider` (instruments from `load_markets`). `make_exchange` builds the
ccxt object from a `CcxtConfig`, credentials only from the environment. See
docs/live-ccxt.md.
"""

from adapters.ccxt.backoff import Backoff
from adapters.ccxt.config import CcxtConfig, CcxtVenueEntry
from adapters.ccxt.errors import AuthenticationFailed, Outcome, classify
from adapters.ccxt.exchange import TradebusBinance, credentials, make_exchange
from adapters.ccxt.execution import CcxtExecutionClient, CcxtExecutionStatistics
from adapters.ccxt.ids import exchange_client_id
from adapters.ccxt.instruments import CcxtInstrumentProvider
from adapters.ccxt.market_data import CcxtMarketDataClient, CcxtMarketDataStatistics
from adapters.ccxt.tracker import OrderTracker, TrackedOrder

__all__ = (
    "AuthenticationFailed",
    "Backoff",
    "CcxtConfig",
    "CcxtExecutionClient",
    "CcxtExecutionStatistics",
    "CcxtInstrumentProvider",
    "CcxtMarketDataClient",
    "CcxtMarketDataStatistics",
    "CcxtVenueEntry",
    "OrderTracker",
    "Outcome",
    "TrackedOrder",
    "TradebusBinance",
    "classify",
    "credentials",
    "exchange_client_id",
    "make_exchange",
)
