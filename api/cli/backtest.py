"""`tradebus backtest [CONFIG.toml]`: run a backtest, print its report, save its results.

Without CONFIG it runs the bundled demo (`api/defaults/backtest.toml`). Exit codes: 0,
1 when a strategy faulted (it was isolated, but the results are not what was asked
for), 2 for a bad config or bad data, in one stderr line naming the file and field or line.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli.results import breakdown, print_breakdown
from api.compose import prepare_backtest
from engine.analysis import report_rows
from engine.backtest import BacktestResult
from engine.errors import ConfigError, DataError
from engine.persistence import ResultStore, write_result_json

__all__ = ("add_parser", "run_backtest_command")

PROGRESS_MIN_ROWS = 200_000


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `backtest` to the `tradebus` subcommands."""
    parser = commands.add_parser("backtest", help="run a backtest from a TOML config")
    parser.add_argument("config", nargs="?", help="config file (default: the bundled demo)")
    parser.add_argument("--output-dir", help="where results go (overrides the config)")
    parser.add_argument("--no-save", action="store_true", help="print only; save nothing")
    parser.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                        help="show a progress bar: auto (default) on a terminal for runs of "
                             f"{PROGRESS_MIN_ROWS:,}+ bars (or of unknown length), always, "
                             "or never")
    parser.set_defaults(handler=run_backtest_command)


def run_backtest_command(arguments: argparse.Namespace) -> int:
    """Run the parsed `backtest` subcommand; return the exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return _backtest(arguments, Console())


def _backtest(arguments: argparse.Namespace, console: Console) -> int:
    try:
        prepared = prepare_backtest(arguments.config, environ=os.environ)
    except ConfigError as error:
        return _input_error("config error", error)
    config = prepared.config
    output = Path(arguments.output_dir or config.backtest.output_dir)
    if not arguments.no_save:
        # Before the run, not after it: a run whose results cannot be saved is lost.
        problem = _unwritable(output)
        if problem is not None:
            where = ("--output-dir" if arguments.output_dir
                     else f"{prepared.file}: config field $.backtest.output_dir")
            return _input_error("config error", f"{where}: {output}: {problem}")
    show_progress = arguments.progress == "always" or (
        arguments.progress == "auto"
        and console.is_terminal
        and (prepared.rows is None or prepared.rows >= PROGRESS_MIN_ROWS)
    )
    started = time.perf_counter()
    try:
        if show_progress:
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as bar:
                task = bar.add_task(config.backtest.name, total=prepared.rows)
                result = prepared.run(progress=lambda n: bar.update(task, completed=n))
        else:
            result = prepared.run()
    except DataError as error:
        return _input_error("data error", error)
    elapsed = time.perf_counter() - started
    _print_summary(console, result, elapsed)
    if not arguments.no_save:
        store = ResultStore(output / "results.sqlite")
        run_id = store.save(result, config=prepared.file.read_text())
        safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", result.name).strip("._") or "backtest"
        json_path = write_result_json(result, output / f"{safe_name}-{run_id}.json")
        console.print(f"saved run {run_id} to {store.path} and {json_path}", highlight=False)
    # A strategy that faulted was isolated and the run finished, but its results are
    # not what the config asked for: say so in the exit code too.
    return 1 if result.faults else 0


def _unwritable(folder: Path) -> str | None:
    """Why results cannot be written to `folder` (made if missing), or None if they can."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return f"cannot create the folder: {error.strerror or error}"
    if not os.access(folder, os.W_OK | os.X_OK):
        return "not writable"
    return None


def _input_error(kind: str, error: Exception | str) -> int:
    """Report bad input on one stderr line (never wrapped: scripts grep it) and return 2.

    The message is escaped because it quotes config syntax such as `[[instruments]]`,
    which rich would otherwise swallow as markup.
    """
    Console(stderr=True, soft_wrap=True).print(
        f"[red]{kind}[/red] {escape(str(error))}", highlight=False
    )
    return 2


def _print_summary(console: Console, result: BacktestResult, elapsed: float) -> None:
    table = Table(title=f"backtest {result.name}", show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rate = result.items_processed / elapsed if elapsed > 0 else 0.0
    table.add_row("bars replayed", f"{result.items_processed:,}")
    table.add_row("wall time", f"{elapsed:.2f} s ({rate:,.0f} bars/s)")
    for label, value in report_rows(result.report):
        table.add_row(label, value)
    for currency, amount in sorted(result.balances.items()):
        table.add_row(f"balance {currency}", f"{amount:,}")
    if result.faults:
        table.add_row("strategy faults", ", ".join(f.actor_id for f in result.faults))
    console.print(table)
    print_breakdown(console, breakdown(result.trades, result.trade_strategy_ids, result.fills))
