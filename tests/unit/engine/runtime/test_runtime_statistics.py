"""The node snapshot: one Struct with the bus by topic family, every actor, the runtime
parts and the taps, encodable as JSON.

A real graph (bus, live clock, core actors, the simulated venue, a strategy that buys
on the first bar), a real Inbox and LiveRunner, a real JournalWriter on a temporary
file and a real DurableOutbox; only a venue client outside the graph is a small fake.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from adapters.sim import SimVenue, SimVenueConfig
from engine.actors.risk import RiskConfig
from engine.clock import LiveClock
from engine.domain.enums import OrderSide
from engine.events.market import Bar
from engine.graph import TradingGraph, topic_for
from engine.persistence import JournalWriter
from engine.runtime import (
    DurableOutbox,
    Inbox,
    LiveRunner,
    NodeStatistics,
    node_statistics,
    topic_family,
)
from engine.strategy import Strategy
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    make_bars,
    make_instrument,
    make_portfolio_config,
)
from engine.topics import ALL_EVENTS

START_NS = 1_672_531_200_000_000_000
LANE = "feed-0"


class BuyFirstBar(Strategy):
    def on_start(self) -> None:
        self.bars = 0
        self.subscribe_bars(BAR_TYPE)

    def on_bar(self, bar: Bar) -> None:
        self.bars += 1
        if self.bars == 1:
            self.market_order(INSTRUMENT_ID, OrderSide.BUY, 1)


class ClientStatistics(msgspec.Struct, frozen=True, kw_only=True):
    reconnects: int
    fees_paid: Decimal


class FakeVenueClient:
    """A venue connection outside the graph's actors, as a live adapter has."""

    def statistics(self) -> ClientStatistics:
        return ClientStatistics(reconnects=2, fees_paid=Decimal("0.125"))


class Unshaped:
    def statistics(self) -> int:
        return 3


def build_graph() -> tuple[TradingGraph, Inbox, LiveRunner]:
    clock = LiveClock(origin_ns=START_NS)
    clock.hold(START_NS)
    graph = TradingGraph(clock=clock, instruments=[make_instrument()],
                         portfolio=make_portfolio_config(), risk=RiskConfig())
    graph.add_venue(SimVenue(SimVenueConfig(), graph.instruments, cache=graph.cache))
    graph.add_bar_source(BAR_TYPE)
    graph.add_strategy(BuyFirstBar("buyer"))
    graph.start()
    inbox = Inbox()
    inbox.add_lane(LANE, capacity=2)
    return graph, inbox, LiveRunner(graph, inbox)


def run_bars(inbox: Inbox, runner: LiveRunner, closes: list[float]) -> None:
    for bar in make_bars(closes, start_ns=START_NS):
        inbox.put_data(LANE, bar, topic_for(bar), INSTRUMENT_ID)
    while (entry := inbox.get_nowait()) is not None:
        runner.handle(entry)


def test_topic_family_is_the_first_two_segments() -> None:
    assert topic_family("data.bars.sim.btc_usdt.1m") == "data.bars"
    assert topic_family("events.order.s1") == "events.order"
    assert topic_family("system.actor") == "system.actor"
    assert topic_family("single") == "single"


