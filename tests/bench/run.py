"""The benchmark: the canonical SMA-cross workload through the graph, and the daemon figures.

    python tests/bench/run.py [--bars 1000000] [--json PATH] [--skip-live] [--skip-backtest]
                              [--skip-book] [--skip-venues]
    (or: make bench)

Generates the canonical bars itself (canonical_bars.py, byte-identical to the shared
benchmark's ../shared/bench/make_bars.py --seed 42; cached in bench-data/), runs the
backtest in a child process of its own (so its peak memory is the engine's alone), runs
a bare plain-Python loop doing the same arithmetic in this process, checks both made the
same trades, and prints a table. A second workload trades rarely: the same SMA cross on
5-minute bars the graph aggregates from the 1-minute data (`bars_per_second_aggregated`,
1-minute bars per second, beside a bare loop doing the same aggregation and arithmetic),
so the bar path's cost shows on its own. The backtest runs a second time, in a child of
its own, with one tap on `events.#` attached (through `observe=`) and drained every
65,536 bars (through `progress=`), as the API's streams would: that is
`bars_per_second_with_tap`, and its trades must be the same. Then the daemon's figures,
each script in a child process of its own: journal append throughput (journal_bench.py),
the latency journaling adds to an order and the tick-to-order latency of the live graph
(live_latency.py), what observers cost: the backtest with the metrics collector and a
tap, tick to order with two WebSocket clients (observer_bench.py), and the restart time
from a journal of `--restart-records` records, from a snapshot and in full
(restart_bench.py; their docstrings say what exactly is timed), printed with their
targets. Then L2 order book deltas applied per second beside a bare dict loop
(book_bench.py, in a child of its own), and the market maker backtested on
`--book-deltas` L2 deltas through the full graph, in events per second beside a bare
loop over the same deltas in the same child (book_backtest.py). Then the live venues'
figures (live_venues.py): ccxt parse throughput, and tick to order through the daemon's
node at the fake Binance (ccxt.pro) and the fake TWS gateway (ib_async). Speed is only
measured here, never asserted in tests: the exit status is non-zero only when the engine
and the bare loop (or the tapped run, or the book and its bare loop) disagree.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / "bench-data"
INSTRUMENT_ID = "BTC/USDT.SIM"
START_CASH = 10_000_000.0
FEE = 0.001

# The daemon's figures with a target: (key, comparison, bound). Medians and the other
# keys the scripts print are shown without one.
TARGETS: tuple[tuple[str, str, float], ...] = (
    ("journal_events_per_second", ">=", 100_000),
    ("order_journal_latency_p99_us", "<", 1_000),
    ("tick_to_order_p99_us", "<", 100),
    ("book_deltas_per_second", ">=", 300_000),
    ("backtest_metrics_overhead_percent", "<", 10),
    ("tick_to_order_ws2_median_overhead_percent", "<", 10),
    ("tick_to_order_ws2_p99_overhead_percent", "<", 10),
    ("restart_seconds", "<", 2),
    ("ccxt_parse_messages_per_second", ">=", 100_000),
)
VENUES_SHOWN = (
    "ccxt_parse_messages_per_second",
    "ccxt_parse_messages_per_cpu_second",
    "ccxt_parser_messages_per_cpu_second",
    "ccxt_translation_messages_per_cpu_second",
    "ccxt_parser_share_percent",
    "ccxt_tick_to_order_median_us",
    "ccxt_tick_to_order_p99_us",
    "ccxt_tick_to_order_limiter_wait_median_us",
    "ccxt_tick_to_order_without_limiter_median_us",
    "ccxt_tick_to_order_without_limiter_p99_us",
    "ibkr_tick_to_order_median_us",
    "ibkr_tick_to_order_p99_us",
)
DAEMON_SHOWN = (
    "journal_events_per_second",
    "journal_events_per_second_full",
    "order_journal_latency_median_us",
    "order_journal_latency_p99_us",
    "tick_to_order_median_us",
    "tick_to_order_p99_us",
    "inbox_to_order_median_us",
    "inbox_to_order_p99_us",
    "tick_to_order_no_fill_median_us",
    "tick_to_order_no_fill_p99_us",
    "backtest_bars_per_second_plain",
    "backtest_bars_per_second_with_metrics",
    "backtest_metrics_overhead_percent",
    "backtest_metrics_cpu_overhead_percent",
    "tick_to_order_plain_median_us",
    "tick_to_order_ws2_median_us",
    "tick_to_order_ws2_median_overhead_percent",
    "tick_to_order_plain_p99_us",
    "tick_to_order_ws2_p99_us",
    "tick_to_order_ws2_p99_overhead_percent",
    "restart_seconds",
    "restart_seconds_full_replay",
    "restart_seconds_graceful",
    "restart_verify_seconds",
    "restart_journal_records",
    "restart_records_after_snapshot",
)


def canonical_csv(bars: int) -> Path:
    """The canonical data set (seed 42), generated once per size (written to a temporary
    name first, so an interrupted run never leaves a short file behind)."""
    try:
        from canonical_bars import write_canonical_csv
    except ImportError as error:  # numpy: the dev extra
        sys.exit(f"bench: generating the data needs numpy ({error}); install it with "
                 "pip install -e '.[dev]' (make bench does)")
    DATA_DIR.mkdir(exist_ok=True)
    path = DATA_DIR / f"bars_{bars}.csv"
    if not path.exists():
        partial = path.with_suffix(".partial")
        write_canonical_csv(partial, bars, seed=42)
        partial.replace(path)
    return path


# -- the engine, in its own process ---------------------------------------------------


def engine_run(
    csv_path: Path, *, with_tap: bool = False, attach: Callable[[Any], Callable[[int], None]]
    | None = None, timeframe: str = "1m",
) -> dict[str, float | int | str]:
    """The canonical backtest; `with_tap` drains an `events.#` tap every 65,536 bars, and
    `attach(graph)` (observer_bench.py's metrics collector) returns what runs then too.
    With `timeframe` "5m" the strategy trades 5-minute bars the graph aggregates from the
    1-minute data (the workload that trades rarely: the bar path's cost on its own)."""
    sys.path.insert(0, str(ROOT))
    from adapters.data import load_bars_csv
    from adapters.sim import SimVenue, SimVenueConfig
    from engine.actors.portfolio import PortfolioConfig
    from engine.actors.risk import RiskConfig
    from engine.backtest import BacktestSettings, run_backtest
    from engine.cache import MarketCache
    from engine.events import BarType, Instrument
    from engine.graph import TradingGraph
    from engine.instruments import InstrumentRegistry
    from engine.replay import ReplaySource
    from engine.taps import Tap
    from engine.topics import ALL_EVENTS, bars_topic
    from strategies.sma_cross import SmaCross, SmaCrossConfig

    bar_type = BarType(instrument_id=INSTRUMENT_ID, timeframe="1m")
    instrument = Instrument(
        instrument_id=INSTRUMENT_ID, symbol="BTC/USDT", venue="SIM", base_currency="BTC",
        quote_currency="USDT", price_increment=Decimal("0.01"), size_increment=Decimal("0.001"),
        taker_fee=Decimal("0.001"), maker_fee=Decimal("0.001"), ts_event=0, ts_init=0,
    )
    started = time.perf_counter()
    columns = load_bars_csv(csv_path, bar_type)
    load_seconds = time.perf_counter() - started

    strategy = SmaCross("sma", SmaCrossConfig(instrument_id=INSTRUMENT_ID, timeframe=timeframe))
    cache = MarketCache()
    venue = SimVenue(SimVenueConfig(), InstrumentRegistry([instrument]), cache=cache)
    taps: list[Tap] = []
    drained = [0]

    steps: list[Callable[[int], None]] = []

    def attach_tap(graph: TradingGraph) -> None:
        taps.append(graph.bus.add_tap(ALL_EVENTS, capacity=1 << 16, name="bench"))
        if attach is not None:
            steps.append(attach(graph))

    def drain_tap(count: int) -> None:
        drained[0] += len(taps[0].drain())
        for step in steps:
            step(count)

    started, cpu_started = time.perf_counter(), time.process_time()
    result = run_backtest(
        settings=BacktestSettings(name="bench"),
        instruments=[instrument],
        sources=[ReplaySource(columns.iter_bars(), bars_topic(INSTRUMENT_ID, "1m"), INSTRUMENT_ID)],
        bar_types=[bar_type],
        venues=[venue],
        strategies=[strategy],
        portfolio=PortfolioConfig(starting_balances={"USDT": Decimal(int(START_CASH))}),
        risk=RiskConfig(),
        progress=drain_tap if with_tap else None,
        observe=attach_tap if with_tap else None,
        cache=cache,
    )
    if with_tap:
        drain_tap(result.items_processed)
    run_seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started  # what a busy machine's waits leave out
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "bars": result.items_processed,
        "load_seconds": load_seconds,
        "run_seconds": run_seconds,
        "bars_per_second": result.items_processed / run_seconds,
        "run_cpu_seconds": cpu_seconds,
        "peak_rss_mb": peak_kb / 1024,
        "fills": len(result.fills),
        "round_trips": len(result.trades),
        "final_equity": str(result.report.final_equity),
        "tap_events": drained[0],
        "tap_dropped": taps[0].statistics().dropped if taps else 0,
    }


# -- the bare loop, in this process -------------------------------------------------------


def load_lists(csv_path: Path) -> tuple[list[float], list[float]]:
    opens: list[float] = []
    closes: list[float] = []
    with csv_path.open() as handle:
        next(handle)
        for line in handle:
            fields = line.split(",")
            opens.append(float(fields[1]))
            closes.append(float(fields[4]))
    return opens, closes


def load_open_times(csv_path: Path) -> list[int]:
    """Each row's `ts`: the bar's open time, epoch milliseconds."""
    with csv_path.open() as handle:
        next(handle)
        return [int(line.split(",", 1)[0]) for line in handle]


def aggregate_lists(
    open_times: list[int], opens: list[float], closes: list[float], minutes: int = 5
) -> tuple[list[float], list[float]]:
    """The bare loop's aggregation, in the engine's terms: a `minutes` bar closes with the
    1-minute bar closing on its epoch-aligned boundary, and an order decided on it fills
    at the open of the next 1-minute bar. Returns (the open each aggregated bar's
    predecessor's order fills at, the aggregated closes), ready for `bare_loop`."""
    step = minutes * 60_000
    fill_opens: list[float] = []
    aggregated: list[float] = []
    previous = -1
    last = len(opens) - 1
    for index, open_ms in enumerate(open_times):
        if (open_ms + 60_000) % step == 0:
            fill_opens.append(opens[min(previous + 1, last)])
            aggregated.append(closes[index])
            previous = index
    return fill_opens, aggregated


def bare_loop(
    opens: list[float], closes: list[float], mark_price: float | None = None
) -> tuple[int, int, float]:
    """SMA(10)/SMA(30) cross with incremental sums and the same bookkeeping, on floats:
    an order decided on close i fills at opens[i + 1]; the position is marked at the
    last close (or `mark_price`)."""
    sum_fast = sum_slow = 0.0
    last_sign = 0
    position = 0
    pending = 0
    cash = START_CASH
    fills = round_trips = 0
    for index in range(len(closes)):
        if pending:
            price = opens[index]
            cash -= pending * price + FEE * price
            position += pending
            fills += 1
            if pending < 0:
                round_trips += 1
            pending = 0
        close = closes[index]
        sum_fast += close
        sum_slow += close
        if index >= 10:
            sum_fast -= closes[index - 10]
        if index >= 30:
            sum_slow -= closes[index - 30]
        if index >= 29:
            difference = sum_fast / 10 - sum_slow / 30
            sign = 1 if difference > 1e-6 else -1 if difference < -1e-6 else 0
            if sign:
                if sign > 0 > last_sign and position == 0:
                    pending = 1
                elif sign < 0 < last_sign and position > 0:
                    pending = -position
                last_sign = sign
    return fills, round_trips, cash + position * (closes[-1] if mark_price is None
                                                  else mark_price)


# -- the daemon's figures, each script in a child process ---------------------------------


def child_figures(script: str, *arguments: str) -> dict[str, float | int]:
    """Run a bench script in a child process and return the JSON its last line prints."""
    child = subprocess.run([sys.executable, str(HERE / script), *arguments], check=True,
                           capture_output=True, text=True)
    figures: dict[str, float | int] = json.loads(child.stdout.strip().splitlines()[-1])
    return figures


def daemon_figures(restart_records: int) -> dict[str, float | int]:
    return {**child_figures("journal_bench.py"), **child_figures("live_latency.py"),
            **child_figures("observer_bench.py"),
            **child_figures("restart_bench.py", "--records", str(restart_records),
                            "--tail", str(max(restart_records // 10, 1)))}


def print_daemon_table(figures: dict[str, float | int], shown: tuple[str, ...] = DAEMON_SHOWN,
                       title: str = "daemon") -> None:
    targets = {key: (comparison, bound) for key, comparison, bound in TARGETS}
    width = max(len(key) for key in shown)
    print(f"\n{title:<{width}}  {'value':>12}  {'target':>12}")
    for key in shown:
        value = figures.get(key)
        if value is None:  # not measured (restart_verify_seconds without a snapshot)
            print(f"{key:<{width}}  {'-':>12}")
            continue
        line = f"{key:<{width}}  {value:>12,}"
        if key in targets:
            comparison, bound = targets[key]
            met = value >= bound if comparison == ">=" else value < bound
            line += f"  {comparison + ' ' + f'{bound:,}':>12}  {'met' if met else 'NOT met'}"
        print(line)


# -- the backtest and the bare loop ---------------------------------------------------------


def backtest_figures(bars: int) -> tuple[dict[str, float | int | str], bool]:
    """Run the engine (child) and the bare loop; return the figures and whether they agree."""
    csv_path = canonical_csv(bars)
    child = subprocess.run(
        [sys.executable, __file__, "--engine-only", str(csv_path)],
        check=True, capture_output=True, text=True,
    )
    engine = json.loads(child.stdout.strip().splitlines()[-1])
    child = subprocess.run(
        [sys.executable, __file__, "--engine-only", str(csv_path), "--with-tap"],
        check=True, capture_output=True, text=True,
    )
    tapped = json.loads(child.stdout.strip().splitlines()[-1])

    child = subprocess.run(
        [sys.executable, __file__, "--engine-only", str(csv_path), "--timeframe", "5m"],
        check=True, capture_output=True, text=True,
    )
    aggregated = json.loads(child.stdout.strip().splitlines()[-1])

    opens, closes = load_lists(csv_path)
    started = time.perf_counter()
    bare_fills, bare_trips, bare_equity = bare_loop(opens, closes)
    bare_seconds = time.perf_counter() - started
    open_times = load_open_times(csv_path)
    started = time.perf_counter()
    fill_opens, aggregated_closes = aggregate_lists(open_times, opens, closes)
    aggregated_bare = bare_loop(fill_opens, aggregated_closes, closes[-1])
    aggregated_bare_seconds = time.perf_counter() - started

    figures = {
        "bars": engine["bars"],
        "bars_per_second": round(engine["bars_per_second"]),
        "bars_per_second_with_tap": round(tapped["bars_per_second"]),
        "load_seconds": round(engine["load_seconds"], 3),
        "run_seconds": round(engine["run_seconds"], 3),
        "peak_rss_mb": round(engine["peak_rss_mb"], 1),
        "fills": engine["fills"],
        "round_trips": engine["round_trips"],
        "final_equity": engine["final_equity"],
        "bare_loop_seconds": round(bare_seconds, 4),
        "bare_loop_bars_per_second": round(len(closes) / bare_seconds),
        "ratio_to_bare_loop": round(engine["run_seconds"] / bare_seconds, 2),
        "bare_loop_fills": bare_fills,
        "bare_loop_round_trips": bare_trips,
        "bare_loop_final_equity": round(bare_equity, 2),
        "bars_per_second_aggregated": round(aggregated["bars_per_second"]),
        "run_seconds_aggregated": round(aggregated["run_seconds"], 3),
        "fills_aggregated": aggregated["fills"],
        "final_equity_aggregated": aggregated["final_equity"],
        "bare_loop_seconds_aggregated": round(aggregated_bare_seconds, 4),
        "ratio_to_bare_loop_aggregated": round(
            aggregated["run_seconds"] / aggregated_bare_seconds, 2),
        "bare_loop_fills_aggregated": aggregated_bare[0],
        "bare_loop_final_equity_aggregated": round(aggregated_bare[2], 2),
    }
    same = (bare_fills, bare_trips) == (engine["fills"], engine["round_trips"]) and abs(
        float(engine["final_equity"]) - bare_equity) < 0.01
    same_aggregated = aggregated_bare[:2] == (aggregated["fills"], aggregated["round_trips"]) \
        and abs(float(aggregated["final_equity"]) - aggregated_bare[2]) < 0.01
    trades = ("fills", "round_trips", "final_equity")
    tap_same = [tapped[key] for key in trades] == [engine[key] for key in trades]
    tap_same = tap_same and tapped["tap_events"] > 0 and not tapped["tap_dropped"]
    width = max(len(k) for k in figures)
    print(f"{'figure':<{width}}  value")
    for key, value in figures.items():
        print(f"{key:<{width}}  {value:,}" if isinstance(value, int | float) else
              f"{key:<{width}}  {value}")
    print(f"{'engine matches bare loop':<{width}}  {'yes' if same else 'NO'}")
    print(f"{'same trades with the tap':<{width}}  {'yes' if tap_same else 'NO'}"
          f" ({tapped['tap_events']:,} events drained)")
    print(f"{'aggregated matches bare loop':<{width}}  {'yes' if same_aggregated else 'NO'}")
    return figures, same and tap_same and same_aggregated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--skip-live", action="store_true",
                        help="skip the daemon's figures (journal, order and tick latency)")
    parser.add_argument("--skip-backtest", action="store_true",
                        help="skip the backtest and the bare loop")
    parser.add_argument("--skip-book", action="store_true",
                        help="skip the order book figures (book_bench.py)")
    parser.add_argument("--skip-venues", action="store_true",
                        help="skip the live venues' figures (live_venues.py: ccxt parse "
                             "throughput, tick to order at the fake Binance and TWS)")
    parser.add_argument("--book-deltas", type=int, default=1_000_000,
                        help="L2 deltas of the market maker backtest (book_backtest.py)")
    parser.add_argument("--restart-records", type=int, default=1_000_000,
                        help="the journal's size for restart_seconds (restart_bench.py)")
    parser.add_argument("--engine-only", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--timeframe", default="1m", help=argparse.SUPPRESS)
    parser.add_argument("--with-tap", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.engine_only:
        print(json.dumps(engine_run(arguments.engine_only, with_tap=arguments.with_tap,
                                    timeframe=arguments.timeframe)))
        return

    figures: dict[str, float | int | str] = {}
    same = True
    if not arguments.skip_backtest:
        backtest, same = backtest_figures(arguments.bars)
        figures |= backtest
    if not arguments.skip_live:
        daemon = daemon_figures(arguments.restart_records)
        print_daemon_table(daemon)
        figures |= daemon
    if not arguments.skip_book:
        book = child_figures("book_bench.py")
        matches = bool(book.pop("book_matches_bare_loop"))
        print_daemon_table(book, tuple(book), "order book")
        print(f"book matches bare loop  {'yes' if matches else 'NO'}")
        same = same and matches
        figures |= book | {"book_matches_bare_loop": matches}
        maker = child_figures("book_backtest.py", "--deltas", str(arguments.book_deltas))
        shown = tuple(key for key, value in maker.items() if not isinstance(value, str))
        print_daemon_table(maker, shown, "market maker on L2 deltas")
        print(f"book_backtest_final_equity  {maker['book_backtest_final_equity']}")
        figures |= maker
    if not arguments.skip_venues:
        venues = child_figures("live_venues.py")
        print_daemon_table(venues, VENUES_SHOWN, "live venues (fakes on 127.0.0.1)")
        figures |= venues
    if arguments.json:
        arguments.json.write_text(json.dumps(figures, indent=2) + "\n")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
