"""The order emulator through a real backtest graph: risk, the order manager, the emulator
and a simulated venue that places only market and limit orders (`order_types`), on
hand-built bars with every expected event written out.

Rules used (engine/actors/emulator.py, adapters/sim/venue.py): an order decided at bar
t's close is held from then; bar t+1 (which began at the hold) shows it its open, high
and low; at the trigger the emulator releases a plain order at that bar's close, and the
venue fills a market order at the next bar's open.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings, strategies as st

from adapters.sim import SimVenue, SimVenueConfig
from engine.actors.emulator import EmulatorSnapshot
from engine.cache import MarketCache
from engine.clock import SimClock
from engine.domain.enums import OrderSide, OrderStatus, OrderType, TimeInForce
from engine.events.contingency import OrderListClosed
from engine.events.fills import OrderFilled
from engine.events.market import Bar, TradeTick
from engine.events.orders import (
    OrderEmulated,
    OrderEvent,
    OrderExpired,
    OrderModifyRejected,
    OrderReleased,
    OrderTriggered,
    OrderUpdated,
    SubmitOrder,
)
from engine.graph import TradingGraph
from engine.replay import ReplayDriver, ReplaySource
from engine.testing import (
    INSTRUMENT_ID,
    ScriptAction,
    ScriptedStrategy,
    make_graph,
)
from engine.topics import RISK_EXECUTE, bars_topic, trades_topic
from tests.unit.engine.actors.test_actors_contingency import (
    MINUTE,
    START,
    Keep,
    bars,
    run as run_graph,
)

D = Decimal
SELL, BUY = OrderSide.SELL, OrderSide.BUY
FLAT = (100.0, 101.0, 99.0, 100.0)
PLACED = [OrderType.MARKET, OrderType.LIMIT]


def run(script: dict[int, ScriptAction], data: list[Bar], *,
        order_types: list[OrderType] | None = PLACED) -> tuple[ScriptedStrategy, TradingGraph]:
    """The order lists' test graph, on a venue placing `order_types` (market and limit)."""
    return run_graph(script, data, order_types=order_types)


def kinds(strategy: ScriptedStrategy, client_order_id: str) -> list[str]:
    return [type(e).__name__ for e in strategy.events(OrderEvent)
            if e.client_order_id == client_order_id]


def fills(strategy: ScriptedStrategy) -> list[tuple[str, OrderSide, Decimal, Decimal, int]]:
    return [(f.client_order_id, f.side, f.last_quantity, f.last_price, f.ts_event)
            for f in strategy.events(OrderFilled)]


def bar_open(index: int) -> int:
    return START + index * MINUTE  # bar `index` (0-based) opens here, closes a minute later


def place(action: Any) -> tuple[ScriptAction, list[str]]:
    """A script action that places one order and keeps its client id."""
    ids: list[str] = []

    def act(s: ScriptedStrategy, _: Bar) -> None:
        ids.append(action(s))

    return act, ids


def test_stop_market_is_held_then_released_as_a_market_order_that_fills_next_bar() -> None:
    act, ids = place(lambda s: s.stop_market_order(INSTRUMENT_ID, SELL, 1, 97))

    strategy, graph = run({0: act}, bars(FLAT, (100, 101, 96, 98), (95, 96, 94, 95)))

    [client_id] = ids
    assert kinds(strategy, client_id) == [
        "OrderEmulated", "OrderReleased", "OrderSubmitted", "OrderAccepted", "OrderFilled"]
    [released] = strategy.events(OrderReleased)
    assert (released.order_type, released.price, released.trigger_price,
            released.released_price) == (OrderType.MARKET, None, D(97), D(97))
    assert released.ts_event == bar_open(2)  # bar 1's close: the bar that reached it
    # The venue saw only the plain order, and filled it at the next bar's open.
    assert fills(strategy) == [(client_id, SELL, D(1), D(95), bar_open(2))]
    record = graph.orders.order(client_id)
    assert record is not None
    assert (record.status, record.order_type, record.released_from, record.trigger_price) == (
        OrderStatus.FILLED, OrderType.MARKET, OrderType.STOP_MARKET, D(97))
    stats = graph.emulator.statistics()
    assert (stats.held, stats.emulated, stats.released) == (0, 1, 1)


