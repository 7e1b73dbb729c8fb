"""The core actors: market data, risk, order manager, portfolio, contingency (order lists)."""

from engine.actors.aggregation import TimeBarBuilder
from engine.actors.contingency import (
    ContingencyActor,
    ContingencySnapshot,
    ContingencyStatistics,
    OrderListState,
)
from engine.actors.emulator import (
    EMULATED_TYPES,
    EmulatorSnapshot,
    EmulatorStatistics,
    HeldOrder,
    OrderEmulator,
)
from engine.actors.market_data import MarketDataActor, MarketDataStatistics
from engine.actors.orders import OrderManager, OrderManagerStatistics
from engine.actors.portfolio import (
    EQUITY_TIMER,
    FillTotals,
    Portfolio,
    PortfolioConfig,
    PortfolioStatistics,
)
from engine.actors.positions import Position
from engine.actors.retention import Retaining, RetentionConfig, apply_retention
from engine.actors.risk import RiskActor, RiskConfig, RiskStatistics

__all__ = (
    "EQUITY_TIMER",
    "ContingencyActor",
    "ContingencySnapshot",
    "ContingencyStatistics",
    "EMULATED_TYPES",
    "EmulatorSnapshot",
    "EmulatorStatistics",
    "HeldOrder",
    "OrderEmulator",
    "FillTotals",
    "MarketDataActor",
    "MarketDataStatistics",
    "OrderManager",
    "OrderManagerStatistics",
    "OrderListState",
    "Portfolio",
    "PortfolioConfig",
    "PortfolioStatistics",
    "Position",
    "Retaining",
    "RetentionConfig",
    "RiskActor",
    "RiskConfig",
    "RiskStatistics",
    "TimeBarBuilder",
    "apply_retention",
)
