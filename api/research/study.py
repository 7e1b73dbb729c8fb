"""Run an Optuna study in batches: sample in this process, evaluate on the executor.

Determinism with parallel workers. Trial parameters are sampled here, never in a
worker, a whole batch (`batch_size` trials) at a time, and the next batch is sampled
only once every trial of this one has been told. The sampler is rebuilt before each
`ask` with a seed derived from the study seed and the trial number, so what trial k
gets depends only on the seed, the config and the trials of earlier batches: not on
the number of workers, the executor, the order trials finish in, or whether the study
was interrupted and resumed (a sampler's random state is not in Optuna's storage;
re-deriving it per trial makes that irrelevant).

Results go into Optuna's RDB storage on SQLite as each trial finishes. An interrupted
study leaves its last batch's trials RUNNING; `run_study` on the same storage asks the
rest of that batch, re-runs those trials with their stored parameters, and goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import optuna
from optuna.trial import FrozenTrial, TrialState

from api.research.config import Objective, ParamSpec, PrunerConfig, SamplerConfig
from api.research.executors import TrialExecutor
from api.research.space import distributions, grid_size, grid_values
from api.research.trial import TrialOutcome, TrialTask, make_pruner
from engine.errors import ConfigError

__all__ = (
    "StudyPlan",
    "make_sampler",
    "open_study",
    "run_study",
    "trial_document",
    "trial_seed",
)

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


class StudyPlan(msgspec.Struct, kw_only=True):
    """What to search and how; `configs(values)` is the trial's backtest TOML per window."""

    name: str
    storage: str
    params: list[ParamSpec]
    objectives: list[Objective]
    sampler: SamplerConfig = SamplerConfig()
    pruner: PrunerConfig = PrunerConfig()
    trials: int = 50
    batch_size: int = 8
    bars: int = 0
    configs: Callable[[dict[str, Any]], list[str]]
    keep_curve: bool = True

    @property
    def budget(self) -> int:
        """The trial budget; a grid stops at its last point."""
        if self.sampler.kind == "grid":
            return min(self.trials, grid_size(self.params))
        return self.trials


