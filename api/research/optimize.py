"""`tradebus optimize`: a research file in, a finished study, its best run and files out.

    <output>/studies.sqlite          Optuna's storage (every trial, resumable)
    <output>/<study>.study.json      the study exported: trials, best, overfitting stats
    <output>/<study>.best.toml       the backtest config with the best parameters
    <output>/results.sqlite          the best parameters' backtest, as `tradebus backtest`

The backtest part of the file is checked with `prepare_backtest` before any trial
runs, with the paths of its `[[data]]` made absolute so that trials run from anywhere.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import optuna
from optuna.trial import FrozenTrial, TrialState

from adapters.data import SqliteBarStore
from adapters.data.config import CsvBarsConfig, SqliteBarsConfig, resolve_data_path
from api.compose import PreparedBacktest, prepare_backtest
from api.research.config import OptimizeConfig, ResearchFile, load_research_file
from api.research.executors import TrialExecutor, make_executor
from api.research.space import Window, absolute_paths, trial_config
from api.research.store import DocumentStore
from api.research.study import StudyPlan, run_study, trial_document
from engine.errors import ConfigError
from engine.research import deflated_sharpe_ratio, probability_of_backtest_overfitting

__all__ = (
    "ResearchJob",
    "best_trials",
    "count_bars",
    "load_job",
    "optimize",
    "overfitting_statistics",
    "save_document",
    "study_summary",
    "write_json",
)


class ResearchJob:
    """A loaded, checked research file: the backtest part and the research tables."""

    def __init__(self, file: Path, research: ResearchFile, backtest: dict[str, Any],
                 output_dir: Path) -> None:
        self.file = file
        self.research = research
        self.backtest = backtest
        self.output_dir = output_dir
        self.name: str = str(backtest.get("backtest", {}).get("name", "backtest"))
        self.safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.name).strip("._") or "study"

    @property
    def optimize(self) -> OptimizeConfig:
        return self.research.optimize

    @property
    def storage_path(self) -> Path:
        path = Path(self.optimize.storage)
        if not path.is_absolute():
            path = self.output_dir / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.resolve()

    @property
    def storage_url(self) -> str:
        return f"sqlite:///{self.storage_path}"

    def study_name(self, suffix: str = "") -> str:
        return (self.optimize.study or self.name) + suffix

    def config_text(self, values: dict[str, Any], *, store: str | None = None,
                    window: Window | None = None) -> str:
        """The backtest TOML of the trial with `values` (see `space.trial_config`)."""
        return trial_config(self.backtest, self.optimize.params, values, store=store,
                            window=window)

    def prepare(self, text: str) -> PreparedBacktest:
        """Check and build one backtest from its TOML text (kept in a temporary file)."""
        with tempfile.TemporaryDirectory(prefix="tradebus-") as folder:
            path = Path(folder) / "backtest.toml"
            path.write_text(text)
            return prepare_backtest(path)

    def plan(self, *, configs: Callable[[dict[str, Any]], list[str]], bars: int,
             suffix: str = "", trials: int | None = None) -> StudyPlan:
        optimize = self.optimize
        if not optimize.params:
            raise ConfigError("$.optimize.params", "a study needs at least one parameter",
                              file=str(self.file))
        return StudyPlan(
            name=self.study_name(suffix), storage=self.storage_url, params=optimize.params,
            objectives=optimize.objectives, sampler=optimize.sampler, pruner=optimize.pruner,
            trials=trials or optimize.trials, batch_size=optimize.batch_size, bars=bars,
            configs=configs,
        )

    def executor(self) -> TrialExecutor:
        return make_executor(self.optimize.executor)


def load_job(path: str | Path, *, output_dir: str | Path | None = None) -> ResearchJob:
    """Load a research file and check its backtest part as `tradebus backtest` would.

    Raises:
        ConfigError: anything wrong in either part, naming the file and the field.
    """
    file = Path(path)
    research, raw = load_research_file(file)
    backtest = absolute_paths(raw, file.parent.resolve())
    default_output = str(backtest.get("backtest", {}).get("output_dir", "results"))
    job = ResearchJob(file, research, backtest, Path(output_dir or default_output))
    job.prepare(trial_config(backtest, [], {}))  # the backtest part alone, checked
    return job


def optimize(
    job: ResearchJob,
    *,
    executor: TrialExecutor,
    on_trial: Callable[[optuna.Study, FrozenTrial], None] | None = None,
) -> optuna.Study:
    """Run (or resume) the `[optimize]` study on the config's whole data."""
    prepared = job.prepare(job.config_text({}))
    plan = job.plan(configs=lambda values: [job.config_text(values)],
                    bars=count_bars(prepared))
    return run_study(plan, executor, on_trial=on_trial)


