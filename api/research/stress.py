"""`tradebus stress`: how fragile are the best parameters?

1. Monte Carlo over the best run's trades (`engine.research.trade_monte_carlo`): the
   distribution of final equity and max drawdown if the trades came in another order.
2. Sensitivity: the objective on the neighbourhood of the optimum
   (`engine.research.neighbourhood`), run on the executor like any trial.
3. Shocks: the best parameters on the data with a price gap and with a volatility
   spike (`engine.research.gap`, `volatility_spike`) applied to the first source,
   against the unshocked baseline.

The best parameters are the `[optimize]` study's: the study is run (or resumed) first,
which costs nothing when its budget is already used.
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import optuna
from optuna.trial import FrozenTrial

from adapters.data import BarColumns, SqliteBarStore
from api.research.config import CategoricalParam, FloatParam, IntParam
from api.research.data import StagedData, stage
from api.research.executors import TrialExecutor
from api.research.optimize import ResearchJob, best_trials, optimize
from api.research.trial import TrialTask
from engine.backtest import BacktestResult
from engine.errors import ConfigError
from engine.events import BarType
from engine.research import (
    Axis,
    MonteCarloResult,
    Ohlc,
    gap,
    neighbourhood,
    trade_monte_carlo,
    volatility_spike,
)

__all__ = (
    "SensitivityPoint",
    "ShockOutcome",
    "StressResult",
    "run_stress",
    "sensitivity_axes",
)

OnTrial = Callable[[optuna.Study, FrozenTrial], None]


class SensitivityPoint(msgspec.Struct, kw_only=True):
    params: dict[str, Any]
    values: list[float] | None
    state: str


class ShockOutcome(msgspec.Struct, kw_only=True):
    scenario: str
    description: str
    report: dict[str, Any]


class StressResult(msgspec.Struct, kw_only=True):
    """Everything `tradebus stress` found, JSON-able (the stress report's input)."""

    params: dict[str, Any]
    metrics: list[str]
    monte_carlo: MonteCarloResult | None
    sensitivity: list[SensitivityPoint]
    axes: list[str]
    shocks: list[ShockOutcome]


def sensitivity_axes(job: ResearchJob) -> list[Axis]:
    """The numeric parameters as axes: their own step, or a tenth of a float's range."""
    axes: list[Axis] = []
    for param in job.optimize.params:
        if isinstance(param, CategoricalParam):
            continue
        if isinstance(param, IntParam):
            axes.append(Axis(name=param.name, low=param.low, high=param.high,
                             step=param.step, integer=True))
        elif isinstance(param, FloatParam):
            step = param.step or (param.high - param.low) / 10 or 1.0
            axes.append(Axis(name=param.name, low=param.low, high=param.high, step=step))
    return axes


def run_stress(job: ResearchJob, executor: TrialExecutor, *,
               on_trial: OnTrial | None = None) -> tuple[StressResult, BacktestResult]:
    """Run the three stress tests on the best parameters; also return the best run."""
    study = optimize(job, executor=executor, on_trial=on_trial)
    best = best_trials(study)
    if not best:
        raise ConfigError("$.optimize", "no trial of the study completed: nothing to stress",
                          file=str(job.file))
    params = dict(min(best, key=lambda t: t.number).params)
    config = job.research.stress
    result = job.prepare(job.config_text(params)).run()
    monte_carlo = None
    if result.trades:
        pnls = [float(t.realized_pnl - t.fees) for t in result.trades]
        monte_carlo = trade_monte_carlo(pnls, result.report.starting_equity,
                                        paths=config.paths, method=config.method,
                                        seed=config.seed)
    axes = sensitivity_axes(job)
    points = neighbourhood(params, axes, radius=config.radius) if axes else []
    tasks = [TrialTask(number=i, params=p, configs=[job.config_text(p)],
                       objectives=job.optimize.objectives, keep_curve=False)
             for i, p in enumerate(points)]
    outcomes = {outcome.number: outcome for outcome in executor.run(tasks)}
    sensitivity = [SensitivityPoint(params=p, values=outcomes[i].values,
                                    state=outcomes[i].state) for i, p in enumerate(points)]
    shocks = _shocks(job, params)
    stress = StressResult(params=params, metrics=[o.metric for o in job.optimize.objectives],
                          monte_carlo=monte_carlo, sensitivity=sensitivity,
                          axes=[axis.name for axis in axes[:2]], shocks=shocks)
    return stress, result


def _shocks(job: ResearchJob, params: dict[str, Any]) -> list[ShockOutcome]:
    config = job.research.stress
    data = stage(job.prepare(job.config_text({})), job.output_dir / "data")
    first = job.prepare(job.config_text({})).config.data[0]
    bar_type = BarType(instrument_id=first.instrument_id, timeframe=first.timeframe)
    with SqliteBarStore(data.path, read_only=True) as store:
        columns = store.read_columns(bar_type)
    bars = Ohlc.of(columns.open, columns.high, columns.low, columns.close)
    at = max(int(data.bars * config.shock_at), 1)
    scenarios = {
        "baseline": ("the data as it is", bars),
        "gap": (f"prices x {1 + config.gap:g} from bar {at}", gap(bars, at, config.gap)),
        "volatility": (f"returns x {config.volatility_factor:g} for "
                       f"{config.volatility_bars} bars from bar {at}",
                       volatility_spike(bars, at, config.volatility_bars,
                                        config.volatility_factor)),
    }
    outcomes: list[ShockOutcome] = []
    for name, (description, shocked) in scenarios.items():
        path = _write_shocked(data, name, bar_type, columns, shocked)
        result = job.prepare(job.config_text(params, store=str(path))).run()
        outcomes.append(ShockOutcome(scenario=name, description=description,
                                     report=msgspec.to_builtins(result.report)))
    return outcomes


def _write_shocked(data: StagedData, name: str, bar_type: BarType, columns: BarColumns,
                   shocked: Ohlc) -> Path:
    """A copy of the staged store with the first source's bars replaced by `shocked`."""
    target = data.path.with_name(f"{data.path.stem}-{name}.sqlite")
    target.unlink(missing_ok=True)
    # SQLite's backup API, not a file copy: the source runs in WAL mode.
    source, copy = sqlite3.connect(data.path), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    replaced = BarColumns(bar_type, ts_event=columns.ts_event, ts_init=columns.ts_init,
                          open=array("d", shocked.open), high=array("d", shocked.high),
                          low=array("d", shocked.low), close=array("d", shocked.close),
                          volume=columns.volume)
    with SqliteBarStore(target) as store:
        store.write_bars(replaced.iter_bars())
    return target
