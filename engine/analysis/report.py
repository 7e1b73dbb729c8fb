"""The backtest performance report: one pure function from results to metrics.

:func:`compute_report` takes what a backtest produced (an equity curve, closed trades and a
few totals) and returns a :class:`PerformanceReport`. No I/O, no clock, no randomness: the
same inputs always give the same report, so reports can be compared across runs and
stored next to the run that produced them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

import msgspec

from engine.analysis.returns import (
    NANOSECONDS_PER_DAY,
    NANOSECONDS_PER_YEAR,
    ROUNDING_NOISE,
    annualization_factor,
    central_moment,
    check_finite,
    check_timestamps,
    conditional_value_at_risk,
    downside_deviation,
    max_drawdown,
    max_drawdown_duration,
    mean,
    quantile,
    sample_standard_deviation,
    simple_returns,
    value_at_risk,
)
from engine.analysis.trades import ClosedTrade, time_in_market_ns, trade_statistics


class PerformanceReport(msgspec.Struct, frozen=True, kw_only=True):
    """Performance metrics of one backtest. Fractions are plain (0.05 means 5 %).

    ``None`` marks a metric whose definition is undefined for these inputs (too few
    samples, a zero denominator): JSON cannot carry infinity or NaN, and a made-up number
    would be read as real. Notation: ``e[0..n]`` is the equity curve sampled at ``t[i]``
    (ns), ``r[i] = e[i + 1] / e[i] - 1`` the ``n`` per-period returns, ``P`` the periods
    per year, ``rf = risk_free_rate / P`` the per-period risk-free rate, ``Y = (t[-1] - t[0])
    / 365.25 days`` the span in years. Period statistics use the curve alone; total return
    and CAGR measure from ``starting_equity``, which may differ from ``e[0]``.

    * start_ns, end_ns: ``t[0]``, ``t[-1]`` (None for an empty curve); duration_days: their
      difference in days. period_count: ``n``. periods_per_year: ``P`` as given, else
      365.25 days / the median sampling interval (None with fewer than two samples).
    * final_equity: ``e[-1]`` (``starting_equity`` for an empty curve); net_profit:
      ``final_equity - starting_equity``; total_return: ``final_equity / starting_equity - 1``.
    * annualized_return: arithmetic, ``mean(r) * P``. cagr: geometric, ``(final_equity /
      starting_equity) ** (1 / Y) - 1``; None when ``Y`` is 0, final equity is negative, or
      the result overflows. annualized_volatility: ``stdev(r) * sqrt(P)`` with the sample
      standard deviation (divided by ``n - 1``); needs two returns.
    * max_drawdown: ``max((peak - e) / peak)`` over the running peak, a positive fraction.
      max_drawdown_duration_days / _periods: the longest time from a peak to the first
      sample back at or above it, or to the end of the curve if it never recovers
      (see :class:`engine.analysis.returns.DrawdownDuration`).
    * value_at_risk_95: ``-q05`` where ``q05`` is the 5 % quantile of ``r`` with linear
      interpolation (numpy's default), a loss as a positive fraction (negative if even
      that quantile is a gain). conditional_value_at_risk_95: ``-mean(r[r <= q05])``.
    * sharpe_ratio: ``(mean(r) - rf) / stdev(r) * sqrt(P)``. sortino_ratio: ``(mean(r) - rf)
      / DD * sqrt(P)`` with downside deviation ``DD = sqrt(sum(min(r, 0) ** 2) / n)``
      (target 0, over all returns). Both None when the deviation is zero (at most
      :data:`~engine.analysis.returns.ROUNDING_NOISE`). calmar_ratio: ``cagr /
      max_drawdown`` (None without a drawdown). omega_ratio: ``sum(max(r, 0)) /
      sum(max(-r, 0))``, threshold 0 (None without a losing period). tail_ratio: ``|q95| /
      |q05|`` (None if ``q05`` is 0).
    * skewness: ``m3 / m2 ** 1.5``; kurtosis: excess, ``m4 / m2 ** 2 - 3``, with population
      central moments ``mk = mean((r - mean(r)) ** k)`` (scipy's default, biased
      estimators); None when ``sqrt(m2)`` is zero as above. best/worst_period_return: max/min.
    * trade_count ... max_consecutive_losses: see
      :class:`engine.analysis.trades.TradeStatistics` (wins and losses by net pnl after fees,
      loss amounts negative).
    * exposure: fraction of ``[t[0], t[-1]]`` spent in the market: ``exposure_ns`` if given,
      else the union of the trades' open intervals, divided by the span (None if it is 0).
    * fills, total_fees, risk_free_rate: the inputs, echoed so the report stands alone.
    """

    start_ns: int | None
    end_ns: int | None
    duration_days: float
    period_count: int
    periods_per_year: float | None
    starting_equity: float
    final_equity: float
    net_profit: float
    total_return: float
    annualized_return: float | None
    cagr: float | None
    annualized_volatility: float | None
    max_drawdown: float
    max_drawdown_duration_days: float
    max_drawdown_duration_periods: int
    value_at_risk_95: float | None
    conditional_value_at_risk_95: float | None
    sharpe_ratio: float | None
    sortino_ratio: float | None
    calmar_ratio: float | None
    omega_ratio: float | None
    tail_ratio: float | None
    skewness: float | None
    kurtosis: float | None
    best_period_return: float | None
    worst_period_return: float | None
    trade_count: int
    winning_trades: int
    losing_trades: int
    breakeven_trades: int
    win_rate: float | None
    gross_profit: float
    gross_loss: float
    profit_factor: float | None
    average_win: float | None
    average_loss: float | None
    largest_win: float | None
    largest_loss: float | None
    expectancy: float | None
    payoff_ratio: float | None
    average_trade_duration_hours: float | None
    max_consecutive_wins: int
    max_consecutive_losses: int
    exposure: float | None
    fills: int
    total_fees: float
    risk_free_rate: float


def _check_inputs(
    starting_equity: float, fills: int, total_fees: float, risk_free_rate: float
) -> None:
    if not math.isfinite(starting_equity) or starting_equity <= 0.0:
        raise ValueError(f"starting_equity {starting_equity!r}: returns need a positive start")
    if isinstance(fills, bool) or not isinstance(fills, int) or fills < 0:
        raise ValueError(f"fills {fills!r}: must be a non-negative integer")
    if not math.isfinite(total_fees):
        raise ValueError(f"total_fees {total_fees!r}: must be finite")
    if not math.isfinite(risk_free_rate):
        raise ValueError(f"risk_free_rate {risk_free_rate!r}: must be finite")


def _cagr(growth: float, years: float) -> float | None:
    """``growth ** (1 / years) - 1``, or None when undefined or beyond float range."""
    if years <= 0.0 or growth < 0.0:
        return None
    try:
        return float(growth ** (1.0 / years) - 1.0)
    except OverflowError:
        return None


def _exposure(
    trades: Sequence[ClosedTrade], timestamps: Sequence[int], exposure_ns: int | None
) -> float | None:
    span_ns = timestamps[-1] - timestamps[0] if timestamps else 0
    if exposure_ns is not None:
        if isinstance(exposure_ns, bool) or not isinstance(exposure_ns, int) or exposure_ns < 0:
            raise ValueError(f"exposure_ns {exposure_ns!r}: must be a non-negative integer")
        if exposure_ns > span_ns:
            raise ValueError(f"exposure_ns {exposure_ns}: exceeds the curve's span {span_ns} ns")
    if span_ns == 0:
        return None
    if exposure_ns is None:
        exposure_ns = time_in_market_ns(trades, timestamps[0], timestamps[-1])
    return exposure_ns / span_ns


def compute_report(
    equity_curve: Sequence[tuple[int, float | Decimal]],
    trades: Sequence[ClosedTrade],
    *,
    starting_equity: float,
    fills: int,
    total_fees: float,
    periods_per_year: float | None = None,
    risk_free_rate: float = 0.0,
    exposure_ns: int | None = None,
) -> PerformanceReport:
    """Compute every metric of :class:`PerformanceReport` (definitions there).

    ``equity_curve`` is ``(ts_ns, equity)`` pairs in strictly increasing time; equity may be
    Decimal and is converted to float here. ``periods_per_year`` overrides the annualization
    factor inferred from the sampling interval (pass 252 for daily stock bars);
    ``risk_free_rate`` is annual, simple. Raises ValueError on invalid input: a non-finite
    number, unordered timestamps, a non-positive first equity or a later non-positive equity
    followed by more samples (returns from zero equity are undefined).
    """
    _check_inputs(starting_equity, fills, total_fees, risk_free_rate)
    timestamps = [ts for ts, _ in equity_curve]
    equity = [float(value) for _, value in equity_curve]
    check_timestamps(timestamps)
    check_finite(equity, "equity")
    returns = simple_returns(equity)
    drawdown = max_drawdown(equity)
    drawdown_duration = max_drawdown_duration(timestamps, equity)
    periods = None
    if periods_per_year is not None or len(timestamps) >= 2:
        periods = annualization_factor(timestamps, periods_per_year=periods_per_year)
    span_ns = timestamps[-1] - timestamps[0] if timestamps else 0
    final_equity = equity[-1] if equity else starting_equity
    cagr = _cagr(final_equity / starting_equity, span_ns / NANOSECONDS_PER_YEAR)

    annualized_return: float | None = None
    volatility: float | None = None
    sharpe: float | None = None
    sortino: float | None = None
    skewness: float | None = None
    kurtosis: float | None = None
    value_at_risk_95: float | None = None
    expected_shortfall_95: float | None = None
    omega: float | None = None
    tail: float | None = None
    best: float | None = None
    worst: float | None = None
    if returns and periods is not None:
        average = mean(returns)
        excess = average - risk_free_rate / periods
        annualized_return = average * periods
        best, worst = max(returns), min(returns)
        value_at_risk_95 = value_at_risk(returns, 0.95)
        expected_shortfall_95 = conditional_value_at_risk(returns, 0.95)
        if len(returns) >= 2:
            deviation = sample_standard_deviation(returns)
            volatility = deviation * math.sqrt(periods)
            if deviation > ROUNDING_NOISE:
                sharpe = excess / deviation * math.sqrt(periods)
        downside = downside_deviation(returns)
        if downside > ROUNDING_NOISE:
            sortino = excess / downside * math.sqrt(periods)
        second = central_moment(returns, 2)
        if math.sqrt(second) > ROUNDING_NOISE:
            skewness = central_moment(returns, 3) / second**1.5
            kurtosis = central_moment(returns, 4) / second**2 - 3.0
        losses = math.fsum(max(-r, 0.0) for r in returns)
        if losses > 0.0:
            omega = math.fsum(max(r, 0.0) for r in returns) / losses
        lower_tail = quantile(returns, 0.05)
        if lower_tail != 0.0:
            tail = abs(quantile(returns, 0.95)) / abs(lower_tail)

    stats = trade_statistics(trades)
    return PerformanceReport(
        start_ns=timestamps[0] if timestamps else None,
        end_ns=timestamps[-1] if timestamps else None,
        duration_days=span_ns / NANOSECONDS_PER_DAY,
        period_count=len(returns),
        periods_per_year=periods,
        starting_equity=starting_equity,
        final_equity=final_equity,
        net_profit=final_equity - starting_equity,
        total_return=final_equity / starting_equity - 1.0,
        annualized_return=annualized_return,
        cagr=cagr,
        annualized_volatility=volatility,
        max_drawdown=drawdown,
        max_drawdown_duration_days=drawdown_duration.duration_ns / NANOSECONDS_PER_DAY,
        max_drawdown_duration_periods=drawdown_duration.duration_samples,
        value_at_risk_95=value_at_risk_95,
        conditional_value_at_risk_95=expected_shortfall_95,
        sharpe_ratio=sharpe,
        sortino_ratio=sortino,
        calmar_ratio=cagr / drawdown if cagr is not None and drawdown > 0.0 else None,
        omega_ratio=omega,
        tail_ratio=tail,
        skewness=skewness,
        kurtosis=kurtosis,
        best_period_return=best,
        worst_period_return=worst,
        **msgspec.structs.asdict(stats),
        exposure=_exposure(trades, timestamps, exposure_ns),
        fills=fills,
        total_fees=total_fees,
        risk_free_rate=risk_free_rate,
    )
