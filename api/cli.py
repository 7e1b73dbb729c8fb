"""The `tradebus` command: the composition root that runs the engine with adapters.

    tradebus backtest [CONFIG.toml]   run a backtest (the bundled demo without CONFIG)
    tradebus run [CONFIG.toml]        run the daemon (paper mode on the sample without CONFIG)
    tradebus record CONFIG.toml       record the config's feeds to SQLite
    tradebus journal list|export      read the daemon's event journal

Exit codes: 0 success, 1 the run failed or a strategy faulted, 2 bad input (config or
data), reported in one line on stderr that names the file and the field or line.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.compose import prepare_backtest
from api.journal_command import add_journal_parser, run_journal
from api.research import cli as research_cli
from api.run_command import add_run_parsers, run_daemon_command, run_record_command
from engine.analysis import report_rows
from engine.backtest import BacktestResult
from engine.errors import ConfigError, DataError
from engine.persistence import ResultStore, write_result_json

__all__ = ("main",)

PROGRESS_MIN_ROWS = 200_000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tradebus", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    backtest = commands.add_parser("backtest", help="run a backtest from a TOML config")
    backtest.add_argument("config", nargs="?", help="config file (default: the bundled demo)")
    backtest.add_argument("--output-dir", help="where results go (overrides the config)")
    backtest.add_argument("--no-save", action="store_true", help="print only; save nothing")
    backtest.add_argument("--progress", choices=("auto", "always", "never"), default="auto")
    add_run_parsers(commands)
    add_journal_parser(commands)
    research_cli.add_parsers(commands)
    arguments = parser.parse_args(argv)
    if arguments.command in research_cli.COMMANDS:
        return research_cli.run(arguments)
    if arguments.command == "run":
        return run_daemon_command(arguments)
    if arguments.command == "record":
        return run_record_command(arguments)
    if arguments.command == "journal":
        return run_journal(arguments)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    console = Console()
    if arguments.command == "backtest":
        return _backtest(arguments, console)
    return 2  # unreachable: argparse requires a command


def _backtest(arguments: argparse.Namespace, console: Console) -> int:
    try:
        prepared = prepare_backtest(arguments.config, environ=os.environ)
    except ConfigError as error:
        return _input_error("config error", error)
    config = prepared.config
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
        output = Path(arguments.output_dir or config.backtest.output_dir)
        store = ResultStore(output / "results.sqlite")
        run_id = store.save(result, config=prepared.file.read_text())
        safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", result.name).strip("._") or "backtest"
        json_path = write_result_json(result, output / f"{safe_name}-{run_id}.json")
        console.print(f"saved run {run_id} to {store.path} and {json_path}", highlight=False)
    # A strategy that faulted was isolated and the run finished, but its results are
    # not what the config asked for: say so in the exit code too.
    return 1 if result.faults else 0


def _input_error(kind: str, error: Exception) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
