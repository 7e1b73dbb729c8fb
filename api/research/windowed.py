"""Walk-forward analysis and purged k-fold validation: optimize on train, test on test.

Both run one Optuna study per split (named `<study>-wf<k>` or `<study>-cv<k>`, in the
same storage, so both resume), on the training segments only, and then backtest the
split's best parameters on its test segment. The splits come from `engine.research`
(`walk_forward`, `purged_kfold`), which guarantee that no test bar is ever trained on.

Walk-forward also stitches the out-of-sample equity curves into one curve with its own
report (`engine.research.stitch_equity_curves`), stored like any backtest run. Each test
segment starts flat and with fresh indicators (the strategy warms up again in it): the
stitched curve is what re-optimizing and restarting at every window would have made.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec
import optuna
from optuna.trial import FrozenTrial

from api.research.data import StagedData, segment_window, stage
from api.research.executors import TrialExecutor
from api.research.optimize import ResearchJob, best_trials
from api.research.study import run_study
from engine.analysis import compute_report
from engine.backtest import BacktestResult
from engine.errors import ConfigError
from engine.research import Split, purged_kfold, stitch_equity_curves, walk_forward

__all__ = (
    "SplitOutcome",
    "WindowedResult",
    "run_splits",
    "run_validation",
    "run_walk_forward",
    "stitch_results",
)

OnTrial = Callable[[optuna.Study, FrozenTrial], None]


class SplitOutcome(msgspec.Struct, kw_only=True):
    """One split: its bars and times, the in-sample best and its out-of-sample report."""

    index: int
    train: list[tuple[int, int]]
    test: tuple[int, int]
    train_ns: list[tuple[int, int]]
    test_ns: tuple[int, int]
    params: dict[str, Any]
    in_sample: list[float]
    out_of_sample: list[float | None]
    report: dict[str, Any]


class WindowedResult(msgspec.Struct, kw_only=True):
    """Every split, the mean out-of-sample objectives, and walk-forward's stitched run."""

    kind: str
    splits: list[SplitOutcome]
    mean_out_of_sample: list[float | None]
    stitched: BacktestResult | None = None


def run_walk_forward(job: ResearchJob, executor: TrialExecutor, *,
                     on_trial: OnTrial | None = None) -> WindowedResult:
    """Run the `[walk_forward]` table of `job`; returns the windows and the stitched run."""
    config = job.research.walk_forward
    if config is None:
        raise ConfigError("$.walk_forward", "the file has no [walk_forward] table",
                          file=str(job.file))
    data = _stage(job)
    splits = walk_forward(data.bars, config.in_sample, config.out_of_sample,
                          step=config.step, gap=config.gap, anchored=config.anchored)
    if not splits:
        raise ConfigError("$.walk_forward.in_sample",
                          f"no window fits in the data's {data.bars} bars", file=str(job.file))
    return run_splits(job, executor, data, splits, kind="wf", trials=config.trials,
                      on_trial=on_trial, stitch=True)


def run_validation(job: ResearchJob, executor: TrialExecutor, *,
                   on_trial: OnTrial | None = None) -> WindowedResult:
    """Run the `[validation]` table (purged k-fold with embargo) of `job`."""
    config = job.research.validation
    if config is None:
        raise ConfigError("$.validation", "the file has no [validation] table",
                          file=str(job.file))
    data = _stage(job)
    if data.bars < config.folds:
        raise ConfigError("$.validation.folds", f"more folds than the data's {data.bars} bars",
                          file=str(job.file))
    splits = purged_kfold(data.bars, config.folds, purge=config.purge,
                          embargo=config.embargo)
    return run_splits(job, executor, data, splits, kind="cv", trials=config.trials,
                      on_trial=on_trial, stitch=False)


def _stage(job: ResearchJob) -> StagedData:
    return stage(job.prepare(job.config_text({})), job.output_dir / "data")