def test_the_same_stop_at_a_venue_that_places_it_fills_inside_the_bar() -> None:
    """What emulation costs: the native stop fills at its trigger on bar 1, the emulated
    one only at bar 2's open (the emulator knows bar 1's low at its close)."""
    act, ids = place(lambda s: s.stop_market_order(INSTRUMENT_ID, SELL, 1, 97))

    strategy, _ = run({0: act}, bars(FLAT, (100, 101, 96, 98), (95, 96, 94, 95)),
                      order_types=None)

    assert kinds(strategy, ids[0]) == ["OrderSubmitted", "OrderAccepted", "OrderFilled"]
    assert fills(strategy) == [(ids[0], SELL, D(1), D(97), bar_open(2))]


def test_a_gap_through_the_trigger_releases_at_the_open_price() -> None:
    act, _ = place(lambda s: s.stop_market_order(INSTRUMENT_ID, SELL, 1, 97))

    strategy, _ = run({0: act}, bars(FLAT, (95, 96, 94, 95), FLAT))

    [released] = strategy.events(OrderReleased)
    assert (released.trigger_price, released.released_price) == (D(97), D(95))


def test_stop_limit_and_limit_if_touched_are_released_as_limits_at_their_price() -> None:
    stop, stop_ids = place(lambda s: s.stop_limit_order(INSTRUMENT_ID, BUY, 1, 103, 104))
    touched, touched_ids = place(
        lambda s: s.limit_if_touched_order(INSTRUMENT_ID, BUY, 1, 98, 97))

    strategy, graph = run({0: lambda s, b: (stop(s, b), touched(s, b))},
                          bars(FLAT, (100, 103.5, 99, 103), (103, 103.5, 96, 97),
                               (98, 99, 96.5, 97)))

    [stop_id], [touched_id] = stop_ids, touched_ids
    released = {r.client_order_id: r for r in strategy.events(OrderReleased)}
    assert (released[stop_id].order_type, released[stop_id].price,
            released[stop_id].released_price) == (OrderType.LIMIT, D(104), D(103))
    assert (released[touched_id].order_type, released[touched_id].price,
            released[touched_id].released_price) == (OrderType.LIMIT, D(97), D(98))
    # The stop's limit 104 is at or above bar 2's open: taker at the open. The touched
    # buy limit 97, released at bar 2's close, rests until bar 3's low reaches it: maker.
    assert sorted(fills(strategy)) == sorted([
        (stop_id, BUY, D(1), D(103), bar_open(2)),
        (touched_id, BUY, D(1), D(97), bar_open(4))])
    assert not strategy.events(OrderTriggered)  # the venue never held a triggered order
    assert graph.orders.order(touched_id).released_from is OrderType.LIMIT_IF_TOUCHED  # type: ignore[union-attr]


def test_market_if_touched_triggers_as_the_price_comes_to_it() -> None:
    act, ids = place(lambda s: s.market_if_touched_order(INSTRUMENT_ID, BUY, 1, 98))

    strategy, _ = run({0: act}, bars(FLAT, (100, 101, 98.5, 100), (100, 100, 97, 99), FLAT))

    [released] = strategy.events(OrderReleased)
    assert (released.order_type, released.released_price, released.ts_event) == (
        OrderType.MARKET, D(98), bar_open(3))
    assert fills(strategy) == [(ids[0], BUY, D(1), D(100), bar_open(3))]


def test_emulated_trailing_stop_trails_like_the_venue_and_releases_at_its_trigger() -> None:
    data = bars(FLAT, (100, 104, 99, 103), (103, 103, 100, 101), FLAT)
    act, ids = place(lambda s: s.trailing_stop_market_order(INSTRUMENT_ID, SELL, 1, 2))
    native_act, native_ids = place(
        lambda s: s.trailing_stop_market_order(INSTRUMENT_ID, SELL, 1, 2))

    emulated, _ = run({0: act}, data)
    native, _ = run({0: native_act}, data, order_types=None)

    def triggers(strategy: ScriptedStrategy) -> list[tuple[Decimal | None, int]]:
        return [(u.trigger_price, u.ts_event) for u in strategy.events(OrderUpdated)]

    # Set from the last price when placed (100 - 2), moved to 102 by bar 1's high 104:
    # the same trigger moves as the simulated venue makes for its own trailing stop.
    assert triggers(emulated) == triggers(native) == [
        (D(98), bar_open(1)), (D(102), bar_open(2))]
    [released] = emulated.events(OrderReleased)
    assert (released.trigger_price, released.released_price, released.ts_event) == (
        D(102), D(102), bar_open(3))
    assert fills(native) == [(native_ids[0], SELL, D(1), D(102), bar_open(3))]
    assert fills(emulated) == [(ids[0], SELL, D(1), D(100), bar_open(3))]


