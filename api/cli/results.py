"""`tradebus results`: read what `tradebus backtest` saved, without opening SQLite by hand.

    tradebus results list [--results FILE]                   the saved runs
    tradebus results trades [--run N] [--strategy ID] [--results FILE]   round trips
    tradebus results fills [--run N] [--strategy ID] [--results FILE]    fills

`--run` defaults to the last run saved; `--results` to `results/results.sqlite` (the
demo's `output_dir`). Exit codes: 0, 2 for a missing file or an unknown run, in one
stderr line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Final

from rich.console import Console

from engine.analysis import ClosedTrade
from engine.events.fills import OrderFilled
from engine.persistence import ResultStore
from engine.persistence.results import StoredFill, StoredTrade

__all__ = ("DEFAULT_RESULTS_PATH", "StrategyBreakdown", "add_parser", "breakdown",
           "print_breakdown", "run_results")

DEFAULT_RESULTS_PATH: Final = Path("results") / "results.sqlite"


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `results list|trades|fills` to the `tradebus` subcommands."""
    results = commands.add_parser("results", help="list saved backtest runs, their trades "
                                  "and fills")
    results.set_defaults(handler=run_results)
    actions = results.add_subparsers(dest="results_command", required=True)
    listing = actions.add_parser("list", help="the saved runs")
    trades = actions.add_parser("trades", help="a run's round trips, with their strategy")
    fills = actions.add_parser("fills", help="a run's fills, with their strategy")
    for action in (listing, trades, fills):
        action.add_argument("--results", type=Path, default=DEFAULT_RESULTS_PATH,
                            help=f"results file (default: {DEFAULT_RESULTS_PATH})")
    for action in (trades, fills):
        action.add_argument("--run", type=int, metavar="N",
                            help="run id (default: the last run saved)")
        action.add_argument("--strategy", metavar="ID", help="only this strategy's")


def run_results(arguments: argparse.Namespace) -> int:
    """Run the parsed `results` subcommand; return the exit code."""
    path: Path = arguments.results
    if not path.is_file():
        return _input_error(f"results {path}: no such file (run `tradebus backtest` first)")
    store = ResultStore(path)
    runs = store.run_summaries()
    if arguments.results_command == "list":
        _print_rows(("run", "name", "bars", "trades", "fills"),
                    [(str(r.run_id), r.name, str(r.items_processed), str(r.trades), str(r.fills))
                     for r in runs])
        return 0
    if not runs:
        return _input_error(f"results {path}: no runs saved")
    run_id = arguments.run if arguments.run is not None else runs[-1].run_id
    if run_id not in {run.run_id for run in runs}:
        return _input_error(f"results {path}: --run {run_id}: no such run "
                            f"(runs {runs[0].run_id}-{runs[-1].run_id})")
    if arguments.results_command == "trades":
        _print_trades(store.trades(run_id), arguments.strategy)
    else:
        _print_fills(store.fills(run_id), arguments.strategy)
    return 0


def _print_trades(trades: Sequence[StoredTrade], strategy: str | None) -> None:
    _print_rows(
        ("#", "strategy", "instrument", "side", "opened", "closed", "quantity", "entry",
         "exit", "pnl", "fees"),
        [(str(t.seq + 1), t.strategy_id or "?", t.instrument_id, t.side, _time(t.opened_ns),
          _time(t.closed_ns), t.quantity, t.average_entry_price, t.average_exit_price,
          t.realized_pnl, t.fees)
         for t in trades if strategy is None or t.strategy_id == strategy],
    )


def _print_fills(fills: Sequence[StoredFill], strategy: str | None) -> None:
    _print_rows(
        ("#", "time", "strategy", "order", "instrument", "side", "quantity", "price",
         "commission"),
        [(str(f.seq + 1), _time(f.ts_event), f.strategy_id or "?", f.client_order_id,
          f.instrument_id, f.side, f.quantity, f.price, f.commission)
         for f in fills if strategy is None or f.strategy_id == strategy],
    )


def _print_rows(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Aligned plain columns (greppable, never truncated to the terminal's width)."""
    sys.stdout.write(_format_rows(headers, rows))


def _format_rows(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    table = [tuple(headers), *rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(headers))]
    return "".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths,
                                                                      strict=True)).rstrip()
                   + "\n" for row in table)


@dataclass(slots=True)
class StrategyBreakdown:
    """One strategy's share of a run: its round trips, its money, its fills."""

    strategy_id: str
    trades: int = 0
    wins: int = 0
    realized_pnl: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    fills: int = 0

    @property
    def net_pnl(self) -> Decimal:
        return self.realized_pnl - self.fees


def breakdown(
    trades: Sequence[ClosedTrade], strategy_ids: Sequence[str], fills: Iterable[OrderFilled]
) -> list[StrategyBreakdown]:
    """Per strategy, from a result's trades (with `trade_strategy_ids`) and fills."""
    rows: dict[str, StrategyBreakdown] = {}
    for index, trade in enumerate(trades):
        owner = strategy_ids[index] if index < len(strategy_ids) else "?"
        row = rows.setdefault(owner, StrategyBreakdown(owner))
        row.trades += 1
        row.wins += trade.realized_pnl - trade.fees > 0
        row.realized_pnl += trade.realized_pnl
        row.fees += trade.fees
    for fill in fills:
        rows.setdefault(fill.strategy_id, StrategyBreakdown(fill.strategy_id)).fills += 1
    return [rows[key] for key in sorted(rows)]


def print_breakdown(console: Console, rows: Sequence[StrategyBreakdown]) -> None:
    """The backtest report's per-strategy table (closed round trips; net = pnl - fees)."""
    console.print("per strategy (closed round trips):", style="bold", highlight=False)
    console.print(_format_rows(
        ("strategy", "round_trips", "win_rate", "realized_pnl", "fees", "net_pnl", "fills"),
        [(row.strategy_id, str(row.trades),
          f"{row.wins / row.trades:.1%}" if row.trades else "-",
          str(row.realized_pnl), str(row.fees), str(row.net_pnl), str(row.fills))
         for row in rows],
    ), highlight=False, end="", soft_wrap=True)


def _time(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _input_error(message: str) -> int:
    sys.stderr.write(f"results error {message}\n")
    return 2
