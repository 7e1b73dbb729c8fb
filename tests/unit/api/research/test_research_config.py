"""The research tables: what is refused before a trial runs, naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.research.config import CategoricalParam, FloatParam, IntParam, load_research_file
from api.research.optimize import load_job
from api.research.space import distributions, grid_values, trial_config
from engine.errors import ConfigError


def test_load_research_file_splits_research_tables_from_backtest(research_file: Any) -> None:
    research, backtest = load_research_file(research_file())

    assert "optimize" not in backtest
    assert [p.name for p in research.optimize.params] == ["fast_period", "slow_period"]
    assert research.optimize.objectives[0].metric == "total_return"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"objectives": '{ metric = "sharp" }'}, "$.optimize.objectives[0].metric"),
        ({"sampler": "cmaes", "sampler_extra": "",
          "objectives": '{ metric = "sharpe_ratio" }, { metric = "max_drawdown" }'},
         "$.optimize.sampler.kind"),
        ({"sampler": "annealing", "sampler_extra": ""}, "$.optimize.sampler.kind"),
        ({"extra": '[[optimize.params]]\nkind = "float"\nname = "tolerance"\nlow = 0.0\n'
                   'high = 1.0'} | {"sampler": "grid", "sampler_extra": ""},
         "$.optimize.params[2].step"),
        ({"extra": '[[optimize.params]]\nkind = "int"\nname = "fast_period"\nlow = 1\n'
                   'high = 2'}, "$.optimize.params[2].name"),
        ({"extra": '[[optimize.params]]\nkind = "int"\nname = "x"\nstrategy = "nope"\n'
                   'low = 1\nhigh = 2'}, "$.optimize.params[2].strategy"),
    ],
)
def test_load_research_file_refuses_bad_tables(
    research_file: Any, overrides: dict[str, str], field: str
) -> None:
    path = research_file(**overrides)

    with pytest.raises(ConfigError) as caught:
        load_research_file(path)

    assert caught.value.path == field


def test_load_job_checks_the_backtest_part(research_file: Any, tmp_path: Path) -> None:
    path = research_file()
    path.write_text(path.read_text().replace('quote_currency = "USDT"', ""))

    with pytest.raises(ConfigError) as caught:
        load_job(path, output_dir=tmp_path)

    assert "quote_currency" in caught.value.path


def test_space_distributions_and_grid_cover_each_kind() -> None:
    params = [IntParam(name="n", low=2, high=10, step=4),
              FloatParam(name="x", low=0.5, high=1.0, step=0.25),
              FloatParam(name="y", low=0.01, high=1.0, log=True),
              CategoricalParam(name="c", choices=["a", "b"])]

    space = distributions(params)
    grid = grid_values(params[:2] + params[3:])

    assert space["y"].log is True  # type: ignore[attr-defined]
    assert grid == {"n": [2, 6, 10], "x": [0.5, 0.75, 1.0], "c": ["a", "b"]}


def test_trial_config_writes_params_and_window_into_the_backtest(research_file: Any,
                                                                   tmp_path: Path) -> None:
    job = load_job(research_file(), output_dir=tmp_path)

    text = trial_config(job.backtest, job.optimize.params, {"fast_period": 4},
                        store="/data/bars.sqlite", window=(10, 20))
    prepared_text = text.replace("/data/bars.sqlite", "x")

    assert "fast_period = 4" in text
    assert 'kind = "sqlite"' in text and "start_ns = 10" in text and "end_ns = 20" in text
    assert "slow_period" not in prepared_text  # not searched: the strategy default stands