def test_trailing_stop_limit_is_released_as_a_limit_its_offset_past_the_trigger() -> None:
    act, ids = place(lambda s: s.trailing_stop_limit_order(INSTRUMENT_ID, SELL, 1, 2, 1))

    strategy, _ = run({0: act}, bars(FLAT, (100, 104, 99, 103), (103, 103, 100, 101), FLAT))

    updates = [(u.trigger_price, u.price) for u in strategy.events(OrderUpdated)]
    assert updates == [(D(98), D(97)), (D(102), D(101))]
    [released] = strategy.events(OrderReleased)
    assert (released.order_type, released.price, released.trigger_price) == (
        OrderType.LIMIT, D(101), D(102))
    assert fills(strategy) == [(ids[0], SELL, D(1), D(101), bar_open(4))]


def test_cancel_of_a_held_order_is_answered_at_once_and_the_venue_never_sees_it() -> None:
    act, ids = place(lambda s: s.stop_market_order(INSTRUMENT_ID, SELL, 1, 90))

    strategy, graph = run({0: act, 1: lambda s, _: s.cancel_order(ids[0])},
                          bars(FLAT, FLAT, (100, 101, 80, 85)))

    assert kinds(strategy, ids[0]) == ["OrderEmulated", "OrderCanceled"]
    assert graph.orders.order(ids[0]).status is OrderStatus.CANCELED  # type: ignore[union-attr]
    assert graph.emulator.held_orders() == []
    assert graph.actor("venue_sim").statistics().orders_received == 0  # type: ignore[union-attr]


def test_modify_of_a_held_order_changes_what_is_released() -> None:
    act, ids = place(lambda s: s.stop_market_order(INSTRUMENT_ID, SELL, 2, 90))

    def modify(s: ScriptedStrategy, _: Bar) -> None:
        s.modify_order(ids[0], quantity=1, trigger_price=99.5)
        s.modify_order(ids[0], price=95)  # a stop-market has no limit: refused

    strategy, _ = run({0: act, 1: modify}, bars(FLAT, FLAT, (100, 101, 99, 100), FLAT))

    [updated] = strategy.events(OrderUpdated)
    assert (updated.quantity, updated.trigger_price) == (D(1), D("99.5"))
    [refused] = strategy.events(OrderModifyRejected)
    assert refused.reason == "price: a stop_market order takes no price"  # risk's check
    assert fills(strategy) == [(ids[0], SELL, D(1), D(100), bar_open(3))]


def test_gtd_order_expires_while_held_at_its_expiry_time() -> None:
    expiry = bar_open(2) + 30_000_000_000  # inside bar 2
    act, ids = place(lambda s: s.market_if_touched_order(
        INSTRUMENT_ID, BUY, 1, 90, time_in_force=TimeInForce.GTD, expire_ns=expiry))

    strategy, graph = run({0: act}, bars(FLAT, FLAT, FLAT, (100, 100, 85, 90)))

    assert kinds(strategy, ids[0]) == ["OrderEmulated", "OrderExpired"]
    [expired] = strategy.events(OrderExpired)
    assert expired.ts_event == expiry
    assert graph.emulator.statistics().expired == 1


def test_bracket_with_an_emulated_stop_loss_follows_the_entry_and_is_canceled_by_the_target(
) -> None:
    keep = Keep()
    script: dict[int, ScriptAction] = {0: lambda s, _: keep(s.bracket_order(
        INSTRUMENT_ID, BUY, 1, stop_loss=95, take_profit=110))}

    strategy, graph = run(script, bars(FLAT, (100, 101, 99, 100), (104, 111, 103, 108), FLAT))

    entry, stop, target = keep.ids.client_order_ids
    assert fills(strategy) == [(entry, BUY, D(1), D(100), bar_open(1)),
                               (target, SELL, D(1), D(110), bar_open(3))]
    assert kinds(strategy, stop) == ["OrderEmulated", "OrderCanceled"]
    [closed] = strategy.events(OrderListClosed)
    assert closed.order_list_id == keep.ids.order_list_id


