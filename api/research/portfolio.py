"""`tradebus portfolio`: every strategy of the file in one backtest, capital allocated.

1. The data is staged and cut in two: calibration (the first `[allocation] calibration`
   of the bars) and evaluation (the rest).
2. Each strategy runs alone on the calibration window (on the executor). Its equity
   changes divided by the notional it traded (its configured quantity times the first
   close of its instrument) are its returns per unit of notional.
3. The allocator (`engine.research`: equal, inverse volatility, risk parity,
   mean-variance) turns those returns into weights, and the sizing rule (fixed
   fractional, Kelly, volatility target) into a notional per strategy: `capital` x
   weight x multiplier, converted to the strategy's `quantity` at the first evaluation
   close and rounded down to the instrument's size increment.
4. One backtest runs every strategy together on the evaluation window with those
   quantities (and each one alone, for the realized correlation).

Reported: the weights, risk contributions, quantities, the strategies' correlation
(calibration and evaluation), ex-ante parametric VaR and the combined run's historical
VaR and CVaR (its report). Strategies need a `quantity` parameter (both shipped do).
"""

from __future__ import annotations

import copy
import math
from decimal import ROUND_DOWN, Decimal
from typing import Any

import msgspec

from adapters.data import SqliteBarStore
from api.research.config import AllocationConfig, Objective
from api.research.data import StagedData, segment_window, stage
from api.research.executors import TrialExecutor
from api.research.optimize import ResearchJob
from api.research.space import Window, trial_config
from api.research.trial import TrialTask
from api.research.windowed import stitch_results
from engine.backtest import BacktestResult
from engine.domain.ids import instrument_id
from engine.errors import ConfigError
from engine.events import BarType
from engine.research import (
    correlation_matrix,
    covariance_matrix,
    equal_weight,
    inverse_volatility,
    kelly_fraction,
    mean_variance,
    parametric_value_at_risk,
    risk_contributions,
    risk_parity,
    volatility_target,
)

__all__ = ("PortfolioResult", "Rebalance", "StrategyAllocation", "run_portfolio")

_OBJECTIVE = [Objective(metric="total_return")]


class StrategyAllocation(msgspec.Struct, kw_only=True):
    strategy: str
    instrument_id: str
    weight: float
    risk_contribution: float
    multiplier: float
    notional: float
    quantity: str
    calibration_volatility: float


class PortfolioResult(msgspec.Struct, kw_only=True):
    """The allocation and what trading it did (`run` is the combined backtest)."""

    method: str
    sizing: str
    capital: float
    calibration_ns: tuple[int, int]
    evaluation_ns: tuple[int, int]
    allocations: list[StrategyAllocation]
    rebalances: list[Rebalance]
    calibration_correlation: list[list[float]]
    evaluation_correlation: list[list[float]] | None
    parametric_value_at_risk_95: float
    historical_value_at_risk_95: float | None
    conditional_value_at_risk_95: float | None
    run: BacktestResult


class Rebalance(msgspec.Struct, kw_only=True):
    """One holding period: the window it traded and the allocation it traded with."""

    start_ns: int
    end_ns: int
    calibration_ns: tuple[int, int]
    allocations: list[StrategyAllocation]


class _Allocation(msgspec.Struct, kw_only=True):
    allocations: list[StrategyAllocation]
    traded: dict[str, str]
    returns: list[list[float]]
    covariance: list[list[float]]