@pytest.mark.anyio
async def test_node_statistics_of_a_live_graph_covers_every_part(tmp_path: Path) -> None:
    graph, inbox, runner = build_graph()
    tap = graph.bus.add_tap(ALL_EVENTS, capacity=4, name="ws")
    async with JournalWriter(tmp_path / "journal.sqlite") as journal:
        graph.bus.add_observer(runner.journal_observer(journal))
        outbox = DurableOutbox(journal)
        run_bars(inbox, runner, [100.0, 101.0, 102.0])  # one more than the lane holds
        run_bars(inbox, runner, [103.0])
        tap.drain(1)

        snapshot = node_statistics(graph, inbox=inbox, runner=runner, journal=journal,
                                   outbox=outbox, venues={"live": FakeVenueClient()})

    bus = graph.bus.statistics()
    assert snapshot.bus.messages_published == bus.messages_published
    assert snapshot.bus.messages_handled == bus.messages_handled
    assert sum(snapshot.bus.topic_families.values()) == sum(bus.topics.values())
    assert snapshot.bus.topic_families["data.bars"] == 3
    assert snapshot.bus.topic_families["data.instruments"] == 1
    assert snapshot.bus.topic_families["events.order"] >= 2  # submitted, filled
    assert {"risk.execute", "orders.execute", "venue.sim.execute"} <= set(
        snapshot.bus.endpoints)
    assert [(a.id, a.kind, a.state) for a in snapshot.actors] == [
        ("data", "MarketDataActor", "running"),
        ("orders", "OrderManager", "running"),
        ("portfolio", "Portfolio", "running"),
        ("risk", "RiskActor", "running"),
        ("contingency", "ContingencyActor", "running"),
        ("algos", "ExecAlgorithmActor", "running"),
        ("emulator", "OrderEmulator", "running"),
        ("venue_sim", "SimVenue", "running"),
        ("buyer", "BuyFirstBar", "running"),
    ]
    by_id = {actor.id: actor.statistics for actor in snapshot.actors}
    assert by_id["orders"] == msgspec.to_builtins(graph.orders.statistics())
    assert by_id["risk"] is not None and by_id["risk"]["trading_state"] == "active"
    assert by_id["venue_sim"] is not None and by_id["venue_sim"]["fills"] == 1
    assert by_id["emulator"] == msgspec.to_builtins(graph.emulator.statistics())
    assert by_id["buyer"] is None  # a strategy without statistics()
    assert snapshot.inbox is not None and snapshot.inbox.lanes[LANE].dropped == 1
    assert snapshot.runner is not None and snapshot.runner.data_handled == 3
    assert snapshot.journal is not None and snapshot.journal.appended > 0
    assert snapshot.outbox is not None and snapshot.outbox.queued == 0
    [tap_statistics] = snapshot.taps
    assert (tap_statistics.name, tap_statistics.pattern, tap_statistics.delivered) == (
        "ws", ALL_EVENTS, 1)
    assert tap_statistics.buffered + tap_statistics.dropped == tap_statistics.received - 1
    assert snapshot.venues == {"live": {"reconnects": 2, "fees_paid": "0.125"}}
    assert snapshot.feeds == {}


def test_node_statistics_encodes_as_json_and_decodes_back() -> None:
    graph, inbox, runner = build_graph()
    graph.bus.add_tap("data.#")
    run_bars(inbox, runner, [100.0, 101.0])

    snapshot = node_statistics(graph, inbox=inbox, runner=runner,
                               feeds=[("feed-0", FakeVenueClient())])
    encoded = msgspec.json.encode(snapshot)

    assert msgspec.json.decode(encoded, type=NodeStatistics) == snapshot
    decoded: dict[str, Any] = msgspec.json.decode(encoded)
    assert decoded["feeds"]["feed-0"]["fees_paid"] == "0.125"
    assert decoded["journal"] is None and decoded["outbox"] is None


def test_node_statistics_of_a_graph_not_started_lists_its_actors() -> None:
    clock = LiveClock(origin_ns=START_NS)
    graph = TradingGraph(clock=clock, instruments=[make_instrument()],
                         portfolio=make_portfolio_config(), risk=RiskConfig())
    graph.add_strategy(BuyFirstBar("buyer"))

    snapshot = node_statistics(graph)

    assert [(a.id, a.state) for a in snapshot.actors][-1] == ("buyer", "initialized")
    assert snapshot.bus.messages_published == 0
    assert snapshot.taps == ()


def test_node_statistics_with_two_feeds_of_one_name_raises() -> None:
    graph, _, _ = build_graph()

    with pytest.raises(ValueError, match="feed name 'f': used twice"):
        node_statistics(graph, feeds=[("f", FakeVenueClient()), ("f", FakeVenueClient())])


def test_node_statistics_of_a_part_without_a_struct_raises() -> None:
    graph, _, _ = build_graph()

    with pytest.raises(TypeError, match="venue 'odd': must return a Struct or a dict"):
        node_statistics(graph, venues={"odd": Unshaped()})


def test_a_part_with_nothing_to_count_yet_is_an_empty_entry() -> None:
    class NotStarted:
        def statistics(self) -> None:
            return None

    from engine.runtime.statistics import node_statistics
    from engine.testing import make_graph

    graph = make_graph()
    graph.start()
    snapshot = node_statistics(graph, feeds=[("feed-0", NotStarted())])
    assert snapshot.feeds == {"feed-0": {}}