def count_bars(prepared: PreparedBacktest) -> int:
    """Bars of the first source (the pruning checkpoints' clock); 0 if not countable."""
    source = prepared.config.data[0]
    if isinstance(source, SqliteBarsConfig):
        path = resolve_data_path(source.path, base=None)
        with SqliteBarStore(path, read_only=True) as store:
            return store.count(source.bar_type, source.start_ns, source.end_ns)
    if isinstance(source, CsvBarsConfig) and len(prepared.config.data) == 1:
        return prepared.rows or 0
    return 0  # a recording, or several CSVs counted together: no checkpoints


def best_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The best trial (one objective) or the Pareto front (several); empty if none finished."""
    if not any(t.state is TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
        return []
    if len(study.directions) == 1:
        return [study.best_trial]
    return list(study.best_trials)


def study_summary(study: optuna.Study, job: ResearchJob) -> dict[str, Any]:
    """The study as one JSON-able document: config, best trial(s), every trial."""
    trials = study.get_trials(deepcopy=False)
    states = {state.name.lower(): sum(t.state is state for t in trials)
              for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL,
                            TrialState.RUNNING)}
    return {
        "study": study.study_name,
        "objectives": msgspec.to_builtins(job.optimize.objectives),
        "sampler": msgspec.to_builtins(job.optimize.sampler),
        "pruner": msgspec.to_builtins(job.optimize.pruner),
        "counts": states,
        "best": [trial_document(t) for t in best_trials(study)],
        "overfitting": overfitting_statistics(study),
        "trials": [trial_document(t) for t in trials],
    }


def write_json(document: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, default=str))
    return path


def save_document(job: ResearchJob, kind: str, document: Any) -> Path:
    """Write `document` as `<output>/<name>.<kind>.json` and add it to the study storage."""
    DocumentStore(job.storage_path).save(kind, job.name, document)
    return write_json(document, job.output_dir / f"{job.safe_name}.{kind}.json")


def overfitting_statistics(study: optuna.Study) -> dict[str, Any]:
    """Deflated Sharpe of the best trial and PBO of the study's choice (None if undefined).

    Both read the completed trials' reports and equity curves (user attributes): the
    DSR deflates the best trial's Sharpe by the spread of all trials' Sharpe ratios;
    the PBO (CSCV, 8 blocks) needs at least two trials with equally long curves.
    """
    complete = [t for t in study.get_trials(deepcopy=False) if t.state is TrialState.COMPLETE]
    best = best_trials(study)
    result: dict[str, Any] = {"trials": len(complete), "deflated_sharpe_ratio": None,
                              "probability_of_backtest_overfitting": None}
    reports = [(t, t.user_attrs.get("reports") or [{}]) for t in complete]
    per_period: list[float] = []
    for _, trial_reports in reports:
        report = trial_reports[0]
        sharpe, periods = report.get("sharpe_ratio"), report.get("periods_per_year")
        if sharpe is not None and periods:
            per_period.append(sharpe / math.sqrt(periods))
    if best and len(per_period) >= 2:
        report = (best[0].user_attrs.get("reports") or [{}])[0]
        sharpe, periods = report.get("sharpe_ratio"), report.get("periods_per_year")
        if sharpe is not None and periods and report.get("skewness") is not None:
            try:
                result["deflated_sharpe_ratio"] = deflated_sharpe_ratio(
                    sharpe / math.sqrt(periods), per_period, report["period_count"],
                    skewness=report["skewness"], kurtosis=report["kurtosis"] + 3.0)
            except ValueError:
                pass  # moments that make the estimate's variance non-positive: undefined
    curves = [t.user_attrs["equity"][0] for t in complete if t.user_attrs.get("equity")]
    length = min((len(c) for c in curves), default=0) - 1
    if len(curves) >= 2 and length >= 8:
        returns = [[c[i + 1] / c[i] - 1.0 for i in range(length)] for c in curves]
        result["probability_of_backtest_overfitting"] = (
            probability_of_backtest_overfitting(returns, blocks=8).probability)
    return result
