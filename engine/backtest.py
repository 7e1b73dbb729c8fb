"""Run a backtest: wire a graph on a simulated clock, replay the data, collect a result.

The caller (the CLI, a test, a parameter sweep) chooses the adapters: data sources and
the simulated venue are passed in, so the engine never imports an adapter.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from engine.actor import Actor
from engine.actors.portfolio import PortfolioConfig
from engine.actors.risk import RiskConfig
from engine.analysis import ClosedTrade, PerformanceReport, compute_report
from engine.cache import MarketCache
from engine.clock import SimClock
from engine.config import Config
from engine.domain.order import Order
from engine.events.fills import OrderFilled, PositionClosed
from engine.events.market import BarType, Instrument
from engine.events.orders import EXTERNAL_STRATEGY_ID
from engine.events.system import ActorFaulted
from engine.graph import TradingGraph
from engine.replay import ReplayDriver, ReplaySource
from engine.strategy import Strategy
from engine.topics import ALL_POSITION_EVENTS, order_topic, system_topic

__all__ = ("BacktestResult", "BacktestSettings", "run_backtest")


class BacktestSettings(Config, kw_only=True, frozen=True):
    """How a backtest runs (as opposed to what it trades)."""

    name: str = "backtest"
    fail_fast: bool = False
    periods_per_year: float | None = None
    output_dir: str = "results"

    def __post_init__(self) -> None:
        # Checked at load: the report would otherwise fail only after the whole run.
        ppy = self.periods_per_year
        if ppy is not None and not (math.isfinite(ppy) and ppy > 0):
            raise ValueError(f"periods_per_year {ppy}: must be a finite number > 0")


class BacktestResult(msgspec.Struct, kw_only=True):
    """Everything a backtest produced; encodable as JSON and storable in SQLite."""

    name: str
    start_ns: int
    end_ns: int
    items_processed: int
    report: PerformanceReport
    balances: dict[str, Decimal]
    equity_curve: list[tuple[int, Decimal]]
    trades: list[ClosedTrade]
    fills: list[OrderFilled]  # each names its strategy (`strategy_id`)
    orders: list[Order]
    faults: list[ActorFaulted]
    statistics: dict[str, Any]
    trade_strategy_ids: list[str] = []
    """The strategy of each of `trades`, in the same order (a trade is one strategy's
    round trip; `ClosedTrade` itself does not carry it). Empty for results made before
    it existed."""


def run_backtest(
    *,
    settings: BacktestSettings,
    instruments: list[Instrument],
    sources: list[ReplaySource],
    bar_types: list[BarType],
    venues: list[Actor],
    strategies: list[Strategy],
    portfolio: PortfolioConfig,
    risk: RiskConfig,
    progress: Callable[[int], None] | None = None,
    observe: Callable[[TradingGraph], None] | None = None,
    cache: MarketCache | None = None,
) -> BacktestResult:
    """Replay `sources` through a graph with `strategies` and return the result.

    `observe` is called with the wired graph before it starts (a test's hook to record
    every message, for example). Pass `cache` when a venue was built reading it.
    """
    clock = SimClock()
    graph = TradingGraph(
        clock=clock,
        instruments=instruments,
        portfolio=portfolio,
        risk=risk,
        fail_fast=settings.fail_fast,
        cache=cache,
    )
    for bar_type in bar_types:
        graph.add_bar_source(bar_type)
    for venue in venues:
        graph.add_venue(venue)
    for strategy in strategies:
        graph.add_strategy(strategy)

    faults: list[ActorFaulted] = []
    graph.bus.subscribe(system_topic("actor"), lambda m: faults.append(m)
                        if type(m) is ActorFaulted else None)
    trade_owners = _TradeOwners(graph)
    if observe is not None:
        observe(graph)

    start_ns: list[int] = []

    def start() -> None:
        start_ns.append(clock.timestamp_ns())
        graph.start()

    driver = ReplayDriver(graph, clock, sources, progress=progress)
    # Everything made before the run (modules, configs, loaded data) is moved out of the
    # cyclic collector's sight: a full collection would otherwise walk it again and
    # again during the run (measured: ~2.5% of a million-bar run). Reference counting
    # still frees it as usual; unfreeze restores the collector afterwards.
    gc.freeze()
    try:
        items = driver.run(start=start)
    finally:
        gc.unfreeze()
    graph.stop()

    book = graph.portfolio
    curve = book.equity_curve()
    report = compute_report(
        curve,
        book.closed_trades(),
        starting_equity=float(curve[0][1]) if curve else 0.0,
        fills=len(book.fills()),
        total_fees=float(book.total_fees()),
        periods_per_year=settings.periods_per_year,
    )
    statistics: dict[str, Any] = {
        "bus": msgspec.to_builtins(graph.bus.statistics()),
        "orders": msgspec.to_builtins(graph.orders.statistics()),
        "risk": msgspec.to_builtins(graph.risk.statistics()),
        "portfolio": msgspec.to_builtins(book.statistics()),
        "market_data": msgspec.to_builtins(graph.data.statistics()),
        "actor_faults": graph.faults,
    }
    for venue in venues:
        venue_statistics = getattr(venue, "statistics", None)
        if callable(venue_statistics):
            statistics[f"venue.{venue.id}"] = msgspec.to_builtins(venue_statistics())
    return BacktestResult(
        name=settings.name,
        start_ns=start_ns[0] if start_ns else 0,
        end_ns=clock.timestamp_ns(),
        items_processed=items,
        report=report,
        balances=book.balances(),
        equity_curve=curve,
        trades=book.closed_trades(),
        fills=book.fills(),
        orders=graph.orders.orders(),
        faults=faults,
        statistics=statistics,
        trade_strategy_ids=trade_owners.strategy_ids(len(book.closed_trades())),
    )


class _TradeOwners:
    """The strategy of each closed trade, in order (`BacktestResult.trade_strategy_ids`).

    The portfolio records a closed trade and publishes its PositionClosed in the same
    step, so the closes, in order, name the strategy of each trade. But listening to
    position events makes the portfolio build one per fill (measured: ~2.5% of the
    canonical one-strategy benchmark's instructions), so with one strategy nobody
    listens: every trade is that strategy's, as only strategies place orders. The one
    exception is an order the engine did not place, adopted under `EXTERNAL_STRATEGY_ID`
    (a venue filling an order it was never sent): its adoption is published on the
    external strategy's order topic before its first fill, and from then on the
    position events are listened to. With several strategies they always are.
    """

    def __init__(self, graph: TradingGraph) -> None:
        self._graph = graph
        self._ids: list[str] = []
        self._sole = graph.strategies[0].id if len(graph.strategies) == 1 else None
        self._sole_trades = 0  # trades closed before listening: all the sole strategy's
        self._listening = False
        if self._sole is None:
            self._listen()
        else:
            graph.bus.subscribe(order_topic(EXTERNAL_STRATEGY_ID), self._on_external)

    def _listen(self) -> None:
        self._listening = True
        self._graph.bus.subscribe(ALL_POSITION_EVENTS, self._on_position)

    def _on_external(self, message: object) -> None:
        if not self._listening:
            self._sole_trades = len(self._graph.portfolio.closed_trades())
            self._listen()

    def _on_position(self, message: object) -> None:
        if type(message) is PositionClosed:
            self._ids.append(message.strategy_id)

    def strategy_ids(self, trades: int) -> list[str]:
        """The owners of the `trades` closed trades of the run, oldest first."""
        if self._sole is None:
            return self._ids
        return [self._sole] * (trades if not self._listening else self._sole_trades) + self._ids
