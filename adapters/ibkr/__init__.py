"""Live trading through Interactive Brokers' TWS or IB Gateway, over ib_async.

`IbkrExecutionClient` (order entry, account queries), `IbkrMarketDataClient` (quotes,
trades, real-time and historical bars) and `IbkrInstrumentProvider` (instruments from
contract details) each keep an `IbkrConnection`, which reconnects with backoff itself.
`IbkrVenueConfig` and `IbkrFeedConfig` are the `kind = "ibkr"` config entries.
"""

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
    "IbkrFeedConfig",
    "IbkrVenueConfig",
    "QualifiedContract",
    "TradingSession",
    "instrument_from_details",
    "make_contract",
    "parse_trading_hours",
)
