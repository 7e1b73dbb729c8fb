"""One trial, run in a worker process: a deterministic backtest per window, a metric out.

`run_trial` is the only function the executors ship to workers. It takes a
`TrialTask` (plain data: the trial's backtest TOML per window, and what pruning needs)
and returns a `TrialOutcome`; it reads the shared data from disk and touches no study
storage, so it runs the same in a local pool and on a Dask worker on another machine.

Pruning without a shared storage: the task carries the study's trials that had
finished before this trial's batch was sampled. The worker copies them into an
in-memory Optuna study with the real pruner and asks it `should_prune` at each
checkpoint. Every input of that decision is fixed when the batch is sampled, so it
does not depend on which other trials happen to finish first.
"""

from __future__ import annotations

import logging
import math
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import optuna

from api.compose import prepare_backtest
from api.research.config import Objective, PrunerConfig
from engine.analysis import compute_report
from engine.backtest import BacktestResult
from engine.errors import ConfigError, DataError
from engine.graph import TradingGraph
from engine.topics import bars_topic

__all__ = ("TrialOutcome", "TrialTask", "make_pruner", "run_trial")


class TrialTask(msgspec.Struct, kw_only=True):
    """Everything a worker needs for one trial (picklable, no open handles)."""

    number: int
    params: dict[str, Any]
    configs: list[str]
    objectives: list[Objective]
    pruner: PrunerConfig = PrunerConfig()
    bars: int = 0
    finished: list[optuna.trial.FrozenTrial] = []
    keep_curve: bool = True


class TrialOutcome(msgspec.Struct, kw_only=True):
    """What came back: `state` is "complete", "pruned" or "fail" (with `reason`)."""

    number: int
    state: str
    values: list[float] | None = None
    intermediate: dict[int, float] = {}
    reason: str = ""
    reports: list[dict[str, Any]] = []
    equity: list[list[float]] = []


class _Pruned(BaseException):
    """Raised inside the replay to stop a hopeless run.

    A BaseException, not an Exception: the bus isolates a handler's Exception (that is
    its fault isolation), and this must instead unwind the whole run.
    """


def make_pruner(config: PrunerConfig) -> optuna.pruners.BasePruner:
    """Build the configured Optuna pruner (`NopPruner` for "none")."""
    if config.kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=config.n_startup_trials,
                                           n_warmup_steps=config.n_warmup_steps)
    if config.kind == "percentile":
        return optuna.pruners.PercentilePruner(config.percentile,
                                               n_startup_trials=config.n_startup_trials,
                                               n_warmup_steps=config.n_warmup_steps)
    if config.kind == "threshold":
        return optuna.pruners.ThresholdPruner(lower=config.lower, upper=config.upper,
                                              n_warmup_steps=config.n_warmup_steps)
    return optuna.pruners.NopPruner()


def run_trial(task: TrialTask) -> TrialOutcome:
    """Run every window of `task` and return the objective values (mean over windows).

    Never raises for a bad trial: a config the strategy refuses, bad data or an undefined
    metric comes back as state "fail" with the reason, for Optuna to record.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("engine").setLevel(logging.ERROR)
    checker = _PruneChecker(task) if task.pruner.kind != "none" and task.bars > 0 else None
    reports: list[dict[str, Any]] = []
    curves: list[list[float]] = []
    per_window: list[list[float]] = []
    with tempfile.TemporaryDirectory(prefix="tradebus-trial-") as folder:
        for index, text in enumerate(task.configs):
            path = Path(folder) / f"window-{index}.toml"
            path.write_text(text)
            try:
                prepared = prepare_backtest(path)
                observe = None
                if checker is not None and index == 0:  # pruning watches the first window
                    source = prepared.config.data[0]
                    checker.topic = bars_topic(source.instrument_id, source.timeframe)
                    checker.periods_per_year = prepared.config.backtest.periods_per_year
                    observe = checker.observe
                result = prepared.run(observe=observe)
            except _Pruned:
                return TrialOutcome(number=task.number, state="pruned",
                                    intermediate=checker.intermediate if checker else {})
            except (ConfigError, DataError, ValueError) as error:
                return TrialOutcome(number=task.number, state="fail", reason=str(error))
            if result.faults:  # the run finished without the faulted strategy: not the config
                names = ", ".join(fault.actor_id for fault in result.faults)
                return TrialOutcome(number=task.number, state="fail",
                                    reason=f"strategy faulted: {names}")
            values = _objective_values(result, task.objectives)
            if values is None:
                return TrialOutcome(number=task.number, state="fail",
                                    reason="an objective metric is undefined (n/a)")
            per_window.append(values)
            reports.append(msgspec.to_builtins(result.report))
            if task.keep_curve:
                curves.append([float(equity) for _, equity in result.equity_curve])
    means = [math.fsum(column) / len(column) for column in zip(*per_window, strict=True)]
    return TrialOutcome(number=task.number, state="complete", values=means,
                        intermediate=checker.intermediate if checker else {},
                        reports=reports, equity=curves)


def _objective_values(result: BacktestResult, objectives: list[Objective]) -> list[float] | None:
    values: list[float] = []
    for objective in objectives:
        value = getattr(result.report, objective.metric)
        if value is None or not math.isfinite(float(value)):
            return None
        values.append(float(value))
    return values


class _PruneChecker:
    """Report the objective at `checkpoints` evenly spaced bars; raise `_Pruned` if told."""

    def __init__(self, task: TrialTask) -> None:
        self.metric = task.objectives[0].metric
        self.every = max(task.bars // task.pruner.checkpoints, 1)
        self.intermediate: dict[int, float] = {}
        self.bars = 0
        self.graph: TradingGraph | None = None
        self.topic = ""
        self.periods_per_year: float | None = None
        mirror = optuna.create_study(
            direction=task.objectives[0].direction,
            pruner=make_pruner(task.pruner),
            sampler=optuna.samplers.RandomSampler(seed=0),
        )
        mirror.add_trials(task.finished)
        self.trial = mirror.ask()

    def observe(self, graph: TradingGraph) -> None:
        self.graph = graph
        graph.bus.subscribe(self.topic, self.on_bar)

    def on_bar(self, _bar: object) -> None:
        self.bars += 1
        if self.bars % self.every or self.graph is None:
            return
        step = self.bars // self.every
        book = self.graph.portfolio
        curve = book.equity_curve()
        if len(curve) < 3:
            return
        report = compute_report(curve, book.closed_trades(), starting_equity=float(curve[0][1]),
                                fills=len(book.fills()), total_fees=float(book.total_fees()),
                                periods_per_year=self.periods_per_year)
        value = getattr(report, self.metric)
        if value is None or not math.isfinite(float(value)):
            return
        self.intermediate[step] = float(value)
        self.trial.report(float(value), step)
        if self.trial.should_prune():
            raise _Pruned