def run_portfolio(job: ResearchJob, executor: TrialExecutor) -> PortfolioResult:
    """Allocate on calibration, then run the portfolio on evaluation; blocks while it runs.

    With `rebalance_bars`, the evaluation is traded in periods of that many bars, each
    allocated afresh on the calibration-long window just before it and started flat;
    the periods' equity curves are stitched into the run, as in walk-forward.
    """
    config = job.research.allocation
    file = str(job.file)
    specs: list[dict[str, Any]] = job.backtest.get("strategies", [])
    if len(specs) < 2:
        raise ConfigError("$.strategies", "a portfolio needs at least two strategies",
                          file=file)
    prepared = job.prepare(job.config_text({}))
    data = stage(prepared, job.output_dir / "data")
    cut = int(data.bars * config.calibration)
    calibration = segment_window(data, (0, cut))
    evaluation = segment_window(data, (cut, data.bars))
    store = str(data.path)
    configured: dict[str, float] = {}
    for index, strategy in enumerate(prepared.strategies):
        quantity = getattr(strategy.config, "quantity", None)
        if quantity is None:
            raise ConfigError(f"$.strategies[{index}].params",
                              "the strategy has no quantity parameter to size", file=file)
        configured[strategy.id] = float(quantity)
    capital = config.capital or _starting_capital(job)
    step = config.rebalance_bars or data.bars - cut
    periods: list[tuple[int, int]] = [(start, min(start + step, data.bars))
                                      for start in range(cut, data.bars, step)]
    rebalances: list[Rebalance] = []
    runs: list[BacktestResult] = []
    first: _Allocation | None = None
    for start, end in periods:
        window = segment_window(data, (start - cut, start))
        allocation = _allocate(job, executor, specs, configured, data, window,
                               segment_window(data, (start, end)), capital)
        first = first or allocation
        trading = segment_window(data, (start, end))
        combined = copy.deepcopy(job.backtest)
        combined["strategies"] = [_sized(spec, allocation.traded[spec["id"]]) for spec in specs
                                  if spec["id"] in allocation.traded]
        runs.append(job.prepare(trial_config(combined, [], {}, store=store,
                                             window=trading)).run())
        rebalances.append(Rebalance(start_ns=trading[0], end_ns=trading[1],
                                    calibration_ns=window, allocations=allocation.allocations))
    if first is None:
        raise ConfigError("$.allocation.calibration", "no bars are left to trade", file=file)
    run = runs[0] if len(runs) == 1 else stitch_results(f"{job.name}-portfolio", runs)
    realized = _alone(job, executor, [s for s in specs if s["id"] in first.traded], store,
                      evaluation, first.traded)
    realized_returns = [[b / a - 1.0 for a, b in zip(o["equity"], o["equity"][1:],
                                                     strict=False)] for o in realized]
    shortest = min(len(series) for series in realized_returns)
    evaluation_correlation = (correlation_matrix([s[:shortest] for s in realized_returns])
                              if shortest >= 2 and len(realized_returns) >= 2 else None)
    exposure = [a.notional / run.report.starting_equity for a in first.allocations]
    return PortfolioResult(
        method=config.method, sizing=config.sizing, capital=capital,
        calibration_ns=calibration, evaluation_ns=evaluation,
        allocations=first.allocations, rebalances=rebalances,
        calibration_correlation=correlation_matrix(first.returns),
        evaluation_correlation=evaluation_correlation,
        parametric_value_at_risk_95=parametric_value_at_risk(exposure, first.covariance),
        historical_value_at_risk_95=run.report.value_at_risk_95,
        conditional_value_at_risk_95=run.report.conditional_value_at_risk_95,
        run=run,
    )


def _allocate(job: ResearchJob, executor: TrialExecutor, specs: list[dict[str, Any]],
              configured: dict[str, float], data: StagedData, calibration: Window,
              trading: Window, capital: float) -> _Allocation:
    """Weights from each strategy alone on `calibration`; quantities at `trading`'s start."""
    config = job.research.allocation
    file = str(job.file)
    instruments = [str(spec.get("params", {}).get("instrument_id", "")) for spec in specs]
    first_close = _first_closes(job, data, instruments, calibration)
    outcomes = _alone(job, executor, specs, str(data.path), calibration, {})
    returns: list[list[float]] = []
    for index, spec in enumerate(specs):
        equity = outcomes[index]["equity"]
        notional = configured[spec["id"]] * first_close[instruments[index]]
        returns.append([(b - a) / notional for a, b in zip(equity, equity[1:], strict=False)])
    length = min(len(series) for series in returns)
    if length < 2:
        raise ConfigError("$.allocation.calibration",
                          "the calibration window holds fewer than three equity samples",
                          file=file)
    returns = [series[:length] for series in returns]
    covariance = covariance_matrix(returns)
    volatilities = [math.sqrt(covariance[i][i]) for i in range(len(specs))]
    for index, volatility in enumerate(volatilities):
        if volatility <= 0.0:
            raise ConfigError(f"$.strategies[{index}]", f"{specs[index]['id']} did not trade "
                              "in the calibration window: its risk is unknown", file=file)
    weights = _weights(config, returns, covariance, volatilities)
    contributions = risk_contributions(weights, covariance)
    trade_close = _first_closes(job, data, instruments, trading)
    allocations: list[StrategyAllocation] = []
    traded: dict[str, str] = {}
    for index, spec in enumerate(specs):
        multiplier = _multiplier(config, outcomes[index]["report"], volatilities[index])
        notional = capital * weights[index] * multiplier
        quantity = _round_down(notional / trade_close[instruments[index]],
                               _size_increment(job, instruments[index]))
        if quantity > 0:
            traded[spec["id"]] = str(quantity)
        allocations.append(StrategyAllocation(
            strategy=spec["id"], instrument_id=instruments[index], weight=weights[index],
            risk_contribution=contributions[index], multiplier=multiplier, notional=notional,
            quantity=str(quantity), calibration_volatility=volatilities[index]))
    if not traded:
        raise ConfigError("$.allocation.capital", "every quantity rounds to zero", file=file)
    return _Allocation(allocations=allocations, traded=traded, returns=returns,
                       covariance=covariance)