def test_bracket_stop_loss_released_by_the_emulator_closes_the_trade() -> None:
    keep = Keep()
    script: dict[int, ScriptAction] = {0: lambda s, _: keep(s.bracket_order(
        INSTRUMENT_ID, BUY, 1, stop_loss=95, take_profit=110))}

    strategy, graph = run(script, bars(FLAT, FLAT, (99, 100, 94, 96), (96, 97, 95, 96), FLAT))

    entry, stop, target = keep.ids.client_order_ids
    assert fills(strategy) == [(entry, BUY, D(1), D(100), bar_open(1)),
                               (stop, SELL, D(1), D(96), bar_open(3))]
    assert graph.orders.order(target).status is OrderStatus.CANCELED  # type: ignore[union-attr]
    assert graph.portfolio.net_quantity(INSTRUMENT_ID) == 0


def test_held_orders_survive_a_snapshot_of_the_emulator() -> None:
    act, ids = place(lambda s: s.trailing_stop_market_order(INSTRUMENT_ID, SELL, 1, 2))

    _, graph = run({0: act}, bars(FLAT, (100, 104, 99, 103)))

    state = graph.emulator.snapshot_state()
    decoded = msgspec.msgpack.decode(msgspec.msgpack.encode(state), type=EmulatorSnapshot)
    _, fresh = run({}, bars(FLAT))
    fresh.emulator.restore_state(decoded)
    assert fresh.emulator.held_orders() == graph.emulator.held_orders()
    [held] = fresh.emulator.held_orders()
    assert (held.command.client_order_id, held.command.trigger_price) == (ids[0], D(102))
    assert fresh.emulator.statistics() == graph.emulator.statistics()


def test_an_order_type_the_venue_does_not_place_is_refused_there_without_emulation() -> None:
    """The venue's own rule, which emulation keeps from ever applying to a held type."""
    act, ids = place(lambda s: s.stop_market_order(INSTRUMENT_ID, SELL, 1, 97))
    cache = MarketCache()
    clock = SimClock()
    graph = make_graph(clock=clock, cache=cache, fail_fast=True)
    venue = SimVenue(SimVenueConfig(order_types=PLACED), graph.instruments, cache=cache)
    graph.add_venue(venue)
    graph.emulate(INSTRUMENT_ID, frozenset(OrderType))  # as if it placed every type
    strategy = ScriptedStrategy("s1", {0: act})
    graph.add_strategy(strategy)
    ReplayDriver(graph, clock, [ReplaySource(bars(FLAT, FLAT), bars_topic(INSTRUMENT_ID, "1m"),
                                             INSTRUMENT_ID)]).run(start=graph.start)

    order = graph.orders.order(ids[0])
    assert order is not None and order.status is OrderStatus.REJECTED
    assert order.reason == ("order_type stop_market: not placed by venue SIM (it places "
                            "limit, market)")


def test_sim_venue_config_refuses_order_types_without_market() -> None:
    with pytest.raises(ValueError, match=r"order_types \['limit'\]: must include market"):
        SimVenueConfig(order_types=[OrderType.LIMIT])


def test_emulation_is_the_same_every_run() -> None:
    act, _ = place(lambda s: s.trailing_stop_limit_order(INSTRUMENT_ID, SELL, 1, 1.5, 0.5))
    data = bars(FLAT, (100, 104, 99, 103), (103, 105, 102, 104), (104, 104, 99, 100), FLAT)

    first, _ = run({0: act}, data)
    act_again, _ = place(lambda s: s.trailing_stop_limit_order(INSTRUMENT_ID, SELL, 1, 1.5,
                                                               0.5))
    second, _ = run({0: act_again}, data)

    assert [msgspec.to_builtins(e) for e in first.seen] == [
        msgspec.to_builtins(e) for e in second.seen]


PRICES = st.integers(min_value=90, max_value=110)


@st.composite
def bar_paths(draw: st.DrawFn) -> list[tuple[float, float, float, float]]:
    count = draw(st.integers(min_value=1, max_value=6))
    result = []
    for _ in range(count):
        open_, close = draw(PRICES), draw(PRICES)
        high = max(open_, close) + draw(st.integers(0, 5))
        low = min(open_, close) - draw(st.integers(0, 5))
        result.append((float(open_), float(high), float(low), float(close)))
    return result


