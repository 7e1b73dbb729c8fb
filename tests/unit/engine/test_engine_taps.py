"""Bus taps: what they see, their bounded buffer, waiting consumers, and that they change
nothing the graph computes (checked on a real backtest)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anyio
import pytest

from adapters.sim.venue import SimVenue, SimVenueConfig
from engine.actors.risk import RiskConfig
from engine.backtest import BacktestResult, BacktestSettings, run_backtest
from engine.bus import MessageBus
from engine.cache import MarketCache
from engine.domain.enums import OrderSide
from engine.events.orders import SubmitOrder
from engine.graph import TradingGraph
from engine.instruments import InstrumentRegistry
from engine.replay import ReplaySource
from engine.taps import Tap, TapPolicy
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    ScriptedStrategy,
    make_bars,
    make_instrument,
    make_portfolio_config,
)
from engine.topics import ALL_DATA, ALL_EVENTS, bars_topic
from strategies.sma_cross import SmaCross, SmaCrossConfig

T0 = 19_700 * 86_400_000_000_000


# -- what a tap sees ---------------------------------------------------------------------


def test_tap_sees_matching_published_messages_once_with_topic_in_publish_order() -> None:
    bus = MessageBus()
    tap = bus.add_tap("data.*.sim.#")
    bus.subscribe("data.#", lambda message: None)

    bus.publish("data.bars.sim.btc", 1)
    bus.publish("data.bars.other.btc", 2)
    bus.publish("events.order.s1", 3)
    bus.publish("data.quotes.sim", 4)
    bus.publish("data.bars.sim.btc", 5)

    assert tap.drain() == [("data.bars.sim.btc", 1), ("data.quotes.sim", 4),
                          ("data.bars.sim.btc", 5)]


def test_tap_sees_messages_published_from_handlers_in_publish_order() -> None:
    bus = MessageBus()
    tap = bus.add_tap("t.#")

    def relay(message: str) -> None:
        if len(message) < 2:
            bus.publish("t.b", message + "x")
            bus.publish("t.c", message + "y")

    bus.subscribe("t.#", relay)
    bus.publish("t.a", "m")

    assert tap.drain() == [("t.a", "m"), ("t.b", "mx"), ("t.c", "my")]


def test_tap_ignores_endpoint_sends_requests_and_direct_deliveries() -> None:
    bus = MessageBus()
    tap = bus.add_tap("#")
    bus.register_endpoint("svc.do", lambda message: message)
    replies: list[Any] = []

    bus.send("svc.do", "sent")
    bus.request("svc.do", "asked", replies.append)
    bus.deliver(replies.append, "direct")
    bus.publish("t", "published")

    assert tap.drain() == [("t", "published")]
    assert replies == ["asked", "direct"]


def test_tap_sees_a_forwarded_command_never_and_its_events_once() -> None:
    # A SubmitOrder hops risk.execute -> orders.execute -> the venue endpoint; the
    # observer sees all three hops, a tap on events sees only what is published.
    bus = MessageBus()
    observed: list[str] = []
    bus.add_observer(lambda name, message: observed.append(name))
    tap = bus.add_tap(ALL_EVENTS)
    bus.register_endpoint("risk.execute", lambda message: bus.send("orders.execute", message))
    bus.register_endpoint("orders.execute", lambda message: bus.send("venue.sim.execute",
                                                                     message))
    bus.register_endpoint("venue.sim.execute",
                          lambda message: bus.publish("events.order.s1", "accepted"))

    bus.send("risk.execute", "submit")

    assert observed == ["risk.execute", "orders.execute", "venue.sim.execute",
                        "events.order.s1"]
    assert tap.drain() == [("events.order.s1", "accepted")]


def test_tap_sees_topics_nobody_subscribes_to() -> None:
    bus = MessageBus()
    tap = bus.add_tap("t.*")

    bus.publish("t.lonely", 1)

    assert tap.drain() == [("t.lonely", 1)]
    assert bus.statistics().messages_handled == 0


def test_add_tap_after_topic_was_cached_sees_later_messages() -> None:
    bus = MessageBus()
    bus.subscribe("t", lambda message: None)
    bus.publish("t", 1)

    tap = bus.add_tap("t")
    bus.publish("t", 2)

    assert tap.drain() == [("t", 2)]


def test_two_taps_on_one_topic_each_see_every_message() -> None:
    bus = MessageBus()
    first, second = bus.add_tap("t.#", name="ws"), bus.add_tap("t.a", name="metrics")

    bus.publish("t.a", 1)
    bus.publish("t.b", 2)

    assert first.drain() == [("t.a", 1), ("t.b", 2)]
    assert second.drain() == [("t.a", 1)]
    assert [tap.name for tap in bus.taps()] == ["ws", "metrics"]


def test_add_tap_with_hash_not_at_end_raises_and_attaches_nothing() -> None:
    bus = MessageBus()

    with pytest.raises(ValueError, match="only allowed at the end"):
        bus.add_tap("data.#.bars")

    assert bus.taps() == ()


def test_add_tap_with_capacity_zero_raises() -> None:
    with pytest.raises(ValueError, match="capacity 0"):
        MessageBus().add_tap("t", capacity=0)


def test_tap_name_defaults_to_its_pattern() -> None:
    assert MessageBus().add_tap("events.#").statistics().name == "events.#"


# -- has_audience ------------------------------------------------------------------------


def test_has_audience_is_true_only_for_topics_a_tap_matches() -> None:
    bus = MessageBus()
    assert not bus.has_audience("events.account.main")  # cached before the tap exists

    tap = bus.add_tap("events.account.*")

    assert bus.has_audience("events.account.main")
    assert not bus.has_audience("events.position.s1")
    tap.close()
    assert not bus.has_audience("events.account.main")


def test_has_audience_with_an_observer_stays_true_for_every_topic() -> None:
    bus = MessageBus()
    bus.add_observer(lambda name, message: None)

    assert bus.has_audience("events.position.s1")


# -- the bounded buffer ------------------------------------------------------------------------


def test_tap_drop_oldest_when_full_keeps_the_newest_and_counts_drops() -> None:
    bus = MessageBus()
    tap = bus.add_tap("t", capacity=3)

    for value in range(5):
        bus.publish("t", value)

    assert [message for _, message in tap.drain()] == [2, 3, 4]
    stats = tap.statistics()
    assert (stats.received, stats.delivered, stats.buffered, stats.dropped) == (5, 3, 0, 2)
    assert stats.policy == "drop_oldest"


def test_tap_drop_newest_when_full_keeps_the_oldest_and_counts_drops() -> None:
    bus = MessageBus()
    tap = bus.add_tap("t", capacity=3, policy=TapPolicy.DROP_NEWEST)

    for value in range(5):
        bus.publish("t", value)

    stats = tap.statistics()
    assert (stats.received, stats.buffered, stats.dropped) == (5, 3, 2)
    assert [message for _, message in tap.drain()] == [0, 1, 2]


def test_tap_get_nowait_takes_oldest_then_raises_would_block_when_empty() -> None:
    bus = MessageBus()
    tap = bus.add_tap("t")
    bus.publish("t", 1)

    assert tap.get_nowait() == ("t", 1)
    with pytest.raises(anyio.WouldBlock):
        tap.get_nowait()
    assert tap.statistics().delivered == 1


def test_tap_drain_with_max_items_takes_only_that_many_oldest_first() -> None:
    bus = MessageBus()
    tap = bus.add_tap("t")
    for value in range(4):
        bus.publish("t", value)

    assert tap.drain(3) == [("t", 0), ("t", 1), ("t", 2)]
    assert tap.drain(0) == []
    assert tap.drain() == [("t", 3)]
    assert tap.drain() == []


def test_tap_published_to_outside_an_event_loop_needs_no_loop() -> None:
    # The wake-up event is made only when a consumer waits: publishing never touches anyio.
    bus = MessageBus()
    tap = bus.add_tap("t")

    bus.publish("t", 1)

    assert tap.statistics().buffered == 1


# -- closing and removal ------------------------------------------------------------------------


def test_remove_tap_stops_delivery_and_keeps_what_was_buffered() -> None:
    bus = MessageBus()
    tap = bus.add_tap("t")
    bus.publish("t", 1)

    bus.remove_tap(tap)
    bus.publish("t", 2)

    assert tap.closed
    assert bus.taps() == ()
    assert tap.drain() == [("t", 1)]
    with pytest.raises(anyio.EndOfStream):
        tap.get_nowait()


def test_tap_close_detaches_from_the_bus_and_is_idempotent() -> None:
    bus = MessageBus()
    kept = bus.add_tap("t", name="kept")
    with bus.add_tap("t", name="closed") as closed:
        pass

    closed.close()
    bus.remove_tap(closed)
    bus.publish("t", 1)

    assert [tap.name for tap in bus.taps()] == ["kept"]
    assert closed.statistics().received == 0
    assert kept.statistics().received == 1


def test_remove_tap_from_a_handler_while_messages_are_queued_is_safe() -> None:
    bus = MessageBus()
    tap = bus.add_tap("t.#")
    handled: list[Any] = []

    def origin(message: Any) -> None:
        bus.publish("t.a", 1)
        bus.remove_tap(tap)
        bus.publish("t.a", 2)

    bus.subscribe("start", origin)
    bus.subscribe("t.#", handled.append)
    bus.publish("start", 0)
    bus.publish("t.a", 3)

    assert handled == [1, 2, 3]
    assert tap.drain() == [("t.a", 1)]
    assert bus.is_idle


def test_tap_added_and_removed_on_a_one_handler_topic_keeps_delivery_in_order() -> None:
    # One handler and no tap is the bus's in-place path; a tap moves the topic to the
    # queued path and removing it moves it back: the handler must not notice either way.
    bus = MessageBus()
    handled: list[tuple[str, int]] = []

    def relay(message: int) -> None:
        handled.append(("bar", message))
        bus.publish("follow", message)

    bus.subscribe("bar", relay)
    bus.subscribe("follow", lambda message: handled.append(("follow", message)))
    bus.publish("bar", 1)
    tap = bus.add_tap("bar")
    bus.publish("bar", 2)
    tap.close()
    bus.publish("bar", 3)

    assert handled == [("bar", 1), ("follow", 1), ("bar", 2), ("follow", 2), ("bar", 3),
                       ("follow", 3)]
    assert tap.drain() == [("bar", 2)]


# -- consumers that wait ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_tap_receive_waits_until_a_message_is_published() -> None:
    bus = MessageBus()
    tap = bus.add_tap("t")
    received: list[tuple[str, Any]] = []

    async with anyio.create_task_group() as group:
        async def consume() -> None:
            received.append(await tap.receive())

        group.start_soon(consume)
        await anyio.wait_all_tasks_blocked()
        assert received == []
        bus.publish("t", 1)

    assert received == [("t", 1)]


@pytest.mark.anyio
async def test_tap_receive_batch_takes_at_most_max_items() -> None:
    bus = MessageBus()
    tap = bus.add_tap("t")
    for value in range(5):
        bus.publish("t", value)

    first = await tap.receive_batch(2)
    rest = await tap.receive_batch()

    assert [message for _, message in first] == [0, 1]
    assert [message for _, message in rest] == [2, 3, 4]


@pytest.mark.anyio
async def test_tap_receive_batch_with_max_items_zero_raises() -> None:
    with pytest.raises(ValueError, match="max_items 0"):
        await MessageBus().add_tap("t").receive_batch(0)


@pytest.mark.anyio
async def test_tap_closed_while_consumers_wait_ends_their_receive_cleanly() -> None:
    bus = MessageBus()
    tap = bus.add_tap("t")
    ended: list[str] = []

    async def receive_one() -> None:
        with pytest.raises(anyio.EndOfStream):
            await tap.receive()
        ended.append("receive")

    async def receive_many() -> None:
        with pytest.raises(anyio.EndOfStream):
            await tap.receive_batch()
        ended.append("receive_batch")

    async with anyio.create_task_group() as group:
        group.start_soon(receive_one)
        group.start_soon(receive_many)
        await anyio.wait_all_tasks_blocked()
        tap.close()

    assert sorted(ended) == ["receive", "receive_batch"]


@pytest.mark.anyio
async def test_tap_async_for_yields_buffered_items_then_ends_when_closed() -> None:
    bus = MessageBus()
    tap = bus.add_tap("t.#")
    seen: list[tuple[str, Any]] = []

    async def consume() -> None:
        async for item in tap:
            seen.append(item)

    async with anyio.create_task_group() as group:
        group.start_soon(consume)
        bus.publish("t.a", 1)
        await anyio.wait_all_tasks_blocked()
        bus.publish("t.b", 2)
        bus.publish("t.c", 3)
        tap.close()

    assert seen == [("t.a", 1), ("t.b", 2), ("t.c", 3)]


@pytest.mark.anyio
async def test_tap_receive_cancelled_then_later_messages_still_arrive() -> None:
    bus = MessageBus()
    tap = bus.add_tap("t")
    with anyio.move_on_after(0):
        await tap.receive()

    bus.publish("t", 1)

    assert await tap.receive() == ("t", 1)


# -- taps on a real backtest ------------------------------------------------------------------


def closes(count: int) -> list[float]:
    """A deterministic zig-zag with a drift, so the SMA cross trades several times."""
    return [100.0 + (index % 40 - 20) * 0.25 * (1 if index % 80 < 40 else -1) + index * 0.01
            for index in range(count)]


def backtest(taps: list[tuple[str, int]]) -> tuple[BacktestResult, ScriptedStrategy, list[Tap]]:
    cache = MarketCache()
    instruments = [make_instrument()]
    venue = SimVenue(SimVenueConfig(), InstrumentRegistry(instruments), cache=cache)
    scripted = ScriptedStrategy("s2", {
        5: lambda s, bar: s.market_order(INSTRUMENT_ID, OrderSide.BUY, 1),
        90: lambda s, bar: s.close_position(INSTRUMENT_ID),
    })
    attached: list[Tap] = []

    def attach(graph: TradingGraph) -> None:
        attached.extend(graph.bus.add_tap(pattern, capacity=capacity)
                        for pattern, capacity in taps)

    result = run_backtest(
        settings=BacktestSettings(name="taps"),
        instruments=instruments,
        sources=[ReplaySource(make_bars(closes(400), start_ns=T0), bars_topic(INSTRUMENT_ID,
                                                                              "1m"),
                              INSTRUMENT_ID)],
        bar_types=[BAR_TYPE],
        venues=[venue],
        strategies=[SmaCross("sma", SmaCrossConfig(instrument_id=INSTRUMENT_ID)), scripted],
        portfolio=make_portfolio_config(equity_interval_ns=600_000_000_000),
        risk=RiskConfig(),
        observe=attach,
        cache=cache,
    )
    return result, scripted, attached


def without_bus(statistics: dict[str, Any]) -> dict[str, Any]:
    return {part: value for part, value in statistics.items() if part != "bus"}


def test_backtest_with_taps_computes_the_same_fills_equity_and_handled_events() -> None:
    plain, plain_strategy, _ = backtest([])

    tapped, tapped_strategy, taps = backtest([(ALL_EVENTS, 100_000), (ALL_DATA, 16)])

    assert len(plain.fills) > 4  # the run trades, so the comparison means something
    assert tapped.fills == plain.fills
    assert tapped.orders == plain.orders
    assert tapped.equity_curve == plain.equity_curve
    assert tapped.balances == plain.balances
    assert tapped.trades == plain.trades
    assert tapped_strategy.seen == plain_strategy.seen
    # Every actor's counters agree; the bus's published counts may not (the tap made the
    # portfolio build account and position events nobody handles), its handled count does.
    assert without_bus(tapped.statistics) == without_bus(plain.statistics)
    assert tapped.statistics["bus"]["messages_handled"] == plain.statistics["bus"][
        "messages_handled"]
    events, data = taps
    event_kinds = {type(message).__name__ for _, message in events.drain()}
    assert {"OrderFilled", "PositionOpened", "AccountUpdated"} <= event_kinds
    assert SubmitOrder.__name__ not in event_kinds  # commands go to endpoints, not topics
    data_stats = data.statistics()
    assert (data_stats.buffered, data_stats.dropped) == (16, data_stats.received - 16)


def test_backtest_with_taps_and_an_observer_observes_the_same_sequence() -> None:
    # An observer makes every event be built in both runs, so what it sees must be equal
    # message for message: the tap added nothing and moved nothing.
    def observed(taps: list[tuple[str, int]]) -> list[tuple[str, Any]]:
        log: list[tuple[str, Any]] = []
        cache = MarketCache()
        instruments = [make_instrument()]
        venue = SimVenue(SimVenueConfig(), InstrumentRegistry(instruments), cache=cache)

        def attach(graph: TradingGraph) -> None:
            graph.bus.add_observer(lambda name, message: log.append((name, message)))
            for pattern, capacity in taps:
                graph.bus.add_tap(pattern, capacity=capacity)

        run_backtest(
            settings=BacktestSettings(name="taps"),
            instruments=instruments,
            sources=[ReplaySource(make_bars(closes(200), start_ns=T0),
                                  bars_topic(INSTRUMENT_ID, "1m"), INSTRUMENT_ID)],
            bar_types=[BAR_TYPE],
            venues=[venue],
            strategies=[SmaCross("sma", SmaCrossConfig(instrument_id=INSTRUMENT_ID))],
            portfolio=make_portfolio_config(starting_balances={"USDT": Decimal(100_000)}),
            risk=RiskConfig(),
            observe=attach,
            cache=cache,
        )
        return log

    assert observed([(ALL_EVENTS, 8), ("#", 8)]) == observed([])