class _GridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler minus its `study.stop()` once the grid is covered.

    `stop()` works only inside `Study.optimize`; with ask-and-tell it raises. The study
    loop already caps the budget at the grid's size.
    """

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        return None


def trial_seed(seed: int, number: int) -> int:
    """The sampler seed for trial `number`: a fixed function of the study seed."""
    return (seed * 1_000_003 + number * 7_919) % (2**31 - 1)


def make_sampler(config: SamplerConfig, params: Sequence[ParamSpec], *, seed: int,
                 objectives: int) -> optuna.samplers.BaseSampler:
    """Build the configured Optuna sampler with `seed`."""
    kind = config.kind
    if kind == "grid":
        return _GridSampler(grid_values(params), seed=seed)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if kind == "cmaes":
        return optuna.samplers.CmaEsSampler(
            seed=seed, n_startup_trials=config.n_startup_trials or 1,
            popsize=config.population_size, warn_independent_sampling=False)
    if kind == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed,
                                             population_size=config.population_size or 50)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=config.n_startup_trials or 10)


def open_study(plan: StudyPlan) -> optuna.Study:
    """Create the study in its SQLite storage, or load it to resume."""
    storage = optuna.storages.RDBStorage(
        plan.storage, engine_kwargs={"connect_args": {"timeout": 60}})
    directions = [objective.direction for objective in plan.objectives]
    study = optuna.create_study(study_name=plan.name, storage=storage, directions=directions,
                                pruner=make_pruner(plan.pruner), load_if_exists=True)
    # Optuna loads an existing study with its own directions, silently: refuse instead.
    stored = [direction.name.lower() for direction in study.directions]
    if stored != directions:
        raise ConfigError("$.optimize.objectives", f"study {plan.name!r} in {plan.storage} "
                          f"was made with directions {stored}: use another study name")
    return study


def run_study(
    plan: StudyPlan,
    executor: TrialExecutor,
    *,
    on_trial: Callable[[optuna.Study, FrozenTrial], None] | None = None,
) -> optuna.Study:
    """Run (or resume) the study until its budget is used; blocks while trials run.

    `on_trial` is called after each trial is stored (the progress bar's hook).
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(plan)
    space = distributions(plan.params)
    batch = plan.batch_size
    while True:
        existing = study.get_trials(deepcopy=False)
        count = len(existing)
        # A batch left unfinished by an interrupted run: trials still RUNNING, or fewer
        # asked than the batch holds (the last batch of the budget may be short).
        running = any(t.state is TrialState.RUNNING for t in existing)
        interrupted = running or (count % batch != 0 and count < plan.budget)
        if not interrupted and count >= plan.budget:
            return study
        start = (count - 1) // batch * batch if interrupted else count
        end = max(min(start + batch, plan.budget), count)
        live: dict[int, optuna.Trial] = {}
        for number in range(count, end):
            # The grid sampler's one random act is shuffling the grid in its constructor
            # (trial k then takes point k): it must keep the study seed.
            seed = plan.sampler.seed
            if plan.sampler.kind != "grid":
                seed = trial_seed(seed, number)
            study.sampler = make_sampler(plan.sampler, plan.params, seed=seed,
                                         objectives=len(plan.objectives))
            trial = study.ask(space)
            if trial.number != number:
                raise RuntimeError(f"trial number {trial.number}: expected {number}; "
                                   f"is another process writing study {plan.name!r}?")
            live[number] = trial
        trials = study.get_trials(deepcopy=False)
        finished = [t for t in trials if t.number < start and t.state in FINISHED]
        pending = [t for t in trials if start <= t.number < end
                   and t.state is TrialState.RUNNING]
        for frozen in pending:
            if frozen.number not in live:  # left RUNNING by an interrupted run
                # A live handle on a stored trial: Optuna's public constructor wants the
                # storage id, which FrozenTrial keeps only as `_trial_id`.
                live[frozen.number] = optuna.Trial(study, frozen._trial_id)
        tasks = [_task(plan, frozen, finished) for frozen in pending]
        # Checkpoints an interrupted run stored already (it died mid-tell) are not re-sent.
        reported = {frozen.number: set(frozen.intermediate_values) for frozen in pending}
        for outcome in executor.run(tasks):
            stored = _tell(study, live[outcome.number], outcome, plan,
                           reported[outcome.number])
            if on_trial is not None:
                on_trial(study, stored)


def _task(plan: StudyPlan, frozen: FrozenTrial, finished: list[FrozenTrial]) -> TrialTask:
    return TrialTask(
        number=frozen.number,
        params=dict(frozen.params),
        configs=plan.configs(dict(frozen.params)),
        objectives=plan.objectives,
        pruner=plan.pruner,
        bars=plan.bars,
        finished=finished if plan.pruner.kind != "none" else [],
        keep_curve=plan.keep_curve,
    )


def _tell(study: optuna.Study, trial: optuna.Trial, outcome: TrialOutcome,
          plan: StudyPlan, reported: set[int]) -> FrozenTrial:
    if len(plan.objectives) == 1:
        for step, value in sorted(outcome.intermediate.items()):
            if step not in reported:
                trial.report(value, step)
    if outcome.reports:
        trial.set_user_attr("reports", outcome.reports)
    if outcome.equity:
        trial.set_user_attr("equity", outcome.equity)
    if outcome.state == "complete":
        return study.tell(trial, outcome.values)
    if outcome.state == "pruned":
        return study.tell(trial, state=TrialState.PRUNED)
    trial.set_user_attr("fail_reason", outcome.reason)
    return study.tell(trial, state=TrialState.FAIL)


def trial_document(trial: FrozenTrial) -> dict[str, Any]:
    """One trial as JSON-able data (the study export)."""
    return {
        "number": trial.number,
        "state": trial.state.name.lower(),
        "params": trial.params,
        "values": trial.values,
        "intermediate": {str(k): v for k, v in sorted(trial.intermediate_values.items())},
        "reports": trial.user_attrs.get("reports", []),
        "fail_reason": trial.user_attrs.get("fail_reason"),
    }