def _weights(config: AllocationConfig, returns: list[list[float]],
             covariance: list[list[float]], volatilities: list[float]) -> list[float]:
    if config.method == "equal":
        return equal_weight(len(returns))
    if config.method == "inverse_volatility":
        return inverse_volatility(volatilities)
    if config.method == "mean_variance":
        means = [math.fsum(series) / len(series) for series in returns]
        return mean_variance(means, covariance, risk_aversion=config.risk_aversion)
    return risk_parity(covariance)


def _multiplier(config: AllocationConfig, report: dict[str, Any], volatility: float) -> float:
    """The sizing rule's scale of one strategy's allocated notional."""
    if config.sizing == "kelly":
        win_rate, payoff = report.get("win_rate"), report.get("payoff_ratio")
        if win_rate is None or not payoff:
            return 0.0  # no winning and losing trades to estimate an edge from: no bet
        return min(kelly_fraction(win_rate, payoff, multiplier=config.kelly_multiplier),
                   config.max_leverage)
    if config.sizing == "volatility_target":
        annualized = volatility * math.sqrt(report.get("periods_per_year") or 1.0)
        return volatility_target(config.target_volatility, annualized,
                                 max_leverage=config.max_leverage)
    return config.fraction


def _alone(job: ResearchJob, executor: TrialExecutor, specs: list[dict[str, Any]],
           store: str, window: Window, quantities: dict[str, str]) -> list[dict[str, Any]]:
    """Run each strategy by itself on `window`; return its equity curve and report."""
    tasks = []
    for index, spec in enumerate(specs):
        single = dict(job.backtest)
        sized = _sized(spec, quantities[spec["id"]]) if spec["id"] in quantities else spec
        single["strategies"] = [sized]
        text = trial_config(single, [], {}, store=store, window=window)
        tasks.append(TrialTask(number=index, params={}, configs=[text], objectives=_OBJECTIVE))
    results: dict[int, dict[str, Any]] = {}
    for outcome in executor.run(tasks):
        if outcome.state != "complete":
            raise ConfigError(f"$.strategies[{outcome.number}]",
                              f"the strategy's run failed: {outcome.reason}", file=str(job.file))
        results[outcome.number] = {"equity": outcome.equity[0], "report": outcome.reports[0]}
    return [results[index] for index in range(len(specs))]


def _sized(spec: dict[str, Any], quantity: str) -> dict[str, Any]:
    sized = copy.deepcopy(spec)
    sized.setdefault("params", {})["quantity"] = quantity
    return sized


def _first_closes(job: ResearchJob, data: StagedData, instruments: list[str],
                  window: Window) -> dict[str, float]:
    closes: dict[str, float] = {}
    sources = {str(s["instrument_id"]): str(s.get("timeframe", "1m"))
               for s in job.backtest.get("data", [])}
    with SqliteBarStore(data.path, read_only=True) as store:
        for name in set(instruments):
            if name not in sources:
                raise ConfigError("$.strategies", f"no [[data]] for instrument {name!r}",
                                  file=str(job.file))
            bar_type = BarType(instrument_id=name, timeframe=sources[name])
            first = next(iter(store.read_bars(bar_type, window[0], window[1], chunk_rows=1)),
                         None)
            if first is None:
                raise ConfigError("$.data", f"no bars of {name} in the window",
                                  file=str(job.file))
            closes[name] = first.close
    return closes


def _size_increment(job: ResearchJob, name: str) -> Decimal:
    for spec in job.backtest.get("instruments", []):
        if instrument_id(spec["symbol"], spec.get("venue", "SIM")) == name:
            return Decimal(str(spec["size_increment"]))
    raise ConfigError("$.instruments", f"{name!r} is not in [[instruments]]", file=str(job.file))


def _round_down(value: float, increment: Decimal) -> Decimal:
    return (Decimal(repr(value)) / increment).to_integral_value(ROUND_DOWN) * increment


def _starting_capital(job: ResearchJob) -> float:
    portfolio = job.backtest.get("portfolio", {})
    currency = portfolio.get("base_currency")
    balances = portfolio.get("starting_balances", {})
    if currency not in balances:
        raise ConfigError("$.allocation.capital", "set it: no starting balance in "
                          f"{currency!r}", file=str(job.file))
    return float(Decimal(str(balances[currency])))
