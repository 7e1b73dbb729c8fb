"""Execution algorithms on drawn parameters and markets: the children's fills are the
parent's filled quantity and never exceed the parent's quantity; a TWAP schedule sums
to the parent exactly."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st

from adapters.sim import SimVenue, SimVenueConfig
from engine.algos import twap_slice_count, twap_target
from engine.cache import MarketCache
from engine.clock import SimClock
from engine.domain.enums import OrderSide
from engine.domain.money import is_on_increment
from engine.events.algos import AlgoChildSent, AlgoOrderClosed, TwapParameters
from engine.events.market import Bar
from engine.replay import ReplayDriver, ReplaySource
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    ScriptedStrategy,
    make_bar,
    make_graph,
)
from engine.topics import bars_topic

D = Decimal
START = 1_700_000_000_000_000_000
MINUTE = 60_000_000_000
INCREMENT = D("0.001")


@given(st.integers(min_value=1, max_value=100_000).map(lambda n: n * INCREMENT),
       st.integers(min_value=1, max_value=30), st.integers(min_value=1, max_value=10))
def test_twap_slices_sum_to_the_parent_and_stay_on_the_increment(
    quantity: Decimal, intervals: int, interval_minutes: int,
) -> None:
    parameters = TwapParameters(horizon_ns=intervals * interval_minutes * MINUTE,
                                interval_ns=interval_minutes * MINUTE)
    slices = twap_slice_count(parameters)
    targets = [twap_target(quantity, slices, i, INCREMENT) for i in range(slices)]
    sizes = [b - a for a, b in zip([D(0), *targets], targets, strict=False)]

    assert slices == intervals
    assert sum(sizes, D(0)) == quantity
    assert all(size >= 0 and is_on_increment(size, INCREMENT) for size in sizes)


parent = st.fixed_dictionaries({
    "algorithm": st.sampled_from(["twap", "vwap"]),
    "quantity": st.sampled_from([D("0.3"), D(1), D("2.5")]),
    "horizon": st.integers(min_value=1, max_value=8),
    "interval": st.integers(min_value=1, max_value=3),
    "participation": st.sampled_from(["0.1", "0.5", "1"]),
    "limit": st.sampled_from([None, 99, 102]),
})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parent, st.lists(st.integers(min_value=95, max_value=105), min_size=2, max_size=14),
       st.lists(st.sampled_from([0.1, 0.5, 1.0, 3.0]), min_size=14, max_size=14),
       st.sampled_from([None, 0.5]))
def test_children_fills_are_the_parents_and_never_exceed_it(
    drawn: dict[str, object], opens: list[int], volumes: list[float], fraction: float | None,
) -> None:
    quantity = drawn["quantity"]
    assert isinstance(quantity, Decimal)

    def place(s: ScriptedStrategy, _: Bar) -> None:
        horizon = int(drawn["horizon"]) * MINUTE  # type: ignore[call-overload]
        limit = drawn["limit"]
        if drawn["algorithm"] == "twap":
            s.twap_order(INSTRUMENT_ID, OrderSide.BUY, quantity, horizon_ns=horizon,
                         interval_ns=min(horizon, int(drawn["interval"]) * MINUTE),  # type: ignore[call-overload]
                         limit_price=limit)  # type: ignore[arg-type]
        else:
            s.vwap_order(INSTRUMENT_ID, OrderSide.BUY, quantity, horizon_ns=horizon,
                         participation=str(drawn["participation"]), limit_price=limit)  # type: ignore[arg-type]

    cache, clock = MarketCache(), SimClock()
    graph = make_graph(clock=clock, cache=cache, fail_fast=True)
    graph.add_bar_source(BAR_TYPE)
    graph.add_venue(SimVenue(SimVenueConfig(max_volume_fraction=fraction), graph.instruments,
                             cache=cache))
    strategy = ScriptedStrategy("s1", {0: place})
    graph.add_strategy(strategy)
    data = [make_bar(float(o), open=float(o), high=o + 2.0, low=o - 2.0, volume=volumes[i],
                     ts_event=START + (i + 1) * MINUTE) for i, o in enumerate(opens)]
    ReplayDriver(graph, clock, [ReplaySource(data, bars_topic(INSTRUMENT_ID, "1m"),
                                             INSTRUMENT_ID)]).run(start=graph.start)

    children = [o for o in graph.orders.orders() if o.parent_order_id == "s1-1"]
    child_fills = sum((o.filled_quantity for o in children), D(0))
    state = graph.algos.parent("s1-1")
    closed = strategy.events(AlgoOrderClosed)
    reported = state.filled_quantity if state is not None else closed[0].filled_quantity
    assert child_fills == reported <= quantity
    sent = strategy.events(AlgoChildSent)
    # No child ever asks for more than what the parent still lacks (`sent_quantity`, the
    # total asked, may pass the parent's size: a refused or unfilled child is asked again).
    assert all(e.quantity <= quantity - e.filled_quantity for e in sent)
    assert [e.client_order_id for e in sent] == [o.client_order_id for o in children]
