"""The research subcommands of `tradebus`: optimize, walk-forward, validate, stress, report.

    tradebus optimize CONFIG.toml      search the config's [optimize] space (resumable)
    tradebus walk-forward CONFIG.toml  optimize in-sample, test out-of-sample, stitch
    tradebus validate CONFIG.toml      purged k-fold cross-validation with embargo
    tradebus stress CONFIG.toml        Monte Carlo, sensitivity and shocks of the best
    tradebus portfolio CONFIG.toml     all strategies in one backtest, capital allocated
    tradebus report RESULT.json        an HTML report of a saved backtest
    tradebus studies [STORAGE]         list the studies and documents of a storage file

`add_parsers(commands)` adds them to the main parser; `run(arguments)` runs the one
chosen and returns the exit code (0 ok, 1 nothing finished, 2 bad input).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the handlers import Optuna and friends only when a command runs
    import optuna
    from rich.console import Console
    from rich.progress import Progress

    from api.research.optimize import ResearchJob

__all__ = ("COMMANDS", "add_parsers", "run")

COMMANDS = ("optimize", "walk-forward", "validate", "stress", "portfolio", "report", "studies")
_HELP = {
    "optimize": "search a config's [optimize] space (resumable)",
    "walk-forward": "optimize in-sample, test out-of-sample, window by window",
    "validate": "purged k-fold cross-validation with embargo",
    "stress": "Monte Carlo, sensitivity and shocks of the best parameters",
    "portfolio": "every strategy in one backtest, capital allocated by [allocation]",
}


def add_parsers(commands: Any) -> None:
    """Add the research subcommands to `tradebus`'s subparsers."""
    for name in COMMANDS[:-2]:
        parser = commands.add_parser(name, help=_HELP[name])
        parser.add_argument("config", help="a backtest config with an [optimize] table")
        _common(parser)
    report = commands.add_parser("report", help="an HTML report of a saved backtest JSON")
    report.add_argument("result", help="a result JSON saved by tradebus backtest/optimize")
    report.add_argument("--out", help="the HTML file (default: beside the JSON)")
    studies = commands.add_parser("studies", help="list the studies and research documents")
    studies.add_argument("storage", nargs="?", default="results/studies.sqlite",
                         help="a study storage file (default: results/studies.sqlite)")
    studies.add_argument("--export", type=int, metavar="ID",
                         help="print research document ID as JSON instead")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output-dir", help="where results go (default: the config's)")
    parser.add_argument("--executor", choices=("process", "dask"),
                        help="override [optimize.executor] kind")
    parser.add_argument("--workers", type=int, help="worker processes (0: all cores)")
    parser.add_argument("--address", help="a Dask scheduler, tcp://host:8786")
    parser.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                        help="progress bar with the best result so far: auto (on a "
                             "terminal), always, or never (default: auto)")


def run(arguments: argparse.Namespace) -> int:
    """Run the research subcommand `arguments.command`; return the exit code."""
    import optuna
    from rich.console import Console

    from api.research.optimize import load_job
    from engine.errors import ConfigError, DataError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    console = Console()
    if arguments.command == "report":
        return _report(arguments, console)
    if arguments.command == "studies":
        return _studies(arguments, console)
    ctrl_c = CtrlC()
    try:
        with ctrl_c:
            job = load_job(arguments.config, output_dir=arguments.output_dir)
            job = _with_executor(job, arguments)
            if arguments.command == "optimize":
                return _optimize(job, arguments, console, ctrl_c)
            if arguments.command == "stress":
                return _stress(job, arguments, console, ctrl_c)
            if arguments.command == "portfolio":
                return _portfolio(job, console)
            return _windowed(job, arguments, console, ctrl_c)
    except ConfigError as error:
        return _input_error("config error", error)
    except DataError as error:
        return _input_error("data error", error)
    except KeyboardInterrupt:
        # Every finished trial is already stored; the ones in flight stay RUNNING and are
        # re-run, with the same parameters, by the next invocation.
        Console(stderr=True).print("interrupted: run the same command again to resume",
                                   highlight=False)
        return 130


