"""Order lists through a real backtest graph: risk, the order manager, the simulated venue
and hand-built bars, with every expected fill written out.

Fill rules used (adapters/sim/venue.py): an order decided at bar t's close matches from
bar t+1; a market order fills at the open; a sell limit P at P once the high reaches it;
a sell stop T at T once the low reaches it. With `max_volume_fraction` 0.5 and volume 1,
each fill takes at most 0.5.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from adapters.sim import SimVenue, SimVenueConfig
from engine.actors.risk import RiskConfig
from engine.cache import MarketCache
from engine.clock import SimClock
from engine.domain.enums import ContingencyType, OrderSide, OrderStatus, OrderType
from engine.events.contingency import ContingentOrderRefused, OrderListClosed
from engine.events.fills import OrderFilled
from engine.events.market import Bar
from engine.events.orders import OrderDenied, OrderUpdated
from engine.graph import TradingGraph
from engine.replay import ReplayDriver, ReplaySource
from engine.strategy import OrderListIds
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
SELL, BUY = OrderSide.SELL, OrderSide.BUY


def bars(*ohlc: tuple[float, float, float, float]) -> list[Bar]:
    """Bars from (open, high, low, close), one a minute."""
    return [make_bar(c, open=o, high=h, low=lo, ts_event=START + (i + 1) * MINUTE)
            for i, (o, h, lo, c) in enumerate(ohlc)]


FLAT = (100.0, 101.0, 99.0, 100.0)


def run(script: dict[int, ScriptAction], data: list[Bar], *, fraction: float | None = None,
        risk: RiskConfig | None = None, order_types: list[OrderType] | None = None,
        ) -> tuple[ScriptedStrategy, TradingGraph]:
    """Replay `data` through a graph with one scripted strategy; `order_types` are the
    types the simulated venue places (None: all)."""
    cache = MarketCache()
    clock = SimClock()
    graph = make_graph(clock=clock, cache=cache, risk=risk, fail_fast=True)
    graph.add_bar_source(BAR_TYPE)
    graph.add_venue(SimVenue(SimVenueConfig(max_volume_fraction=fraction,
                                            order_types=order_types),
                             graph.instruments, cache=cache))
    strategy = ScriptedStrategy("s1", script)
    graph.add_strategy(strategy)
    ReplayDriver(graph, clock, [ReplaySource(data, bars_topic(INSTRUMENT_ID, "1m"),
                                             INSTRUMENT_ID)]).run(start=graph.start)
    return strategy, graph


def fills(strategy: ScriptedStrategy) -> list[tuple[str, OrderSide, Decimal, Decimal]]:
    return [(f.client_order_id, f.side, f.last_quantity, f.last_price)
            for f in strategy.events(OrderFilled)]


class Keep:
    """Lets a script keep what a helper returned, for the assertions."""

    ids: OrderListIds

    def __call__(self, ids: OrderListIds) -> None:
        self.ids = ids


def bracket(keep: Keep, **options: Any) -> ScriptAction:
    return lambda s, _: keep(s.bracket_order(INSTRUMENT_ID, BUY, 1, stop_loss=95,
                                              take_profit=110, **options))


def test_bracket_take_profit_fills_and_cancels_the_stop_loss() -> None:
    keep = Keep()

    strategy, graph = run({0: bracket(keep)}, bars(
        FLAT, (100, 101, 99, 100), (100, 105, 98, 104), (104, 111, 103, 108), FLAT))

    entry, stop, target = keep.ids.client_order_ids
    assert fills(strategy) == [(entry, BUY, D(1), D(100)), (target, SELL, D(1), D(110))]
    assert graph.orders.order(stop).status is OrderStatus.CANCELED  # type: ignore[union-attr]
    closed = strategy.events(OrderListClosed)
    assert [(c.order_list_id, c.reason) for c in closed] == [
        (keep.ids.order_list_id, "every order of the list is done")]
    assert graph.portfolio.net_quantity(INSTRUMENT_ID, "s1") == 0


def test_bracket_bar_reaching_both_exits_fills_only_the_stop_loss() -> None:
    keep = Keep()

    strategy, graph = run({0: bracket(keep)}, bars(
        FLAT, (100, 101, 99, 100), (100, 112, 90, 100), FLAT))

    entry, stop, target = keep.ids.client_order_ids
    assert fills(strategy) == [(entry, BUY, D(1), D(100)), (stop, SELL, D(1), D(95))]
    assert graph.orders.order(target).status is OrderStatus.CANCELED  # type: ignore[union-attr]


def test_bracket_records_carry_the_list_and_the_parent() -> None:
    keep = Keep()

    _, graph = run({0: bracket(keep)}, bars(FLAT, FLAT))

    entry, stop, target = (graph.orders.order(i) for i in keep.ids.client_order_ids)
    assert entry is not None and stop is not None and target is not None
    assert {o.order_list_id for o in (entry, stop, target)} == {keep.ids.order_list_id}
    assert {o.contingency for o in (entry, stop, target)} == {ContingencyType.BRACKET}
    assert (entry.parent_order_id, stop.parent_order_id, target.parent_order_id) == (
        None, entry.client_order_id, entry.client_order_id)
    assert (stop.order_type, stop.trigger_price, target.order_type, target.price) == (
        OrderType.STOP_MARKET, D(95), OrderType.LIMIT, D(110))
    state = graph.contingency.order_list(keep.ids.order_list_id)
    assert state is not None and state.released == list(keep.ids.client_order_ids)


def test_bracket_exits_follow_partial_fills_of_the_entry_and_of_each_other() -> None:
    keep = Keep()

    strategy, graph = run({0: bracket(keep)}, bars(
        FLAT,
        (100, 101, 99, 100),   # entry 0.5 @100: exits released with 0.5
        (100, 101, 99, 100),   # entry 0.5 @100 more: exits modified to 1
        (104, 111, 103, 108),  # take-profit 0.5 @110: stop-loss modified to 0.5
        (108, 112, 107, 110),  # take-profit 0.5 @110 more: done, stop-loss canceled
        FLAT), fraction=0.5)

    entry, stop, target = keep.ids.client_order_ids
    assert fills(strategy) == [
        (entry, BUY, D("0.5"), D(100)), (entry, BUY, D("0.5"), D(100)),
        (target, SELL, D("0.5"), D(110)), (target, SELL, D("0.5"), D(110))]
    updates = [(u.client_order_id, u.quantity) for u in strategy.events(OrderUpdated)]
    assert updates == [(stop, D(1)), (target, D(1)), (stop, D("0.5"))]
    stop_record = graph.orders.order(stop)
    assert stop_record is not None and stop_record.status is OrderStatus.CANCELED
    assert stop_record.filled_quantity == 0


def test_bracket_stop_loss_fill_cancels_the_rest_of_the_entry_and_carries_on() -> None:
    keep = Keep()

    strategy, graph = run({0: bracket(keep)}, bars(
        FLAT,
        (100, 101, 99, 100),  # entry 0.5: exits released with 0.5
        (96, 97, 94, 95),     # entry 0.5 @96 (matched first), then the stop-loss 0.5 @95:
                              # complete at 0.5, so a follow-up stop carries on for 0.5
        (95, 96, 94, 95),     # the follow-up 0.5 @95 (open at the trigger): take-profit canceled
        FLAT), fraction=0.5)

    entry, stop, target = keep.ids.client_order_ids
    follow_up = f"{stop}-F1"
    assert fills(strategy) == [
        (entry, BUY, D("0.5"), D(100)), (entry, BUY, D("0.5"), D(96)),
        (stop, SELL, D("0.5"), D(95)), (follow_up, SELL, D("0.5"), D(95))]
    record = graph.orders.order(follow_up)
    assert record is not None and record.parent_order_id == entry
    assert (record.order_type, record.trigger_price) == (OrderType.STOP_MARKET, D(95))
    assert graph.orders.order(target).status is OrderStatus.CANCELED  # type: ignore[union-attr]
    assert graph.portfolio.net_quantity(INSTRUMENT_ID, "s1") == 0
    assert [c.reason for c in strategy.events(OrderListClosed)] == [
        "every order of the list is done"]


def test_bracket_entry_canceled_before_any_fill_never_releases_the_exits() -> None:
    keep = Keep()
    script: dict[int, ScriptAction] = {
        0: bracket(keep, entry_price=90),
        2: lambda s, _: s.cancel_order(keep.ids.client_order_ids[0]),
    }

    strategy, graph = run(script, bars(FLAT, FLAT, FLAT, FLAT))

    entry, stop, target = keep.ids.client_order_ids
    assert fills(strategy) == []
    assert graph.orders.order(entry).status is OrderStatus.CANCELED  # type: ignore[union-attr]
    assert graph.orders.order(stop) is None and graph.orders.order(target) is None
    [closed] = strategy.events(OrderListClosed)
    assert closed.reason == (f"parent {entry} ended canceled with no fill: its children "
                             "were never released")
    assert graph.contingency.statistics().open_lists == 0


def test_bracket_exit_denied_by_risk_is_surfaced_and_the_other_exit_works() -> None:
    keep = Keep()

    strategy, graph = run(
        {0: lambda s, _: keep(s.bracket_order(INSTRUMENT_ID, BUY, 1, stop_loss=95,
                                              take_profit=1000))},
        bars(FLAT, FLAT, (96, 97, 94, 95), FLAT),
        risk=RiskConfig(max_order_notional=D(500)))

    entry, stop, target = keep.ids.client_order_ids
    [denied] = strategy.events(OrderDenied)
    assert denied.client_order_id == target and denied.order_list_id == keep.ids.order_list_id
    [refused] = strategy.events(ContingentOrderRefused)
    assert (refused.client_order_id, refused.consequence) == (
        target, "the entry's fills have no take-profit (tried again if the entry fills more); "
                "the other exit stays working")
    assert refused.reason.startswith("max_order_notional")
    assert fills(strategy) == [(entry, BUY, D(1), D(100)), (stop, SELL, D(1), D(95))]
    assert graph.contingency.statistics().orders_refused == 1


def oco(keep: Keep) -> ScriptAction:
    def place(s: ScriptedStrategy, _: Bar) -> None:
        keep(s.oco_orders(
            s.new_order(INSTRUMENT_ID, SELL, OrderType.LIMIT, 1, price=110),
            s.new_order(INSTRUMENT_ID, SELL, OrderType.STOP_MARKET, 1, trigger_price=95)))
    return place


def test_oco_partial_fill_shrinks_the_other_leg_and_a_complete_pair_cancels_it() -> None:
    keep = Keep()
    script: dict[int, ScriptAction] = {
        0: lambda s, _: s.market_order(INSTRUMENT_ID, BUY, 1),
        1: oco(keep),
    }

    strategy, graph = run(script, bars(
        FLAT, FLAT,
        (104, 111, 103, 108),  # limit 0.5 @110: the stop shrinks to 0.5
        (100, 101, 99, 100),
        (96, 97, 94, 95),      # stop 0.5 @95: the pair is complete, the limit canceled
        FLAT), fraction=0.5)

    limit, stop = keep.ids.client_order_ids
    assert [f for f in fills(strategy) if f[0] in (limit, stop)] == [
        (limit, SELL, D("0.5"), D(110)), (stop, SELL, D("0.5"), D(95))]
    assert [(u.client_order_id, u.quantity) for u in strategy.events(OrderUpdated)] == [
        (stop, D("0.5"))]
    assert graph.orders.order(limit).status is OrderStatus.CANCELED  # type: ignore[union-attr]
    assert graph.orders.order(stop).status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert [c.reason for c in strategy.events(OrderListClosed)] == [
        "every order of the list is done"]


def test_oco_with_unequal_quantities_is_denied_whole() -> None:
    def place(s: ScriptedStrategy, _: Bar) -> None:
        s.oco_orders(s.new_order(INSTRUMENT_ID, SELL, OrderType.LIMIT, 1, price=110),
                     s.new_order(INSTRUMENT_ID, SELL, OrderType.LIMIT, 2, price=120))

    strategy, graph = run({0: place}, bars(FLAT, FLAT))

    reasons = [d.reason for d in strategy.events(OrderDenied)]
    assert reasons == ["order_list: oco: every order must have the same quantity (the pair's)"] * 2
    [closed] = strategy.events(OrderListClosed)
    assert closed.reason.startswith("denied: oco")
    assert graph.contingency.statistics().lists_denied == 1


def test_oto_children_are_released_with_and_grow_with_the_parent_fills() -> None:
    keep = Keep()

    def place(s: ScriptedStrategy, _: Bar) -> None:
        keep(s.oto_orders(
            s.new_order(INSTRUMENT_ID, BUY, OrderType.LIMIT, 1, price=99),
            s.new_order(INSTRUMENT_ID, SELL, OrderType.LIMIT, 1, price=105),
            s.new_order(INSTRUMENT_ID, SELL, OrderType.LIMIT, D("0.3"), price=106)))

    strategy, graph = run({0: place}, bars(
        FLAT,
        (100, 101, 98, 100),  # parent 0.5 @99: children released with 0.5 and 0.3
        (100, 101, 98, 100),  # parent 0.5 more: the first child grows to 1
        FLAT), fraction=0.5)

    parent, first, second = keep.ids.client_order_ids
    assert fills(strategy) == [(parent, BUY, D("0.5"), D(99)), (parent, BUY, D("0.5"), D(99))]
    records = [graph.orders.order(i) for i in (first, second)]
    assert [(r.quantity, r.status, r.parent_order_id) for r in records  # type: ignore[union-attr]
            ] == [(D(1), OrderStatus.ACCEPTED, parent), (D("0.3"), OrderStatus.ACCEPTED, parent)]


def test_bracket_exit_too_small_for_the_minimum_is_tried_again_as_the_entry_fills() -> None:
    keep = Keep()

    strategy, graph = run(
        {0: lambda s, _: keep(s.bracket_order(INSTRUMENT_ID, BUY, D("0.3"), stop_loss=95,
                                              take_profit=110))},
        [*bars(FLAT), make_bar(100, open=100, high=101, low=99, volume=0.08,
                               ts_event=START + 2 * MINUTE),
         *bars(FLAT, FLAT, FLAT, (100, 111, 99, 100), FLAT)[2:]],
        fraction=0.5)

    # entry 0.04 @100 (notional 4 < min_notional 10: both exits denied), then 0.26 @100
    # on a bar of volume 1: follow-ups for 0.3; the take-profit's fills it all @110.
    entry, stop, target = keep.ids.client_order_ids
    assert [d.client_order_id for d in strategy.events(OrderDenied)] == [stop, target]
    assert fills(strategy) == [
        (entry, BUY, D("0.04"), D(100)), (entry, BUY, D("0.26"), D(100)),
        (f"{target}-F1", SELL, D("0.3"), D(110))]
    assert graph.orders.order(f"{stop}-F1").status is OrderStatus.CANCELED  # type: ignore[union-attr]
    assert graph.portfolio.net_quantity(INSTRUMENT_ID, "s1") == 0


def test_cancel_order_list_cancels_the_open_orders() -> None:
    keep = Keep()
    script: dict[int, ScriptAction] = {
        0: bracket(keep),
        2: lambda s, _: s.cancel_order_list(keep.ids.order_list_id),
    }

    strategy, graph = run(script, bars(FLAT, FLAT, FLAT, FLAT))

    _, stop, target = keep.ids.client_order_ids
    assert {graph.orders.order(i).status for i in (stop, target)  # type: ignore[union-attr]
            } == {OrderStatus.CANCELED}
    assert [c.reason for c in strategy.events(OrderListClosed)] == [
        "canceled by the strategy (CancelOrderList)"]
