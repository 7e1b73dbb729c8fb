"""TWAP and VWAP parents through a real backtest graph, with every child and fill written
out.

Timing (engine/algos/actor.py, adapters/sim/venue.py): a parent submitted at bar 0's
close t0 sends its first TWAP slice at once; the timer fires at t0 + k·interval, before
the bar closing then, so a child sent by it fills at the open of the bar after that one.
"""

from __future__ import annotations

from decimal import Decimal

from adapters.sim import SimVenue, SimVenueConfig
from engine.actors.risk import RiskConfig
from engine.cache import MarketCache
from engine.clock import SimClock
from engine.domain.enums import ContingencyType, OrderSide, OrderStatus, OrderType
from engine.events.algos import AlgoChildSent, AlgoOrderClosed
from engine.events.fills import OrderFilled
from engine.events.market import Bar
from engine.graph import TradingGraph
from engine.replay import ReplayDriver, ReplaySource
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    ScriptAction,
    ScriptedStrategy,
    make_bar,
    make_graph,
)
from engine.topics import bars_topic

D = Decimal
START = 1_700_000_000_000_000_000
MINUTE = 60_000_000_000
BUY = OrderSide.BUY


def bars(opens: list[float], volumes: list[float] | None = None) -> list[Bar]:
    return [make_bar(o, open=o, high=o + 1, low=o - 1, volume=1.0 if volumes is None
                     else volumes[i], ts_event=START + (i + 1) * MINUTE)
            for i, o in enumerate(opens)]


def run(script: dict[int, ScriptAction], data: list[Bar], *,
        risk: RiskConfig | None = None) -> tuple[ScriptedStrategy, TradingGraph]:
    cache, clock = MarketCache(), SimClock()
    graph = make_graph(clock=clock, cache=cache, risk=risk, fail_fast=True)
    graph.add_bar_source(BAR_TYPE)
    graph.add_venue(SimVenue(SimVenueConfig(), graph.instruments, cache=cache))
    strategy = ScriptedStrategy("s1", script)
    graph.add_strategy(strategy)
    ReplayDriver(graph, clock, [ReplaySource(data, bars_topic(INSTRUMENT_ID, "1m"),
                                             INSTRUMENT_ID)]).run(start=graph.start)
    return strategy, graph


def fills(strategy: ScriptedStrategy) -> list[tuple[str, Decimal, Decimal]]:
    return [(f.client_order_id, f.last_quantity, f.last_price)
            for f in strategy.events(OrderFilled)]


def twap(quantity: str, *, slices: int = 5, limit_price: float | None = None) -> ScriptAction:
    return lambda s, _: s.twap_order(INSTRUMENT_ID, BUY, D(quantity),
                                     horizon_ns=slices * MINUTE, interval_ns=MINUTE,
                                     limit_price=limit_price)


def test_twap_sends_equal_slices_on_the_clock_and_closes_filled() -> None:
    strategy, graph = run({0: twap("1")}, bars([100, 101, 102, 103, 104, 105, 106]))

    parent = "s1-1"
    children = [f"{parent}-C{n}" for n in range(1, 6)]
    assert fills(strategy) == [(c, D("0.2"), D(101 + i)) for i, c in enumerate(children)]
    sent = strategy.events(AlgoChildSent)
    assert [(e.client_order_id, e.quantity, e.sent_quantity, e.ts_event) for e in sent] == [
        (c, D("0.2"), D("0.2") * (i + 1), START + (i + 1) * MINUTE)
        for i, c in enumerate(children)]
    [closed] = strategy.events(AlgoOrderClosed)
    assert (closed.parent_order_id, closed.filled_quantity, closed.reason) == (
        parent, D(1), "filled")
    record = graph.orders.order(children[0])
    assert record is not None
    assert (record.parent_order_id, record.order_list_id, record.contingency,
            record.order_type) == (parent, parent, ContingencyType.EXEC_ALGORITHM,
                                   OrderType.MARKET)
    assert graph.algos.statistics().open_parents == 0


def test_twap_parent_status_shows_progress_while_it_runs() -> None:
    _, graph = run({0: twap("1")}, bars([100, 101, 102]))

    state = graph.algos.parent("s1-1")
    assert state is not None and state.slicing
    # slices at t0, t0 + 1m, t0 + 2m; the first two filled on bars 1 and 2
    assert (state.children, state.filled_quantity) == (
        ["s1-1-C1", "s1-1-C2", "s1-1-C3"], D("0.4"))


def test_twap_refused_slice_is_made_up_by_the_next_and_a_short_parent_closes() -> None:
    # 0.15 in 3: the first and last slices (0.05, notional 5) are below min_notional 10.
    strategy, _ = run({0: twap("0.15", slices=3)}, bars([100, 100, 100, 100, 100]))

    assert fills(strategy) == [("s1-1-C2", D("0.1"), D(100))]
    [closed] = strategy.events(AlgoOrderClosed)
    assert (closed.filled_quantity, closed.reason) == (
        D("0.1"), "slicing ended with 0.050 unfilled (children refused or canceled)")


def test_cancel_algo_order_cancels_children_and_stops_slicing() -> None:
    script: dict[int, ScriptAction] = {
        0: twap("1", limit_price=90),
        2: lambda s, _: s.cancel_algo_order("s1-1"),
    }

    strategy, graph = run(script, bars([100] * 8))

    assert fills(strategy) == []
    children = [e.client_order_id for e in strategy.events(AlgoChildSent)]
    assert children == ["s1-1-C1", "s1-1-C2", "s1-1-C3"]  # at t0, t0 + 1m, t0 + 2m
    assert {graph.orders.order(c).status for c in children  # type: ignore[union-attr]
            } == {OrderStatus.CANCELED}
    [closed] = strategy.events(AlgoOrderClosed)
    assert closed.reason == "canceled by the strategy (CancelAlgoOrder)"


def test_vwap_follows_bar_volume_then_sends_the_rest_at_the_horizon() -> None:
    strategy, _ = run(
        {0: lambda s, _: s.vwap_order(INSTRUMENT_ID, BUY, 3, horizon_ns=3 * MINUTE,
                                      participation="0.5")},
        bars([100, 101, 102, 103, 104, 105], volumes=[9.0, 1.0, 2.0, 1.0, 1.0, 1.0]))

    # t0 + 1m sees bar 0 (closed at the start: not observed), t0 + 2m bar 1 (volume 1),
    # the horizon t0 + 3m sends the rest.
    sent = [(e.client_order_id, e.quantity) for e in strategy.events(AlgoChildSent)]
    assert sent == [("s1-1-C1", D("0.5")), ("s1-1-C2", D("2.5"))]
    assert fills(strategy) == [("s1-1-C1", D("0.5"), D(103)), ("s1-1-C2", D("2.5"), D(104))]
    [closed] = strategy.events(AlgoOrderClosed)
    assert (closed.filled_quantity, closed.reason) == (D(3), "filled")


def test_vwap_with_a_bad_timeframe_is_denied_and_nothing_is_sent() -> None:
    strategy, graph = run(
        {0: lambda s, _: s.vwap_order(INSTRUMENT_ID, BUY, 1, horizon_ns=MINUTE,
                                      participation=0.1, timeframe="1x")},
        bars([100, 100]))

    [closed] = strategy.events(AlgoOrderClosed)
    assert closed.reason.startswith("denied: timeframe '1x'")
    assert strategy.events(AlgoChildSent) == []
    assert graph.algos.statistics().parents_denied == 1