@settings(max_examples=60, deadline=None)
@given(path=bar_paths(), trigger=PRICES, side=st.sampled_from([BUY, SELL]),
       order_type=st.sampled_from([OrderType.STOP_MARKET, OrderType.MARKET_IF_TOUCHED]))
def test_emulated_trigger_is_reached_where_the_venue_fills_its_own(
        path: list[tuple[float, float, float, float]], trigger: int, side: OrderSide,
        order_type: OrderType) -> None:
    """One set of trigger rules: the emulator releases on the bar, and at the price, at
    which the venue fills the same order it places itself."""
    data = bars(FLAT, *path, FLAT)

    def order(s: ScriptedStrategy) -> str:
        if order_type is OrderType.STOP_MARKET:
            return s.stop_market_order(INSTRUMENT_ID, side, 1, trigger)
        return s.market_if_touched_order(INSTRUMENT_ID, side, 1, trigger)

    emulated_act, _ = place(order)
    native_act, _ = place(order)
    emulated, _ = run({0: emulated_act}, data)
    native, _ = run({0: native_act}, data, order_types=None)

    native_fills = [(f.last_price, f.ts_event) for f in native.events(OrderFilled)]
    released = [(r.released_price, r.ts_event) for r in emulated.events(OrderReleased)]
    assert len(released) == len(native_fills)
    assert len(emulated.events(OrderEmulated)) == 1
    if not released:
        return
    [(price, bar_close)], [(native_price, native_ts)] = released, native_fills
    # The same price, on the same bar: the venue's fill at its open (a gap) or at its
    # close time (inside it); the emulator knows the bar at its close.
    assert price == native_price
    assert native_ts in (bar_close - MINUTE, bar_close)
    # The released market order fills at the next bar's open, if there is one.
    assert [f.ts_event for f in emulated.events(OrderFilled)] in ([], [bar_close])


def test_new_trailing_distances_set_a_held_trigger_again_from_the_market() -> None:
    act, ids = place(lambda s: s.trailing_stop_market_order(INSTRUMENT_ID, SELL, 1, 2))

    def modify(s: ScriptedStrategy, _: Bar) -> None:
        s.modify_order(ids[0], trailing_offset=0.5)
        s.modify_order(ids[0], trigger_price=95)  # the market moves a trailing trigger

    strategy, _ = run({0: act, 1: modify}, bars(FLAT, FLAT, FLAT))

    # 100 - 2 when placed; 101 - 2 after bar 1's high; 100 - 0.5 from bar 1's close.
    assert [(u.trigger_price, u.trailing_offset) for u in strategy.events(OrderUpdated)] == [
        (D(98), None), (D(99), None), (D("99.5"), D("0.5"))]
    [refused] = strategy.events(OrderModifyRejected)
    assert refused.reason == ("emulator: trigger_price 95.00: a trailing_stop_market order's "
                              "trigger follows the market")
    [released] = strategy.events(OrderReleased)
    assert (released.trigger_price, released.released_price) == (D("99.5"), D("99.5"))


def test_a_venue_clock_behind_the_engine_clock_still_triggers_held_orders() -> None:
    """Found against the fake exchange: trades stamped by a venue clock 1.5 s behind the
    engine's were all taken as older than the hold, and a stop they went through never
    released. The hold is judged in engine time (`ts_init`)."""
    clock = SimClock(start_ns=START)
    cache = MarketCache()
    graph = make_graph(clock=clock, cache=cache, fail_fast=True)
    graph.add_venue(SimVenue(SimVenueConfig(order_types=PLACED), graph.instruments,
                             cache=cache))
    graph.start()
    graph.bus.send(RISK_EXECUTE, SubmitOrder(
        strategy_id="s1", client_order_id="c1", instrument_id=INSTRUMENT_ID, side=SELL,
        order_type=OrderType.STOP_MARKET, quantity=D(1), trigger_price=D(95),
        ts_event=START, ts_init=START))
    behind = 1_500_000_000
    clock.advance_to(START + 1_000_000)
    graph.process(TradeTick(instrument_id=INSTRUMENT_ID, price=94.0, size=1.0,
                            ts_event=START + 1_000_000 - behind, ts_init=START + 1_000_000),
                  trades_topic(INSTRUMENT_ID))

    order = graph.orders.order("c1")
    assert order is not None
    assert (order.status, order.order_type, order.released_from) == (
        OrderStatus.ACCEPTED, OrderType.MARKET, OrderType.STOP_MARKET)