def run_splits(job: ResearchJob, executor: TrialExecutor, data: StagedData,
               splits: list[Split], *, kind: str, trials: int | None,
               on_trial: OnTrial | None, stitch: bool) -> WindowedResult:
    """Optimize on each split's training segments, then backtest its test segment."""
    store = str(data.path)
    outcomes: list[SplitOutcome] = []
    results: list[BacktestResult] = []
    for index, split in enumerate(splits):
        train_ns = [segment_window(data, segment) for segment in split.train]
        test_ns = segment_window(data, split.test)

        def configs(values: dict[str, Any], windows: list[tuple[int, int]] = train_ns
                    ) -> list[str]:
            return [job.config_text(values, store=store, window=w) for w in windows]

        plan = job.plan(configs=configs, bars=split.train[0][1] - split.train[0][0],
                        suffix=f"-{kind}{index}", trials=trials)
        plan.keep_curve = False
        study = run_study(plan, executor, on_trial=on_trial)
        best = best_trials(study)
        if not best:
            raise ConfigError("$.optimize", f"split {index}: no trial completed in-sample",
                              file=str(job.file))
        chosen = min(best, key=lambda trial: trial.number)
        result = job.prepare(job.config_text(dict(chosen.params), store=store,
                                             window=test_ns)).run()
        results.append(result)
        outcomes.append(SplitOutcome(
            index=index, train=list(split.train), test=split.test, train_ns=train_ns,
            test_ns=test_ns, params=dict(chosen.params), in_sample=list(chosen.values),
            out_of_sample=[_metric(result, o.metric) for o in job.optimize.objectives],
            report=msgspec.to_builtins(result.report),
        ))
    periods_per_year = job.prepare(job.config_text({})).config.backtest.periods_per_year
    stitched = (stitch_results(f"{job.name}-walk-forward", results,
                               periods_per_year=periods_per_year) if stitch else None)
    means: list[float | None] = []
    for column in zip(*(outcome.out_of_sample for outcome in outcomes), strict=True):
        known = [value for value in column if value is not None]
        means.append(math.fsum(known) / len(known) if known else None)
    return WindowedResult(kind=kind, splits=outcomes, mean_out_of_sample=means,
                          stitched=stitched)


def _metric(result: BacktestResult, metric: str) -> float | None:
    value = getattr(result.report, metric)
    return float(value) if value is not None and math.isfinite(float(value)) else None


def stitch_results(name: str, results: list[BacktestResult], *,
                   periods_per_year: float | None = None) -> BacktestResult:
    """One result of `results` traded one after the other (balances: the last one's).

    The equity curves are chained (`engine.research.stitch_equity_curves`) from the
    first one's start; trades, fills and orders are concatenated; the report is computed
    afresh on the stitched curve.
    """
    start = float(results[0].equity_curve[0][1]) if results[0].equity_curve else 1.0
    curve = stitch_equity_curves(
        [[(ts, float(value)) for ts, value in r.equity_curve] for r in results], start)
    trades = [trade for r in results for trade in r.trades]
    fills = [fill for r in results for fill in r.fills]
    report = compute_report(curve, trades, starting_equity=start, fills=len(fills),
                            total_fees=math.fsum(r.report.total_fees for r in results),
                            periods_per_year=periods_per_year)
    return BacktestResult(
        name=name,
        start_ns=results[0].start_ns,
        end_ns=results[-1].end_ns,
        items_processed=sum(r.items_processed for r in results),
        report=report,
        balances=results[-1].balances,
        equity_curve=[(ts, Decimal(repr(value))) for ts, value in curve],
        trades=trades,
        fills=fills,
        orders=[order for r in results for order in r.orders],
        faults=[fault for r in results for fault in r.faults],
        statistics={"segments": len(results),
                    "risk": {"denied_by_reason": _denied(results)}},
    )


def _denied(results: list[BacktestResult]) -> dict[str, int]:
    denied: dict[str, int] = {}
    for result in results:
        for reason, count in result.statistics.get("risk", {}).get("denied_by_reason",
                                                                   {}).items():
            denied[reason] = denied.get(reason, 0) + count
    return denied
