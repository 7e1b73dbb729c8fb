"""Order lists a venue links itself (`ExecutionClient.native_order_lists`), through a real
backtest graph: risk, the order manager and the simulated venue.

The simulated venue links nothing, which is what these tests need: whatever the engine
would have done (a modify, a cancel, a held child) would show in its orders, so a
native list that shows none of it proves the engine left the linking to the venue.
"""

from __future__ import annotations

from decimal import Decimal

from adapters.sim import SimVenue, SimVenueConfig
from engine.actors.contingency import ContingencyActor
from engine.actors.risk import RiskConfig
from engine.cache import MarketCache
from engine.clock import SimClock
from engine.domain.enums import ContingencyType, OrderSide, OrderStatus, OrderType
from engine.events.contingency import ContingentOrderRefused, OrderListClosed
from engine.events.market import Bar
from engine.events.orders import OrderDenied
from engine.graph import TradingGraph
from engine.replay import ReplayDriver, ReplaySource
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    ScriptAction,
    ScriptedStrategy,
    make_graph,
)
from engine.topics import bars_topic
from tests.unit.engine.actors.test_actors_contingency import FLAT, Keep, bars, bracket, fills

D = Decimal
SELL, BUY = OrderSide.SELL, OrderSide.BUY
NATIVE = (ContingencyType.OCO, ContingencyType.BRACKET)


def run(script: dict[int, ScriptAction], data: list[Bar], *, risk: RiskConfig | None = None,
        native: tuple[ContingencyType, ...] = NATIVE) -> tuple[ScriptedStrategy, TradingGraph]:
    cache = MarketCache()
    clock = SimClock()
    graph = make_graph(clock=clock, cache=cache, risk=risk, fail_fast=True)
    graph.add_bar_source(BAR_TYPE)
    graph.add_venue(SimVenue(SimVenueConfig(), graph.instruments, cache=cache))
    graph.contingency.link_natively("SIM", native)
    strategy = ScriptedStrategy("s1", script)
    graph.add_strategy(strategy)
    ReplayDriver(graph, clock, [ReplaySource(data, bars_topic(INSTRUMENT_ID, "1m"),
                                             INSTRUMENT_ID)]).run(start=graph.start)
    return strategy, graph


def sent(graph: TradingGraph, *client_ids: str) -> list[tuple[Decimal, str | None, str | None]]:
    """(quantity, contingency, parent) of each order as the order manager recorded it."""
    records = [graph.orders.order(client_id) for client_id in client_ids]
    return [(r.quantity, None if r.contingency is None else r.contingency.value,
             r.parent_order_id) for r in records if r is not None]


def test_native_bracket_sends_every_order_at_once_with_its_links_and_never_adjusts() -> None:
    keep = Keep()

    strategy, graph = run({0: bracket(keep)}, bars(
        FLAT, (100, 101, 99, 100), (104, 111, 103, 108), FLAT))

    entry, stop, target = keep.ids.client_order_ids
    # All three reached the venue full size with their links, before the entry traded.
    assert sent(graph, entry, stop, target) == [
        (D(1), "bracket", None), (D(1), "bracket", entry), (D(1), "bracket", entry)]
    # The take-profit filled and the engine canceled nothing: the venue links the exits.
    assert fills(strategy) == [(entry, BUY, D(1), D(100)), (target, SELL, D(1), D(110))]
    assert graph.orders.order(stop).status is OrderStatus.ACCEPTED  # type: ignore[union-attr]
    statistics = graph.contingency.statistics()
    assert (statistics.lists_native, statistics.orders_released, statistics.modifies_sent,
            statistics.cancels_sent) == (1, 3, 0, 0)
    assert graph.contingency.order_list(keep.ids.order_list_id).native  # type: ignore[union-attr]


def test_native_bracket_exit_refused_cancels_the_entry_that_has_not_traded() -> None:
    keep = Keep()

    strategy, graph = run(
        {0: lambda s, _: keep(s.bracket_order(INSTRUMENT_ID, BUY, 1, stop_loss=95,
                                              take_profit=1000))},
        bars(FLAT, FLAT, FLAT), risk=RiskConfig(max_order_notional=D(500)))

    entry, stop, target = keep.ids.client_order_ids
    assert [d.client_order_id for d in strategy.events(OrderDenied)] == [target]
    [refused] = strategy.events(ContingentOrderRefused)
    assert refused.consequence == ("the entry is canceled unless it has traded (then its "
                                   "fills lack this exit); the other exit stays with the venue")
    assert graph.orders.order(entry).status is OrderStatus.CANCELED  # type: ignore[union-attr]
    assert fills(strategy) == []
    # The venue would cancel the stop-loss with its canceled parent; the simulated one
    # links nothing, so the list stays open on it: the engine sent one cancel, no more.
    assert graph.contingency.statistics().cancels_sent == 1


