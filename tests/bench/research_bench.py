"""Research benchmark: trials per minute of the canonical SMA-cross study, 1 process vs N.

    python tests/bench/research_bench.py [--bars 100000] [--trials 16] [--workers N]
                                         [--json PATH] [--memory-bars 100000 1000000]

Generates the canonical bars (run.py's generator, byte-identical to
../shared/bench/make_bars.py --seed 42; cached in bench-data/), then runs the same
study (random sampler, seed 42, SMA fast 5-20 x slow 25-60, objective Sharpe) twice: on
a process pool of one worker and on one of `workers`
(default: every core). Each trial is a full-graph backtest of all the bars. Prints the
trials per minute of each, the speed-up, and the scaling efficiency (speed-up / workers;
ideal speed-up = the number of workers). Pool start-up is timed apart from the trials.
Then one trial's peak memory (RSS) in a fresh process at each of `--memory-bars`: trials
stream the bars from disk, so it should hardly grow with the length of the history.
Beside it, the machine's own speed-up on a pure-CPU loop at 1 and N processes: on a
shared machine that is the ceiling. The exit status is non-zero only if the two runs
disagree on any trial's result.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STUDY = """
[backtest]
name = "research-bench"

[portfolio]
account_id = "SIM-001"
base_currency = "USDT"
starting_balances = {{ USDT = "10000000" }}
equity_interval_ns = 3_600_000_000_000

[[instruments]]
symbol = "BTC/USDT"
base_currency = "BTC"
quote_currency = "USDT"
price_increment = "0.01"
size_increment = "0.001"
taker_fee = "0.001"
maker_fee = "0.001"

[[data]]
kind = "csv"
path = "{data}"
instrument_id = "BTC/USDT.SIM"

[[strategies]]
id = "sma-cross"
class = "strategies.sma_cross:SmaCross"
[strategies.params]
instrument_id = "BTC/USDT.SIM"

[optimize]
trials = {trials}
batch_size = {trials}
objectives = [{{ metric = "sharpe_ratio" }}]
sampler = {{ kind = "random", seed = 42 }}

[[optimize.params]]
kind = "int"
name = "fast_period"
low = 5
high = 20

