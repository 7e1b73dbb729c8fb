"""Live trading through Interactive Brokers' TWS or IB Gateway, over ib_async.

`IbkrExecutionClient` (order entry, account queries), `IbkrMarketDataClient` (quotes,
trades, real-time and historical bars) and `IbkrInstrumentProvider` (instruments from
contract details) each keep an `IbkrConnection`, which reconnects with backoff itself.
`IbkrVenueConfig` and `IbkrFeedConfig` are the `kind = "ibkr"` config entries;
`IbkrVenueBinding` and `IbkrFeedBinding` are what the trading node runs of them.
"""

from adapters.ibkr.binding import IbkrVenueBinding
from adapters.ibkr.config import (
    BackoffConfig,
    IbkrConnectionConfig,
    IbkrContractConfig,
    IbkrFeedConfig,
    IbkrVenueConfig,
)
from adapters.ibkr.connection import Backoff, ConnectionStatistics, IbkrConnection
from adapters.ibkr.contracts import (
    ContractMap,
    QualifiedContract,
    TradingSession,
    instrument_from_details,
    make_contract,
    parse_trading_hours,
)
from adapters.ibkr.execution import IbkrExecutionClient, IbkrExecutionStatistics
from adapters.ibkr.feed import IbkrFeedBinding
from adapters.ibkr.instruments import IbkrInstrumentProvider
from adapters.ibkr.market_data import (
    IbkrMarketDataClient,
    IbkrMarketDataStatistics,
    bar_size_setting,
)

__all__ = (
    "Backoff",
    "BackoffConfig",
    "ConnectionStatistics",
    "ContractMap",
    "IbkrConnection",
    "IbkrConnectionConfig",
    "IbkrContractConfig",
    "IbkrExecutionClient",
    "IbkrExecutionStatistics",
    "IbkrFeedBinding",
    "IbkrFeedConfig",
    "IbkrInstrumentProvider",
    "IbkrMarketDataClient",
    "IbkrMarketDataStatistics",
    "IbkrVenueBinding",
    "IbkrVenueConfig",
    "QualifiedContract",
    "TradingSession",
    "bar_size_setting",
    "instrument_from_details",
    "make_contract",
    "parse_trading_hours",
)
