"""Reduce-only never increases or flips a position, whatever orders and bars come.

A strategy sends a random script of orders (market orders that open and close, and
reduce-only market, limit, stop and trailing-stop orders, several at once so resting
ones can outnumber the position) over random bars, through a full backtest graph
(risk, order manager, simulated venue, portfolio). Replaying the fills in the order the
venue sent them, every reduce-only fill must face a position on the other side and be
no larger than it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings, strategies as st

from adapters.sim.venue import SimVenue, SimVenueConfig
from engine.cache import MarketCache
from engine.clock import SimClock
from engine.domain.enums import OrderSide, OrderStatus
from engine.domain.order import Order
from engine.events.fills import OrderFilled
from engine.events.market import Bar
from engine.replay import ReplayDriver, ReplaySource
from engine.testing import BAR_TYPE, INSTRUMENT_ID, ScriptedStrategy, make_bar, make_graph
from engine.topics import bars_topic

MINUTE = 60_000_000_000
T0 = 19_700 * 86_400_000_000_000
D = Decimal
ID = INSTRUMENT_ID

sides = st.sampled_from([OrderSide.BUY, OrderSide.SELL])
quantities = st.sampled_from([D("0.5"), D(1), D("1.5"), D(2)])
orders = st.one_of(
    st.tuples(st.just("market"), sides, quantities),
    st.tuples(st.just("reduce_market"), sides, quantities),
    st.tuples(st.just("reduce_limit"), sides, quantities, st.integers(-3, 3)),
    st.tuples(st.just("reduce_stop"), sides, quantities, st.integers(-3, 3)),
    st.tuples(st.just("reduce_trailing"), sides, quantities, st.integers(1, 3)),
    st.tuples(st.just("close"),),
)
# Each bar: open and close moves, in whole units around 100, and the script's orders.
steps = st.lists(
    st.tuples(st.integers(-3, 3), st.integers(-3, 3), st.lists(orders, max_size=3)),
    min_size=2, max_size=25,
)


def _act(strategy: ScriptedStrategy, order: tuple[Any, ...], price: float) -> None:
    kind = order[0]
    if kind == "close":
        strategy.close_position(ID)
        return
    side, quantity = order[1], order[2]
    if kind == "market":
        strategy.market_order(ID, side, quantity)
    elif kind == "reduce_market":
        strategy.market_order(ID, side, quantity, reduce_only=True)
    elif kind == "reduce_limit":
        strategy.limit_order(ID, side, quantity, price + order[3], reduce_only=True)
    elif kind == "reduce_stop":
        # Above the market for a buy, below for a sell: a stop that is not marketable.
        offset = abs(order[3]) + 1
        trigger = price + offset if side is OrderSide.BUY else price - offset
        strategy.stop_market_order(ID, side, quantity, trigger, reduce_only=True)
    else:
        strategy.trailing_stop_market_order(ID, side, quantity, order[3], reduce_only=True)


def _run(
    script: list[tuple[int, int, list[tuple[Any, ...]]]],
) -> tuple[ScriptedStrategy, list[Order]]:
    bars: list[Bar] = []
    price = 100.0
    for index, (open_move, close_move, _) in enumerate(script):
        open_price = max(price + open_move, 5.0)
        close = max(open_price + close_move, 5.0)
        bars.append(make_bar(close, ts_event=T0 + (index + 1) * MINUTE, open=open_price,
                             high=max(open_price, close) + 1, low=min(open_price, close) - 1,
                             volume=100.0))
        price = close

    def acting(orders: list[tuple[Any, ...]]) -> Any:
        def act(strategy: ScriptedStrategy, bar: Bar) -> None:
            for order in orders:
                _act(strategy, order, bar.close)
        return act

    strategy = ScriptedStrategy("s1", {i: acting(step[2]) for i, step in enumerate(script)})
    cache, clock = MarketCache(), SimClock()
    graph = make_graph(clock=clock, cache=cache, fail_fast=True)
    graph.add_bar_source(BAR_TYPE)
    graph.add_venue(SimVenue(SimVenueConfig(), graph.instruments, cache=cache))
    graph.add_strategy(strategy)
    source = ReplaySource(bars, bars_topic(ID, "1m"), ID)
    ReplayDriver(graph, clock, [source]).run(start=graph.start)
    graph.stop()
    return strategy, graph.orders.orders()


@settings(max_examples=80, deadline=None)
@given(steps)
def test_reduce_only_fills_never_increase_or_flip_the_position(
    script: list[tuple[int, int, list[tuple[Any, ...]]]],
) -> None:
    strategy, orders = _run(script)

    reduce_only = {order.client_order_id for order in orders if order.reduce_only}
    position = D(0)
    for fill in strategy.events(OrderFilled):
        signed = fill.last_quantity * fill.side.sign
        if fill.client_order_id in reduce_only:
            assert position * signed < 0, f"{fill}: opened or increased {position}"
            assert fill.last_quantity <= abs(position), f"{fill}: flipped {position}"
        position += signed
    assert all(order.status is not OrderStatus.INITIALIZED for order in orders)