def test_native_bracket_canceled_by_the_strategy_cancels_only_the_entry() -> None:
    keep = Keep()
    script: dict[int, ScriptAction] = {
        0: lambda s, _: keep(s.bracket_order(INSTRUMENT_ID, BUY, 1, stop_loss=95,
                                              take_profit=110, entry_price=90)),
        1: lambda s, _: s.cancel_order_list(keep.ids.order_list_id),
    }

    strategy, graph = run(script, bars(FLAT, FLAT, FLAT))

    entry, stop, target = keep.ids.client_order_ids
    assert graph.orders.order(entry).status is OrderStatus.CANCELED  # type: ignore[union-attr]
    assert graph.contingency.statistics().cancels_sent == 1  # the venue cancels the children


def test_native_oco_legs_are_never_modified_or_canceled_by_the_engine() -> None:
    keep = Keep()

    def place(s: ScriptedStrategy, _: Bar) -> None:
        keep(s.oco_orders(
            s.new_order(INSTRUMENT_ID, SELL, OrderType.LIMIT, 1, price=110),
            s.new_order(INSTRUMENT_ID, SELL, OrderType.STOP_MARKET, 1, trigger_price=95)))

    strategy, graph = run({0: lambda s, _: s.market_order(INSTRUMENT_ID, BUY, 1), 1: place},
                          bars(FLAT, FLAT, (104, 111, 103, 108), FLAT))

    limit, stop = keep.ids.client_order_ids
    assert sent(graph, limit, stop) == [(D(1), "oco", None), (D(1), "oco", None)]
    assert graph.orders.order(limit).status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert graph.orders.order(stop).status is OrderStatus.ACCEPTED  # type: ignore[union-attr]
    assert graph.contingency.statistics().cancels_sent == 0


def test_a_kind_the_venue_does_not_link_is_linked_by_the_engine() -> None:
    keep = Keep()

    strategy, graph = run({0: bracket(keep)}, bars(
        FLAT, (100, 101, 99, 100), (104, 111, 103, 108), FLAT), native=(ContingencyType.OCO,))

    _, stop, _ = keep.ids.client_order_ids
    assert graph.orders.order(stop).status is OrderStatus.CANCELED  # type: ignore[union-attr]
    assert graph.contingency.statistics().lists_native == 0
    assert [c.reason for c in strategy.events(OrderListClosed)] == [
        "every order of the list is done"]


def test_native_bracket_exits_pass_a_position_limit_the_entry_fits() -> None:
    # Sent before the entry trades, the exits are checked from the position the entry
    # makes, and as one pair: counted from flat, each with the other, they would reach -2.
    keep = Keep()

    strategy, graph = run({0: bracket(keep)}, bars(FLAT, FLAT),
                          risk=RiskConfig(max_position_quantity=D(1)))

    assert strategy.events(OrderDenied) == []
    assert len(sent(graph, *keep.ids.client_order_ids)) == 3


def test_native_flag_survives_a_snapshot() -> None:
    keep = Keep()
    _, graph = run({0: bracket(keep)}, bars(FLAT, FLAT))

    restored = ContingencyActor(graph.orders)
    restored.restore_state(graph.contingency.snapshot_state())

    assert restored.order_list(keep.ids.order_list_id).native  # type: ignore[union-attr]
    assert restored.statistics().lists_native == 1



def test_a_list_with_an_instrument_id_naming_no_venue_is_linked_by_the_engine() -> None:
    # Its orders are denied by risk (unknown instrument), as without native lists; asking
    # the id for its venue raised out of the contingency actor before.
    keep = Keep()

    strategy, graph = run({0: lambda s, _: keep(s.oco_orders(
        s.new_order("NOVENUE", SELL, OrderType.LIMIT, 1, price=110),
        s.new_order("NOVENUE", SELL, OrderType.LIMIT, 1, price=120)))}, bars(FLAT, FLAT))

    assert graph.contingency.statistics().lists_native == 0
    reasons = [d.reason for d in strategy.events(OrderDenied)]
    assert reasons == ["unknown_instrument: NOVENUE is not known to this graph"] * 2
