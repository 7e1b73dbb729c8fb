"""The research tables of a config file: a backtest config plus `[optimize]` and friends.

A research file is a `tradebus backtest` file with extra top-level tables. They are
split off here; what remains is checked with the backtest's own loader
(`prepare_backtest`), so a typo anywhere is a ConfigError naming the file and field
before a single trial runs.

    [optimize]                         the study: objectives, sampler, budget, executor
    [[optimize.params]]                one per searched parameter (int, float, categorical)
    [walk_forward]                     rolling/anchored in-sample/out-of-sample windows
    [validation]                       purged k-fold with embargo
    [stress]                           Monte Carlo, sensitivity and data shocks
    [allocation]                       capital allocator and sizing of a portfolio run
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from engine.analysis import PerformanceReport
from engine.config import Config, convert_config
from engine.errors import ConfigError

__all__ = (
    "RESEARCH_TABLES",
    "AllocationConfig",
    "CategoricalParam",
    "ExecutorConfig",
    "FloatParam",
    "IntParam",
    "Objective",
    "OptimizeConfig",
    "ParamSpec",
    "PrunerConfig",
    "ResearchFile",
    "SamplerConfig",
    "StressConfig",
    "ValidationConfig",
    "WalkForwardConfig",
    "load_research_file",
)

RESEARCH_TABLES = ("optimize", "walk_forward", "validation", "stress", "allocation")
METRICS = frozenset(PerformanceReport.__struct_fields__)
Positive = Annotated[int, msgspec.Meta(gt=0)]
NonNegative = Annotated[int, msgspec.Meta(ge=0)]


class IntParam(Config, kw_only=True, frozen=True, tag_field="kind", tag="int"):
    """An integer parameter in [low, high] (both included), every `step`, or log-scaled."""

    name: str
    strategy: str | None = None
    low: int
    high: int
    step: Positive = 1
    log: bool = False


class FloatParam(Config, kw_only=True, frozen=True, tag_field="kind", tag="float"):
    """A float in [low, high]; `step` makes it discrete (and gridable), `log` log-scaled."""

    name: str
    strategy: str | None = None
    low: float
    high: float
    step: float | None = None
    log: bool = False


class CategoricalParam(Config, kw_only=True, frozen=True, tag_field="kind", tag="categorical"):
    """One of `choices` (strings, numbers or booleans)."""

    name: str
    strategy: str | None = None
    choices: list[str | int | float | bool]


ParamSpec = IntParam | FloatParam | CategoricalParam


class Objective(Config, kw_only=True, frozen=True):
    """A report metric (any `PerformanceReport` field) and which way is better."""

    metric: str
    direction: Literal["maximize", "minimize"] = "maximize"


class SamplerConfig(Config, kw_only=True, frozen=True):
    """Optuna's search algorithm. `seed` fixes every trial's parameters.

    grid: every combination (ints, stepped floats, categoricals); random; tpe (Bayesian);
    cmaes (evolution strategy, single objective); nsga2 (genetic, Pareto fronts too).
    `population_size` is the NSGA-II population and the CMA-ES population.
    """

    kind: Literal["grid", "random", "tpe", "cmaes", "nsga2"] = "tpe"
    seed: int = 0
    n_startup_trials: Positive | None = None
    population_size: Positive | None = None


class PrunerConfig(Config, kw_only=True, frozen=True):
    """Early stopping of hopeless trials, decided at `checkpoints` points of each run.

    Only pruners that compare against *finished* trials are offered (median,
    percentile, threshold): Hyperband and successive halving read the intermediate
    values of trials still running, which depend on timing and would break determinism.
    """

    kind: Literal["none", "median", "percentile", "threshold"] = "none"
    n_startup_trials: NonNegative = 5
    n_warmup_steps: NonNegative = 1
    percentile: Annotated[float, msgspec.Meta(gt=0, lt=100)] = 50.0
    lower: float | None = None
    upper: float | None = None
    checkpoints: Annotated[int, msgspec.Meta(ge=2)] = 10


class ExecutorConfig(Config, kw_only=True, frozen=True):
    """Where trials run: a local process pool (default, `workers = 0` is all cores) or Dask.

    `kind = "dask"` connects to `address` (a running scheduler, `tcp://host:8786`) or,
    without one, starts a LocalCluster of `workers` processes on this machine.
    """

    kind: Literal["process", "dask"] = "process"
    workers: NonNegative = 0
    address: str | None = None


class OptimizeConfig(Config, kw_only=True, frozen=True):
    """The `[optimize]` table. `batch_size` trials are sampled together, then evaluated in
    parallel: results depend on it (and the seed), never on the number of workers."""

    study: str | None = None
    storage: str = "studies.sqlite"
    objectives: list[Objective] = msgspec.field(
        default_factory=lambda: [Objective(metric="sharpe_ratio")])
    sampler: SamplerConfig = SamplerConfig()
    pruner: PrunerConfig = PrunerConfig()
    executor: ExecutorConfig = ExecutorConfig()
    trials: Positive = 50
    batch_size: Positive = 8
    params: list[ParamSpec] = []


class WalkForwardConfig(Config, kw_only=True, frozen=True):
    """Windows in bars of the first data source: in-sample, then out-of-sample after `gap`.

    `step` defaults to `out_of_sample`, so out-of-sample windows tile the data;
    `anchored = true` keeps every in-sample window starting at the first bar.
    """

    in_sample: Positive
    out_of_sample: Positive
    step: Positive | None = None
    gap: NonNegative = 0
    anchored: bool = False
    trials: Positive | None = None


class ValidationConfig(Config, kw_only=True, frozen=True):
    """Purged k-fold cross-validation: `folds` contiguous test blocks; training bars within
    `purge` bars before a test block and `embargo` bars after it are dropped."""

    folds: Annotated[int, msgspec.Meta(ge=2)] = 5
    purge: NonNegative = 0
    embargo: NonNegative = 0
    trials: Positive | None = None


class StressConfig(Config, kw_only=True, frozen=True):
    """Stress tests of the best parameters.

    Monte Carlo: `paths` reshuffled (`method = "shuffle"`) or bootstrapped trade
    sequences. Sensitivity: `radius` steps around the optimum for each numeric parameter.
    Shocks: a price `gap` (a fraction, -0.1 is a 10 % drop) at `shock_at` (a fraction of
    the data), and a volatility spike multiplying bar returns by `volatility_factor` for
    `volatility_bars` bars from there.
    """

    paths: Positive = 1000
    method: Literal["shuffle", "bootstrap"] = "bootstrap"
    seed: int = 0
    radius: Positive = 2
    gap: float = -0.1
    volatility_factor: Annotated[float, msgspec.Meta(gt=0)] = 3.0
    volatility_bars: Positive = 500
    shock_at: Annotated[float, msgspec.Meta(ge=0, lt=1)] = 0.5


class AllocationConfig(Config, kw_only=True, frozen=True):
    """A portfolio run: estimate on the first `calibration` of the data, trade the rest.

    `method` sets the weights of the strategies from their calibration returns (per unit
    of notional); `sizing` then scales each one's notional (`capital` x weight): by
    `fraction` (fixed fractional), by its Kelly fraction times `kelly_multiplier`, or to
    `target_volatility` (annualized), capped at `max_leverage`. `capital` defaults to
    the starting balance of the account currency. `rebalance_bars` re-allocates every
    that many bars on the calibration-long window before (each period starts flat).
    """

    method: Literal["equal", "inverse_volatility", "risk_parity", "mean_variance"] = (
        "risk_parity")
    capital: Annotated[float, msgspec.Meta(gt=0)] | None = None
    calibration: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.5
    sizing: Literal["fixed_fractional", "kelly", "volatility_target"] = "fixed_fractional"
    fraction: Annotated[float, msgspec.Meta(gt=0, le=1)] = 1.0
    kelly_multiplier: Annotated[float, msgspec.Meta(gt=0)] = 0.5
    target_volatility: Annotated[float, msgspec.Meta(gt=0)] = 0.2
    max_leverage: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    risk_aversion: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    rebalance_bars: Positive | None = None


class ResearchFile(Config, kw_only=True, frozen=True):
    optimize: OptimizeConfig = OptimizeConfig()
    walk_forward: WalkForwardConfig | None = None
    validation: ValidationConfig | None = None
    stress: StressConfig = StressConfig()
    allocation: AllocationConfig = AllocationConfig()


def load_research_file(path: str | Path) -> tuple[ResearchFile, dict[str, Any]]:
    """Read a research file; return its research tables and the backtest part as a dict.

    The backtest part is not checked here (see `api.research.space.BaseConfig`).

    Raises:
        ConfigError: unreadable TOML, or a research table that does not validate.
    """
    file = str(path)
    try:
        raw = msgspec.toml.decode(Path(path).read_bytes())
    except OSError as error:
        raise ConfigError("$", f"cannot read the file: {error.strerror}", file=file) from error
    except msgspec.DecodeError as error:
        raise ConfigError("$", f"not valid TOML: {error}", file=file) from error
    research = {key: raw.pop(key) for key in RESEARCH_TABLES if key in raw}
    parsed = convert_config(research, ResearchFile, file=file)
    _check(parsed, raw, file)
    return parsed, raw


def _check(research: ResearchFile, backtest: dict[str, Any], file: str) -> None:
    """Refuse, before anything runs, what Optuna would only refuse mid-study."""
    optimize = research.optimize
    strategies = [spec.get("id") for spec in backtest.get("strategies", [])]
    names: set[str] = set()
    for index, objective in enumerate(optimize.objectives):
        if objective.metric not in METRICS:
            raise ConfigError(f"$.optimize.objectives[{index}].metric",
                              f"{objective.metric!r} is not a report metric", file=file)
    if not optimize.objectives:
        raise ConfigError("$.optimize.objectives", "at least one objective is required",
                          file=file)
    multi = len(optimize.objectives) > 1
    if multi and optimize.sampler.kind == "cmaes":
        raise ConfigError("$.optimize.sampler.kind",
                          "cmaes optimizes one objective: use nsga2 or tpe", file=file)
    if multi and optimize.pruner.kind != "none":
        raise ConfigError("$.optimize.pruner.kind",
                          "Optuna cannot prune multi-objective studies", file=file)
    for index, param in enumerate(optimize.params):
        at = f"$.optimize.params[{index}]"
        if param.name in names:
            raise ConfigError(f"{at}.name", f"{param.name!r} is declared twice", file=file)
        names.add(param.name)
        if param.strategy is not None and param.strategy not in strategies:
            raise ConfigError(f"{at}.strategy", f"{param.strategy!r} is not in [[strategies]]",
                              file=file)
        if param.strategy is None and len(strategies) > 1:
            raise ConfigError(f"{at}.strategy", "required with several strategies", file=file)
        if isinstance(param, CategoricalParam):
            if not param.choices:
                raise ConfigError(f"{at}.choices", "at least one choice is required", file=file)
            continue
        if param.low > param.high:
            raise ConfigError(f"{at}.low", f"low {param.low}: must be <= high {param.high}",
                              file=file)
        if param.log and param.low <= 0:
            raise ConfigError(f"{at}.low", f"low {param.low}: log scale needs > 0", file=file)
        if isinstance(param, FloatParam) and param.step is not None and param.log:
            raise ConfigError(f"{at}.step", "a float cannot be both stepped and log", file=file)
        if isinstance(param, IntParam) and param.log and param.step != 1:
            raise ConfigError(f"{at}.step", "a log-scaled int needs step 1", file=file)
        if (optimize.sampler.kind == "grid" and isinstance(param, FloatParam)
                and param.step is None):
            raise ConfigError(f"{at}.step", "a grid needs a step for float parameters",
                              file=file)
