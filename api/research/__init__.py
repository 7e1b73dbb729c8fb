"""Research workflows: parameter studies, walk-forward, validation, stress tests, reports.

The orchestration half of issue 12 (the pure computations are in `engine.research`):

    config.py     the research tables of a config file ([optimize], [walk_forward], ...)
    space.py      the search space as Optuna distributions; a trial's backtest TOML
    trial.py      one trial in a worker: backtests, the objective, pruning checkpoints
    executors.py  a local process pool or a Dask cluster
    study.py      the batched ask/tell loop that keeps studies deterministic and resumable
    optimize.py   `tradebus optimize`: load, check, run, summarize (DSR, PBO)
    data.py       the shared SQLite bar store windowed trials read
    windowed.py   walk-forward (stitched out-of-sample run) and purged k-fold
    stress.py     Monte Carlo, sensitivity, shocks of the best parameters
    html.py       the HTML reports
    cli.py        the subcommands, hooked into `tradebus`
"""

__all__ = ()
