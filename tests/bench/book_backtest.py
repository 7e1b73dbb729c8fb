"""The market maker backtested on L2 deltas through the full graph, beside a bare loop.

    python tests/bench/book_backtest.py [--deltas 1000000] [--levels 1000]
    (run.py runs it in a child)

The deltas are book_bench.py's seeded generator (seed 7: a snapshot of `--levels`
levels a side, then updates, adds and deletes near the touch, a fresh snapshot every
100,000 deltas). The engine run: every delta through `run_backtest` (replay driver,
market cache applying it to the book, simulated venue matching the quotes against the
book, bus, `strategies.market_maker.MarketMaker` reading the mid on every delta that
ends a message, risk, order manager, portfolio), timed from the start of the run to
its end; the deltas are made before the clock starts. The bare loop, in the same
process right after: the same deltas into a dict per side with the best bid and ask
tracked (a max/min over the side when the best level goes), the mid on each `last`
delta and the same requote decision (mid moved by `requote_ticks` ticks), no orders.
Both figures are deltas per second, by wall clock and by CPU time (what a machine
busy with other jobs leaves less noisy); the ratios are engine time / bare-loop time. Prints
a table, then one JSON line (the last line).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
for path in (ROOT, HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from book_bench import INSTRUMENT_ID, TICK, make_deltas  # noqa: E402

from adapters.sim import SimVenue, SimVenueConfig  # noqa: E402
from engine.actors.portfolio import PortfolioConfig  # noqa: E402
from engine.actors.risk import RiskConfig  # noqa: E402
from engine.backtest import BacktestSettings, run_backtest  # noqa: E402
from engine.cache import MarketCache  # noqa: E402
from engine.domain import BookAction, OrderSide  # noqa: E402
from engine.events import BookDelta, Instrument  # noqa: E402
from engine.instruments import InstrumentRegistry  # noqa: E402
from engine.replay import ReplaySource  # noqa: E402
from strategies.market_maker import MarketMaker, MarketMakerConfig  # noqa: E402

HALF_SPREAD_TICKS = 1
REQUOTE_TICKS = 4


def instrument() -> Instrument:
    return Instrument(
        instrument_id=INSTRUMENT_ID, symbol="BTC/USDT", venue="SIM", base_currency="BTC",
        quote_currency="USDT", price_increment=TICK, size_increment=Decimal("0.001"),
        maker_fee=Decimal("0.0002"), taker_fee=Decimal("0.001"), ts_event=0, ts_init=0,
    )


def engine_run(deltas: list[BookDelta], resting_fills: str = "trade_through") -> dict[str, Any]:
    """The market maker over `deltas` through the full graph; its figures and outcome."""
    traded = instrument()
    cache = MarketCache()
    venue = SimVenue(SimVenueConfig(resting_fills=resting_fills),  # type: ignore[arg-type]
                     InstrumentRegistry([traded]), cache=cache)
    strategy = MarketMaker("mm", MarketMakerConfig(
        instrument_id=INSTRUMENT_ID, quantity=Decimal("0.01"), half_spread_ticks=HALF_SPREAD_TICKS,
        requote_ticks=REQUOTE_TICKS, max_inventory=Decimal("0.1")))
    started, cpu_started = time.perf_counter(), time.process_time()
    result = run_backtest(
        settings=BacktestSettings(name="book-bench"),
        instruments=[traded],
        sources=[ReplaySource(deltas)],
        bar_types=[],
        venues=[venue],
        strategies=[strategy],
        portfolio=PortfolioConfig(starting_balances={"USDT": Decimal(1_000_000),
                                                     "BTC": Decimal(10)}),
        risk=RiskConfig(),
        cache=cache,
    )
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started  # what a busy machine's waits leave out
    statistics = venue.statistics()
    return {
        "deltas": result.items_processed,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "orders": statistics.orders_accepted,
        "fills": len(result.fills),
        "final_equity": str(result.report.final_equity),
    }


def bare_loop(deltas: list[BookDelta]) -> tuple[float, float, int]:
    """Seconds (wall, CPU) for the bare equivalent (see the module docstring) and its
    requote count."""
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    best_bid = best_ask = None
    quoted = None
    requotes = 0
    band = REQUOTE_TICKS * float(TICK)
    clear, delete, buy = BookAction.CLEAR, BookAction.DELETE, OrderSide.BUY
    started, cpu_started = time.perf_counter(), time.process_time()
    for delta in deltas:
        action = delta.action
        price = delta.price
        if action == clear:
            bids.clear()
            asks.clear()
            best_bid = best_ask = None
        elif delta.side == buy:
            if action == delete or delta.size == 0.0:
                bids.pop(price, None)
                if price == best_bid:
                    best_bid = max(bids) if bids else None
            else:
                bids[price] = delta.size
                if best_bid is None or price > best_bid:
                    best_bid = price
        else:
            if action == delete or delta.size == 0.0:
                asks.pop(price, None)
                if price == best_ask:
                    best_ask = min(asks) if asks else None
            else:
                asks[price] = delta.size
                if best_ask is None or price < best_ask:
                    best_ask = price
        if delta.last and best_bid is not None and best_ask is not None:
            mid = (best_bid + best_ask) / 2
            if quoted is None or abs(mid - quoted) >= band:
                quoted = mid
                requotes += 1
    return time.perf_counter() - started, time.process_time() - cpu_started, requotes


def measure(count: int, levels: int) -> dict[str, float | int | str]:
    deltas = make_deltas(count, levels)[:count]
    engine = engine_run(deltas)
    bare_seconds, bare_cpu_seconds, requotes = bare_loop(deltas)
    return {
        "book_backtest_deltas": engine["deltas"],
        "book_backtest_events_per_second": round(engine["deltas"] / engine["seconds"]),
        "book_backtest_events_per_cpu_second": round(engine["deltas"] / engine["cpu_seconds"]),
        "book_backtest_seconds": round(engine["seconds"], 3),
        "book_backtest_orders": engine["orders"],
        "book_backtest_fills": engine["fills"],
        "book_backtest_final_equity": engine["final_equity"],
        "book_backtest_bare_loop_events_per_second": round(len(deltas) / bare_seconds),
        "book_backtest_bare_loop_requotes": requotes,
        "book_backtest_ratio_to_bare_loop": round(engine["seconds"] / bare_seconds, 2),
        "book_backtest_cpu_ratio_to_bare_loop": round(
            engine["cpu_seconds"] / bare_cpu_seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=1_000_000)
    parser.add_argument("--levels", type=int, default=1_000, help="levels per side")
    arguments = parser.parse_args()
    figures = measure(arguments.deltas, arguments.levels)
    width = max(len(key) for key in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value:,}" if isinstance(value, int | float) else
              f"{key:<{width}}  {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