[[optimize.params]]
kind = "int"
name = "slow_period"
low = 25
high = 60
"""


def canonical_csv(bars: int) -> Path:
    """The canonical data set, made the way the main benchmark makes it (one generator)."""
    from run import canonical_csv as make

    return make(bars)


def measure(study_file: Path, output: Path, workers: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from api.research.executors import ProcessExecutor
    from api.research.optimize import load_job, optimize

    job = load_job(study_file, output_dir=output)
    started = time.perf_counter()
    with ProcessExecutor(workers) as pool:
        pool.start()  # every process up and tradebus imported before the clock starts
        ready = time.perf_counter()
        study = optimize(job, executor=pool)
        finished = time.perf_counter()
    trials = len(study.trials)
    seconds = finished - ready
    return {
        "workers": workers,
        "trials": trials,
        "startup_seconds": ready - started,
        "trial_seconds": seconds,
        "trials_per_minute": trials / seconds * 60,
        "results": [(t.number, t.state.name, t.params, t.values) for t in study.trials],
    }


def _burn(count: int) -> int:
    total = 0
    for i in range(count):
        total += i * i
    return total


def machine_scaling(workers: int, tasks: int = 8, count: int = 4_000_000) -> float:
    """The speed-up the machine itself gives `workers` processes on pure CPU work.

    On a machine shared with other jobs this is below `workers`; the study's speed-up
    cannot beat it, so both are printed side by side.
    """
    from concurrent.futures import ProcessPoolExecutor

    seconds = []
    for size in (1, workers):
        with ProcessPoolExecutor(size) as pool:
            list(pool.map(_burn, [1000] * size))  # start the workers first
            started = time.perf_counter()
            list(pool.map(_burn, [count] * tasks))
            seconds.append(time.perf_counter() - started)
    return seconds[0] / seconds[1]


def trial_memory(study_file: Path) -> dict[str, float]:
    """In this (fresh) process: peak RSS after the imports, and after one trial."""
    sys.path.insert(0, str(ROOT))
    from api.research.optimize import load_job
    from api.research.trial import TrialTask, run_trial

    job = load_job(study_file, output_dir=study_file.parent / "memory")
    task = TrialTask(number=0, params={"fast_period": 10, "slow_period": 30},
                     configs=[job.config_text({"fast_period": 10, "slow_period": 30})],
                     objectives=job.optimize.objectives)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    outcome = run_trial(task)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if outcome.state != "complete":
        raise RuntimeError(f"the trial failed: {outcome.reason}")
    return {"imports_rss_mb": before, "trial_peak_rss_mb": after, "trial_seconds": seconds}


def memory_figures(bars: int) -> dict[str, float]:
    data = canonical_csv(bars)
    with tempfile.TemporaryDirectory(prefix="research-bench-") as folder:
        study_file = Path(folder) / "study.toml"
        study_file.write_text(STUDY.format(data=data, trials=1))
        done = subprocess.run([sys.executable, __file__, "--trial-memory", str(study_file)],
                              capture_output=True, text=True, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--memory-bars", type=int, nargs="*", default=[100_000, 1_000_000],
                        help="measure one trial's peak memory at these sizes (none: skip)")
    parser.add_argument("--trial-memory", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.trial_memory:
        print(json.dumps(trial_memory(arguments.trial_memory)))
        return
    data = canonical_csv(arguments.bars)
    with tempfile.TemporaryDirectory(prefix="research-bench-") as folder:
        study_file = Path(folder) / "study.toml"
        study_file.write_text(STUDY.format(data=data, trials=arguments.trials))
        single = measure(study_file, Path(folder) / "one", 1)
        pooled = measure(study_file, Path(folder) / "many", arguments.workers)
    same = single["results"] == pooled["results"]
    control = machine_scaling(arguments.workers)
    speedup = pooled["trials_per_minute"] / single["trials_per_minute"]
    efficiency = speedup / arguments.workers
    rows = [
        ("bars per trial", f"{arguments.bars:,}"),
        ("trials", f"{single['trials']}"),
        ("cores on this machine", f"{os.cpu_count()}"),
        ("1 process: trials per minute", f"{single['trials_per_minute']:.1f}"),
        (f"{arguments.workers} processes: trials per minute",
         f"{pooled['trials_per_minute']:.1f}"),
        ("speed-up (ideal = workers)", f"{speedup:.2f}x of {arguments.workers}x"),
        ("scaling efficiency", f"{efficiency:.0%}"),
        ("the machine's own speed-up on pure CPU work", f"{control:.2f}x (load now: "
         f"{os.getloadavg()[0]:.2f})"),
        ("pool start-up, 1 / N workers",
         f"{single['startup_seconds']:.2f} s / {pooled['startup_seconds']:.2f} s"),
        ("same trial results on both", "yes" if same else "NO"),
    ]
    memory = {bars: memory_figures(bars) for bars in arguments.memory_bars}
    for bars, figures in memory.items():
        rows.append((f"one trial, {bars:,} bars: peak RSS (imports alone)",
                     f"{figures['trial_peak_rss_mb']:.0f} MB ({figures['imports_rss_mb']:.0f} MB)"
                     f", {figures['trial_seconds']:.2f} s"))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    if arguments.json:
        figures = {
            "bars": arguments.bars, "trials": single["trials"], "workers": arguments.workers,
            "cores": os.cpu_count(),
            "single_trials_per_minute": single["trials_per_minute"],
            "pool_trials_per_minute": pooled["trials_per_minute"],
            "speedup": speedup, "scaling_efficiency": efficiency,
            "machine_cpu_speedup": control,
            "single_startup_seconds": single["startup_seconds"],
            "pool_startup_seconds": pooled["startup_seconds"], "same_results": same,
            "trial_memory": {str(bars): figures for bars, figures in memory.items()},
        }
        arguments.json.write_text(json.dumps(figures, indent=2) + "\n")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
