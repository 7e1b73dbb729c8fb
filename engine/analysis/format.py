"""Human-readable rows of a :class:`~engine.analysis.report.PerformanceReport`.

Formatting is kept apart from computation so the report itself stays plain numbers (for
JSON, comparisons and tests) and the CLI only has to lay out ``(label, value)`` pairs. Rules:
fractions as percentages with two decimals, money with two decimals and thousands
separators, ratios with two decimals, timestamps as UTC, and ``"n/a"`` for ``None``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec

from engine.analysis.report import PerformanceReport

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOT_AVAILABLE = "n/a"


def format_timestamp(ts_ns: int) -> str:
    """``YYYY-MM-DD HH:MM:SS UTC``, from integer nanoseconds without float rounding."""
    moment = _EPOCH + timedelta(microseconds=ts_ns // 1_000)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def format_percent(fraction: float) -> str:
    """0.1234 -> ``"12.34%"``."""
    return f"{fraction * 100.0:.2f}%"


def format_money(amount: float) -> str:
    """1234.5 -> ``"1,234.50"``."""
    return f"{amount:,.2f}"


def format_number(value: float) -> str:
    """A ratio or a duration, two decimals: 1.5 -> ``"1.50"``."""
    return f"{value:.2f}"


def format_count(value: float) -> str:
    """A whole count: 12 -> ``"12"``."""
    return f"{int(value):d}"


_FORMATTERS: dict[str, Callable[[float], str]] = {
    "percent": format_percent,
    "money": format_money,
    "number": format_number,
    "count": format_count,
}

# (label, PerformanceReport field, kind); kind "timestamp" or a key of _FORMATTERS.
REPORT_LAYOUT: tuple[tuple[str, str, str], ...] = (
    ("Start", "start_ns", "timestamp"),
    ("End", "end_ns", "timestamp"),
    ("Duration (days)", "duration_days", "number"),
    ("Periods", "period_count", "count"),
    ("Periods per year", "periods_per_year", "number"),
    ("Starting equity", "starting_equity", "money"),
    ("Final equity", "final_equity", "money"),
    ("Net profit", "net_profit", "money"),
    ("Total return", "total_return", "percent"),
    ("Annualized return", "annualized_return", "percent"),
    ("CAGR", "cagr", "percent"),
    ("Annualized volatility", "annualized_volatility", "percent"),
    ("Max drawdown", "max_drawdown", "percent"),
    ("Max drawdown duration (days)", "max_drawdown_duration_days", "number"),
    ("Max drawdown duration (periods)", "max_drawdown_duration_periods", "count"),
    ("Value at risk 95%", "value_at_risk_95", "percent"),
    ("Conditional value at risk 95%", "conditional_value_at_risk_95", "percent"),
    ("Sharpe ratio", "sharpe_ratio", "number"),
    ("Sortino ratio", "sortino_ratio", "number"),
    ("Calmar ratio", "calmar_ratio", "number"),
    ("Omega ratio", "omega_ratio", "number"),
    ("Tail ratio", "tail_ratio", "number"),
    ("Skewness", "skewness", "number"),
    ("Excess kurtosis", "kurtosis", "number"),
    ("Best period return", "best_period_return", "percent"),
    ("Worst period return", "worst_period_return", "percent"),
    ("Trades", "trade_count", "count"),
    ("Winning trades", "winning_trades", "count"),
    ("Losing trades", "losing_trades", "count"),
    ("Breakeven trades", "breakeven_trades", "count"),
    ("Win rate", "win_rate", "percent"),
    ("Gross profit", "gross_profit", "money"),
    ("Gross loss", "gross_loss", "money"),
    ("Profit factor", "profit_factor", "number"),
    ("Average win", "average_win", "money"),
    ("Average loss", "average_loss", "money"),
    ("Largest win", "largest_win", "money"),
    ("Largest loss", "largest_loss", "money"),
    ("Expectancy", "expectancy", "money"),
    ("Payoff ratio", "payoff_ratio", "number"),
    ("Average trade duration (hours)", "average_trade_duration_hours", "number"),
    ("Max consecutive wins", "max_consecutive_wins", "count"),
    ("Max consecutive losses", "max_consecutive_losses", "count"),
    ("Exposure", "exposure", "percent"),
    ("Fills", "fills", "count"),
    ("Total fees", "total_fees", "money"),
    ("Risk-free rate", "risk_free_rate", "percent"),
)


def report_rows(report: PerformanceReport) -> list[tuple[str, str]]:
    """``(label, formatted value)`` for every report field, in :data:`REPORT_LAYOUT` order."""
    values = msgspec.structs.asdict(report)
    rows: list[tuple[str, str]] = []
    for label, field, kind in REPORT_LAYOUT:
        value = values[field]
        if value is None:
            text = NOT_AVAILABLE
        elif kind == "timestamp":
            text = format_timestamp(value)
        else:
            text = _FORMATTERS[kind](value)
        rows.append((label, text))
    return rows
