"""The search space as Optuna distributions, and a trial's backtest config as TOML text.

A trial is a backtest config: the research file's backtest part with the trial's
parameters written into `[strategies.params]` and, for a window of the data, its
`[[data]]` pointed at the study's shared SQLite bar store with `start_ns`/`end_ns`.
The text goes through `prepare_backtest`, the same checked path as `tradebus backtest`,
so an impossible combination (fast_period >= slow_period) fails as a ConfigError.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna
import tomli_w

from adapters.data.config import resolve_data_path
from api.research.config import CategoricalParam, FloatParam, IntParam, ParamSpec

__all__ = (
    "Window",
    "absolute_paths",
    "distributions",
    "grid_size",
    "grid_values",
    "trial_config",
)

Window = tuple[int, int]
"""`(start_ns, end_ns)`: bars with `start_ns <= ts_event < end_ns`."""


def distributions(params: Sequence[ParamSpec]) -> dict[str, optuna.distributions.BaseDistribution]:
    """Return the Optuna distribution of each declared parameter, by name."""
    result: dict[str, optuna.distributions.BaseDistribution] = {}
    for param in params:
        if isinstance(param, IntParam):
            result[param.name] = optuna.distributions.IntDistribution(
                param.low, param.high, step=param.step, log=param.log)
        elif isinstance(param, FloatParam):
            result[param.name] = optuna.distributions.FloatDistribution(
                param.low, param.high, step=param.step, log=param.log)
        else:
            result[param.name] = optuna.distributions.CategoricalDistribution(param.choices)
    return result


def grid_values(params: Sequence[ParamSpec]) -> dict[str, list[Any]]:
    """Every value of each parameter, for the grid sampler (floats need a step)."""
    grid: dict[str, list[Any]] = {}
    for param in params:
        if isinstance(param, CategoricalParam):
            grid[param.name] = list(param.choices)
        elif isinstance(param, IntParam):
            grid[param.name] = list(range(param.low, param.high + 1, param.step))
        else:
            if param.step is None:  # refused when the file is loaded
                raise ValueError(f"parameter {param.name}: a grid needs a step")
            count = int(round((param.high - param.low) / param.step)) + 1
            grid[param.name] = [param.low + i * param.step for i in range(count)]
    return grid


def grid_size(params: Sequence[ParamSpec]) -> int:
    size = 1
    for values in grid_values(params).values():
        size *= len(values)
    return size


def absolute_paths(backtest: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """Copy the backtest part with every `[[data]]` path absolute, so it runs from anywhere."""
    result = copy.deepcopy(dict(backtest))
    for source in result.get("data", []):
        if isinstance(source, dict) and isinstance(source.get("path"), str):
            source["path"] = str(resolve_data_path(source["path"], base=base).resolve())
    return result


def trial_config(
    backtest: Mapping[str, Any],
    params: Sequence[ParamSpec],
    values: Mapping[str, Any],
    *,
    store: str | None = None,
    window: Window | None = None,
) -> str:
    """Return the TOML of one trial's backtest: `values` set, restricted to `window`.

    `store` is the study's SQLite bar store holding every `[[data]]` source (see
    `api.research.data.stage`); with it, each source reads its bars from there.
    """
    config = copy.deepcopy(dict(backtest))
    strategies: list[dict[str, Any]] = config.get("strategies", [])
    by_id = {spec.get("id"): spec for spec in strategies}
    for param in params:
        if param.name not in values:  # not searched here: the file's own value stands
            continue
        target = by_id[param.strategy] if param.strategy is not None else strategies[0]
        target.setdefault("params", {})[param.name] = values[param.name]
    if store is not None:
        sources = []
        for source in config.get("data", []):
            moved: dict[str, Any] = {
                "kind": "sqlite", "path": store,
                "instrument_id": source["instrument_id"],
                "timeframe": source.get("timeframe", "1m"),
            }
            if window is not None:
                moved["start_ns"], moved["end_ns"] = window
            sources.append(moved)
        config["data"] = sources
    return tomli_w.dumps(config)