class CtrlC:
    """Ctrl-C during a study: KeyboardInterrupt, and a flag that outlives a lost one.

    Python raises KeyboardInterrupt wherever the main thread happens to be. When that is
    a finalizer run by the garbage collector, it is printed as "Exception ignored" and
    dropped, and the study would go on to its end. The flag stays set: `check()`, called
    as each trial is stored, raises it again.
    """

    def __init__(self) -> None:
        self.pressed = False
        self._previous: Any = None

    def __enter__(self) -> CtrlC:
        # Only the main thread may set handlers; a SIGINT ignored by whoever started us
        # (a runner in the background) stays ignored.
        if threading.current_thread() is threading.main_thread():
            current = signal.getsignal(signal.SIGINT)
            if current is not signal.SIG_IGN:
                self._previous = signal.signal(signal.SIGINT, self._on_signal)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.pressed = True
        raise KeyboardInterrupt

    def check(self) -> None:
        """Raise KeyboardInterrupt if Ctrl-C was pressed, whether or not it got through."""
        if self.pressed:
            raise KeyboardInterrupt


def _with_executor(job: ResearchJob, arguments: argparse.Namespace) -> ResearchJob:
    import msgspec

    from api.research.config import ExecutorConfig

    current = job.optimize.executor
    executor = ExecutorConfig(
        kind=arguments.executor or current.kind,
        workers=current.workers if arguments.workers is None else arguments.workers,
        address=arguments.address or current.address,
    )
    optimize_config = msgspec.structs.replace(job.optimize, executor=executor)
    job.research = msgspec.structs.replace(job.research, optimize=optimize_config)
    return job


def _optimize(job: ResearchJob, arguments: argparse.Namespace, console: Console,
              ctrl_c: CtrlC) -> int:
    from api.research.html import study_report
    from api.research.optimize import best_trials, optimize, save_document, study_summary
    from engine.persistence import ResultStore, write_result_json

    with job.executor() as executor, _progress(console, arguments.progress) as bar:
        task = bar.add_task(f"{job.study_name()} ({executor.workers} workers)",
                            total=job.optimize.trials, best="")

        def on_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            ctrl_c.check()
            bar.update(task, completed=len(study.get_trials(deepcopy=False)),
                       best=_best_text(study))

        study = optimize(job, executor=executor, on_trial=on_trial)
    summary = study_summary(study, job)
    out = job.output_dir
    summary_path = save_document(job, "study", summary)
    counts = summary["counts"]
    console.print(f"study {study.study_name}: {counts['complete']} complete, "
                  f"{counts['pruned']} pruned, {counts['fail']} failed; "
                  f"{_best_text(study)}", highlight=False)
    best = best_trials(study)
    if not best:
        console.print("no trial completed: nothing to save", highlight=False)
        return 1
    text = job.config_text(dict(best[0].params))
    best_toml = out / f"{job.safe_name}.best.toml"
    best_toml.write_text(text)
    result = job.prepare(text).run()
    store = ResultStore(out / "results.sqlite")
    run_id = store.save(result, config=text)
    json_path = write_result_json(result, out / f"{job.safe_name}-best-{run_id}.json")
    html_path = study_report(study, summary, out / f"{job.safe_name}.study.html", best=result)
    console.print(f"saved {summary_path}, {best_toml}, run {run_id} in {store.path} "
                  f"and {json_path}; report {html_path}", highlight=False)
    return 0


