"""How the event graph's state grows with the bars a session handles: RSS and the size of
every collection each actor holds, at checkpoints.

    python tests/bench/memory_growth.py [--bars 1000000] [--retention daemon|none]

Runs the canonical SMA-cross workload (seed 42, as `run.py`) through the real graph and
simulated venue, with the retention a daemon applies (`--retention daemon`, the
`RetentionConfig` defaults, or one given by `--closed-orders/--fills/--equity-points`)
or none (a backtest). At 10k, 100k and 1M bars (the first progress point at or after
each) it prints the process RSS and, per actor, every list, dict, set or deque attribute
with more than a handful of entries: a structure that grows with bars or fills shows
up as a row whose size keeps rising. Prints a table, and with `--json` writes it.
Not collected by pytest; a figure for commit messages and the report, not a test
(tests/unit/engine/actors/test_actors_retention.py asserts the sizes stay flat).

Measured at 1,000,000 bars (39,169 fills; progress points 65,536 / 131,072 / 1,000,000):
without retention every order, trade id, fill and venue record is held (39,169 each at
the end, RSS 204.9 MB); with the daemon's defaults (10,000 each, a 1-day horizon) the
order manager, fills and trades stop at 10,000, the venue holds its last day (60
records), RSS 98.7 MB.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import deque
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for folder in (ROOT, Path(__file__).resolve().parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from canonical_bars import canonical_columns  # noqa: E402

from adapters.sim import SimVenue, SimVenueConfig  # noqa: E402
from engine.actor import Actor  # noqa: E402
from engine.actors.portfolio import PortfolioConfig  # noqa: E402
from engine.actors.risk import RiskConfig  # noqa: E402
from engine.backtest import BacktestSettings, run_backtest  # noqa: E402
from engine.cache import MarketCache  # noqa: E402
from engine.events import Bar, BarType, Instrument  # noqa: E402
from engine.graph import TradingGraph  # noqa: E402
from engine.instruments import InstrumentRegistry  # noqa: E402
from engine.replay import ReplaySource  # noqa: E402
from engine.topics import bars_topic  # noqa: E402
from strategies.sma_cross import SmaCross, SmaCrossConfig  # noqa: E402

INSTRUMENT_ID = "BTC/USDT.SIM"
CHECKPOINTS = (10_000, 100_000, 1_000_000)
CHUNK = 65_536
SMALL = 16  # collections at or under this size are left out of the table


def rss_mb() -> float:
    """The resident set size now (not the peak), from /proc."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * 4096 / 2**20


def census(actors: list[Actor]) -> dict[str, int]:
    """`actor.attribute` -> len() of every collection an actor holds directly."""
    sizes: dict[str, int] = {}
    for actor in actors:
        for name, value in sorted(vars(actor).items()):
            if isinstance(value, list | dict | set | frozenset | deque | tuple):
                sizes[f"{actor.id}.{name}"] = len(value)
    return sizes


def bars(count: int, bar_type: BarType) -> Iterator[Bar]:
    """The canonical bars, made a chunk at a time (so RSS is the graph's, not the data's)."""
    columns = canonical_columns(count)
    names = ("ts", "open", "high", "low", "close", "volume")
    for start in range(0, count, CHUNK):
        chunk = [columns[name][start:start + CHUNK].tolist() for name in names]
        for ts, open_, high, low, close, volume in zip(*chunk, strict=True):
            ts_ns = int(ts) * 1_000_000 + 60_000_000_000  # the close time of a 1m bar
            yield Bar(bar_type=bar_type, open=open_, high=high, low=low, close=close,
                      volume=volume, ts_event=ts_ns, ts_init=ts_ns)


def run(count: int, retention: Any) -> list[dict[str, Any]]:
    bar_type = BarType(instrument_id=INSTRUMENT_ID, timeframe="1m")
    instrument = Instrument(
        instrument_id=INSTRUMENT_ID, symbol="BTC/USDT", venue="SIM", base_currency="BTC",
        quote_currency="USDT", price_increment=Decimal("0.01"), size_increment=Decimal("0.001"),
        taker_fee=Decimal("0.001"), maker_fee=Decimal("0.001"), ts_event=0, ts_init=0,
    )
    cache = MarketCache()
    venue = SimVenue(SimVenueConfig(), InstrumentRegistry([instrument]), cache=cache)
    graphs: list[TradingGraph] = []
    rows: list[dict[str, Any]] = []
    due = [point for point in CHECKPOINTS if point <= count] or [count]

    def observe(graph: TradingGraph) -> None:
        graphs.append(graph)
        if retention is not None:
            apply_retention(graph, venue, retention)

    def progress(handled: int) -> None:
        if due and (handled >= due[0] or handled == count):
            while due and handled >= due[0]:
                due.pop(0)
            graph = graphs[0]
            rows.append({"bars": handled, "rss_mb": round(rss_mb(), 1),
                         "sizes": census(graph.actors())})

    run_backtest(
        settings=BacktestSettings(name="memory"),
        instruments=[instrument],
        sources=[ReplaySource(bars(count, bar_type), bars_topic(INSTRUMENT_ID, "1m"),
                              INSTRUMENT_ID)],
        bar_types=[bar_type],
        venues=[venue],
        strategies=[SmaCross("sma", SmaCrossConfig(instrument_id=INSTRUMENT_ID))],
        portfolio=PortfolioConfig(starting_balances={"USDT": Decimal(10_000_000)},
                                  equity_interval_ns=3_600_000_000_000),
        risk=RiskConfig(),
        progress=progress,
        observe=observe,
        cache=cache,
    )
    return rows


def apply_retention(graph: TradingGraph, venue: SimVenue, retention: Any) -> None:
    """Bound the graph's history as the daemon's composition root does."""
    from engine.actors.retention import apply_retention as apply

    apply([*graph.actors(), venue], retention)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--retention", choices=("daemon", "none"), default="none")
    parser.add_argument("--closed-orders", type=int)
    parser.add_argument("--fills", type=int)
    parser.add_argument("--equity-points", type=int)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    retention = None
    if args.retention == "daemon":
        from engine.actors.retention import RetentionConfig

        given = {name: value for name, value in (
            ("closed_orders", args.closed_orders), ("fills", args.fills),
            ("equity_points", args.equity_points)) if value is not None}
        retention = RetentionConfig(**given)
    rows = run(args.bars, retention)
    names = sorted({name for row in rows for name, size in row["sizes"].items()
                    if size > SMALL})
    print(f"retention: {retention!r}")
    print(f"{'':40}" + "".join(f"{row['bars']:>12,}" for row in rows))
    print(f"{'rss_mb':40}" + "".join(f"{row['rss_mb']:>12}" for row in rows))
    for name in names:
        print(f"{name:40}" + "".join(f"{row['sizes'].get(name, 0):>12,}" for row in rows))
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
