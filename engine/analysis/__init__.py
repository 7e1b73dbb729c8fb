"""Backtest performance analysis: pure functions from an equity curve and trades to metrics."""

from __future__ import annotations

from engine.analysis.format import REPORT_LAYOUT, report_rows
from engine.analysis.report import PerformanceReport, compute_report
from engine.analysis.returns import (
    NANOSECONDS_PER_DAY,
    NANOSECONDS_PER_YEAR,
    DrawdownDuration,
    annualization_factor,
    conditional_value_at_risk,
    downside_deviation,
    drawdown_series,
    max_drawdown,
    max_drawdown_duration,
    quantile,
    simple_returns,
    value_at_risk,
)
from engine.analysis.trades import (
    ClosedTrade,
    TradeStatistics,
    time_in_market_ns,
    trade_statistics,
)

__all__ = (
    "NANOSECONDS_PER_DAY",
    "NANOSECONDS_PER_YEAR",
    "REPORT_LAYOUT",
    "ClosedTrade",
    "DrawdownDuration",
    "PerformanceReport",
    "TradeStatistics",
    "annualization_factor",
    "compute_report",
    "conditional_value_at_risk",
    "downside_deviation",
    "drawdown_series",
    "max_drawdown",
    "max_drawdown_duration",
    "quantile",
    "report_rows",
    "simple_returns",
    "time_in_market_ns",
    "trade_statistics",
    "value_at_risk",
)
