"""Live trading through Interactive Brokers' TWS or IB Gateway, over ib_async.

`IbkrExecutionClient` (order entry, account queries), `IbkrMarketDataClient` (quotes,
trades, real-time and historical bars) and `IbkrInstrumentProvider` (instruments from
contract details) each keep an `IbkrConnection`, which reconnects with backoff itself.
`IbkrVenueConfig` and `IbkrFeedConfig` are the `kind = "ibkr"` config entries;
`IbkrVenueBinding` and `IbkrFeedBinding` are what the trading node runs of them.

The configs are imported with the package; every name that needs ib_async is imported
on first use (PEP 562 `__getattr__`), as in `adapters.ccxt`: the adapter registry, which
every `tradebus` command loads, reads the config types and should not pay for ib_async.
"""

from __future__ import annotations

import importlib
from typing import Any

from adapters.ibkr.config import (
    BackoffConfig,
    IbkrConnectionConfig,
    IbkrContractConfig,
    IbkrFeedConfig,
    IbkrVenueConfig,
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

_LAZY = {
    "IbkrVenueBinding": "adapters.ibkr.binding",
    "Backoff": "adapters.ibkr.connection",
    "ConnectionStatistics": "adapters.ibkr.connection",
    "IbkrConnection": "adapters.ibkr.connection",
    "ContractMap": "adapters.ibkr.contracts",
    "QualifiedContract": "adapters.ibkr.contracts",
    "TradingSession": "adapters.ibkr.contracts",
    "instrument_from_details": "adapters.ibkr.contracts",
    "make_contract": "adapters.ibkr.contracts",
    "parse_trading_hours": "adapters.ibkr.contracts",
    "IbkrExecutionClient": "adapters.ibkr.execution",
    "IbkrExecutionStatistics": "adapters.ibkr.execution",
    "IbkrFeedBinding": "adapters.ibkr.feed",
    "IbkrInstrumentProvider": "adapters.ibkr.instruments",
    "IbkrMarketDataClient": "adapters.ibkr.market_data",
    "IbkrMarketDataStatistics": "adapters.ibkr.market_data",
    "bar_size_setting": "adapters.ibkr.market_data",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'adapters.ibkr' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