def _windowed(job: ResearchJob, arguments: argparse.Namespace, console: Console,
              ctrl_c: CtrlC) -> int:
    import msgspec
    from rich.table import Table

    from api.research.html import backtest_report
    from api.research.optimize import save_document
    from api.research.windowed import run_validation, run_walk_forward
    from engine.persistence import ResultStore, write_result_json

    walk = arguments.command == "walk-forward"
    with job.executor() as executor, _progress(console, arguments.progress) as bar:
        task = bar.add_task(f"{job.study_name()} {arguments.command}", total=None, best="")

        def on_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            ctrl_c.check()
            bar.update(task, advance=1, best=f"{study.study_name}: {_best_text(study)}")

        run = run_walk_forward if walk else run_validation
        result = run(job, executor, on_trial=on_trial)
    metrics = [objective.metric for objective in job.optimize.objectives]
    table = Table(title=f"{arguments.command} {job.name}", header_style="bold")
    for column in ("split", "train bars", "test bars", "params",
                   *(f"in-sample {m}" for m in metrics),
                   *(f"out-of-sample {m}" for m in metrics)):
        table.add_column(column)
    for split in result.splits:
        table.add_row(
            str(split.index), " + ".join(f"{a}-{b}" for a, b in split.train),
            f"{split.test[0]}-{split.test[1]}",
            ", ".join(f"{k}={v}" for k, v in split.params.items()),
            *(f"{v:.6g}" for v in split.in_sample),
            *("n/a" if v is None else f"{v:.6g}" for v in split.out_of_sample))
    console.print(table)
    out = job.output_dir
    document = msgspec.to_builtins(result)
    path = save_document(job, "walk-forward" if walk else "validation", document)
    console.print(f"saved {path}", highlight=False)
    if result.stitched is not None:
        store = ResultStore(out / "results.sqlite")
        run_id = store.save(result.stitched, config=job.file.read_text())
        json_path = write_result_json(result.stitched,
                                      out / f"{job.safe_name}-walk-forward-{run_id}.json")
        report = result.stitched.report
        html_path = backtest_report(result.stitched, json_path.with_suffix(".html"),
                                    title=f"walk-forward {job.name}: stitched out-of-sample")
        console.print(f"stitched out-of-sample: total return {report.total_return:.4%}, "
                      f"max drawdown {report.max_drawdown:.4%}; run {run_id} in "
                      f"{store.path}, {json_path} and {html_path}", highlight=False)
    return 0


def _stress(job: ResearchJob, arguments: argparse.Namespace, console: Console,
            ctrl_c: CtrlC) -> int:
    import msgspec

    from api.research.html import stress_report
    from api.research.optimize import save_document
    from api.research.stress import run_stress

    with job.executor() as executor, _progress(console, arguments.progress) as bar:
        task = bar.add_task(f"{job.study_name()} stress", total=None, best="")

        def on_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            ctrl_c.check()
            bar.update(task, advance=1, best=_best_text(study))

        stress, _ = run_stress(job, executor, on_trial=on_trial)
    path = save_document(job, "stress", msgspec.to_builtins(stress))
    params = ", ".join(f"{k}={v}" for k, v in stress.params.items())
    console.print(f"stress of {params}", highlight=False)
    if stress.monte_carlo is not None:
        mc = stress.monte_carlo
        console.print(
            f"monte carlo ({mc.method}, {mc.paths} paths of {mc.trades} trades): final equity "
            f"p05 {mc.final_equity_quantiles['p05']:,.2f} p50 "
            f"{mc.final_equity_quantiles['p50']:,.2f}; max drawdown p50 "
            f"{mc.max_drawdown_quantiles['p50']:.4%} p95 {mc.max_drawdown_quantiles['p95']:.4%};"
            f" P(loss) {mc.probability_of_loss:.1%}", highlight=False)
    done = [p for p in stress.sensitivity if p.values is not None]
    console.print(f"sensitivity: {len(done)} of {len(stress.sensitivity)} neighbours ran",
                  highlight=False)
    for shock in stress.shocks:
        console.print(f"shock {shock.scenario} ({shock.description}): total return "
                      f"{shock.report['total_return']:.4%}, max drawdown "
                      f"{shock.report['max_drawdown']:.4%}", highlight=False)
    html_path = stress_report(stress, path.with_suffix(".html"))
    console.print(f"saved {path} and {html_path}", highlight=False)
    return 0


def _portfolio(job: ResearchJob, console: Console) -> int:
    import msgspec
    from rich.table import Table

    from api.research.html import portfolio_report
    from api.research.optimize import save_document
    from api.research.portfolio import run_portfolio
    from engine.persistence import ResultStore, write_result_json

    with job.executor() as executor:
        result = run_portfolio(job, executor)
    table = Table(title=f"portfolio {job.name}: {result.method}, sizing {result.sizing}",
                  header_style="bold")
    for column in ("strategy", "instrument", "weight", "risk share", "multiplier",
                   "quantity"):
        table.add_column(column)
    for a in result.allocations:
        table.add_row(a.strategy, a.instrument_id, f"{a.weight:.2%}",
                      f"{a.risk_contribution:.2%}", f"{a.multiplier:.3g}", a.quantity)
    console.print(table)
    if len(result.rebalances) > 1:
        console.print(f"rebalanced {len(result.rebalances)} times (the table shows the first "
                      "allocation; the JSON has every one)", highlight=False)
    report = result.run.report
    var = report.value_at_risk_95
    console.print(f"evaluation: total return {report.total_return:.4%}, sharpe "
                  f"{report.sharpe_ratio}, VaR 95 % historical "
                  f"{'n/a' if var is None else f'{var:.4%}'}, parametric "
                  f"{result.parametric_value_at_risk_95:.4%}", highlight=False)
    denied = result.run.statistics.get("risk", {}).get("denied_by_reason", {})
    if denied:
        reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(denied.items()))
        console.print(f"[yellow]risk denied orders of the allocation[/yellow] ({reasons}): "
                      "lower [allocation] capital or raise the [risk] limits", highlight=False)
    out = job.output_dir
    store = ResultStore(out / "results.sqlite")
    run_id = store.save(result.run, config=job.file.read_text())
    json_path = write_result_json(result.run, out / f"{job.safe_name}-portfolio-{run_id}.json")
    document = msgspec.to_builtins(result)
    document["run"] = {"run_id": run_id, "json": str(json_path),
                       "report": document["run"]["report"]}
    path = save_document(job, "portfolio", document)
    html_path = portfolio_report(result, out / f"{job.safe_name}.portfolio.html")
    console.print(f"saved run {run_id} in {store.path}, {json_path}, {path} and {html_path}",
                  highlight=False)
    return 0


def _report(arguments: argparse.Namespace, console: Console) -> int:
    from pathlib import Path

    import msgspec

    from api.research.html import SavedResult, backtest_report

    source = Path(arguments.result)
    try:
        result = msgspec.json.decode(source.read_bytes(), type=SavedResult)
    except OSError as error:
        return _input_error("input error", ValueError(f"{source}: {error.strerror}"))
    except msgspec.DecodeError as error:
        return _input_error("input error", ValueError(f"{source}: {error}"))
    path = backtest_report(result, Path(arguments.out or source.with_suffix(".html")))
    console.print(f"saved {path}", highlight=False)
    return 0


def _studies(arguments: argparse.Namespace, console: Console) -> int:
    import json
    import sys
    from pathlib import Path

    import optuna
    from rich.table import Table

    from api.research.store import DocumentStore

    path = Path(arguments.storage)
    if not path.exists():
        return _input_error("input error", ValueError(f"{path}: no such file"))
    store = DocumentStore(path)
    if arguments.export is not None:
        try:
            sys.stdout.write(json.dumps(store.load(arguments.export), indent=1) + "\n")
        except KeyError:
            return _input_error("input error", ValueError(f"document {arguments.export}: "
                                                          f"not in {path}"))
        return 0
    table = Table(title=f"studies in {path}", header_style="bold")
    for column in ("study", "trials", "best"):
        table.add_column(column)
    for summary in optuna.get_all_study_summaries(f"sqlite:///{path.resolve()}"):
        best = summary.best_trial
        shown = "n/a" if best is None else f"{best.values} (trial {best.number}: {best.params})"
        table.add_row(summary.study_name, str(summary.n_trials), shown)
    console.print(table)
    documents = Table(title="research documents", header_style="bold")
    for column in ("id", "kind", "name"):
        documents.add_column(column)
    for document_id, kind, name, _ in store.list():
        documents.add_row(str(document_id), kind, name)
    console.print(documents)
    return 0


def _best_text(study: optuna.Study) -> str:
    from api.research.optimize import best_trials

    best = best_trials(study)
    if not best:
        return "best so far: none"
    if len(best) > 1 or len(study.directions) > 1:
        return f"pareto front so far: {len(best)} trials"
    trial = best[0]
    params = ", ".join(f"{k}={v}" for k, v in trial.params.items())
    return f"best so far {trial.value:.6g} (trial {trial.number}: {params})"


def _progress(console: Console, mode: str) -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[best]}"),
        console=console,
        transient=False,
        disable=mode == "never" or (mode == "auto" and not console.is_terminal),
    )


def _input_error(kind: str, error: Exception) -> int:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, soft_wrap=True).print(
        f"[red]{kind}[/red] {escape(str(error))}", highlight=False)
    return 2

