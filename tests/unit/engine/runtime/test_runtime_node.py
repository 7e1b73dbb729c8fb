"""TradingNode with fake bindings at its edges: start-up order, reconciliation, resuming.

The graph is the real kernel; the venue is an in-graph actor that takes no orders (no
strategy sends any), the feed a list of bars, so these tests see only what the node
itself does. The daemon with the real adapters is tested in tests/unit/api/compose.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest

from engine.actor import Actor
from engine.actors.risk import RiskConfig
from engine.clock import LiveClock
from engine.domain.enums import OrderSide, OrderStatus, OrderType
from engine.domain.reports import AccountReport, BalanceReport, OrderStatusReport
from engine.events.market import Bar
from engine.graph import TradingGraph
from engine.persistence import JournalReader
from engine.runtime import (
    AdapterTask,
    Deliver,
    FeedClock,
    NodeConfig,
    RunnerState,
    TradingNode,
)
from engine.runtime.execution import ExecutionBridge
from engine.strategy import Strategy
from engine.testing import (
    BAR_TYPE,
    ScriptedExecutionClient,
    make_bars,
    make_instrument,
    make_portfolio_config,
)
from engine.topics import venue_endpoint

START_NS = 1_700_000_000_000_000_000
FAST = NodeConfig(speed=1_000_000.0, stop_when_feeds_finish=True)


class QuietVenue(Actor):
    """A venue actor that registers its endpoint and nothing else."""

    def __init__(self, venue: str) -> None:
        super().__init__(f"venue_{venue.lower()}")
        self.venue = venue

    def on_start(self) -> None:
        self.register_endpoint(venue_endpoint(self.venue))


class FakeVenueBinding:
    def __init__(self, venue: str, *, client: ScriptedExecutionClient | None = None) -> None:
        self._actor = QuietVenue(venue)
        self._client = client
        self.node: TradingNode | None = None
        self.log: list[Any] = []

    @property
    def venue(self) -> str:
        return self._actor.venue

    @property
    def actor(self) -> Actor:
        return self._actor

    @property
    def tasks(self) -> list[AdapterTask]:
        return [self.connection]

    async def connection(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        node = self.node
        assert node is not None and node.clock is not None
        self.log.append((node.state, node.clock.is_held, node.session, journaled(node)))
        task_status.started()
        try:
            await anyio.sleep_forever()
        finally:
            self.log.append("disconnected")

    def execution_client(self) -> ScriptedExecutionClient | None:
        return self._client


class ListFeed:
    def __init__(self, bars: list[Bar]) -> None:
        self.bars = bars
        self.finished = anyio.Event()
        self.resumed_after: list[tuple[int, int] | None] = []

    @property
    def instrument_id(self) -> str:
        return BAR_TYPE.instrument_id

    @property
    def bar_type(self) -> Any:
        return BAR_TYPE

    def first_event_time(self) -> int | None:
        return self.bars[0].ts_event if self.bars else None

    async def run(
        self, *, clock: FeedClock, deliver: Deliver, resume_after: tuple[int, int] | None
    ) -> None:
        self.resumed_after.append(resume_after)
        for bar in self.bars:
            if resume_after is not None and bar.ts_event <= resume_after[0]:
                continue
            await clock.sleep_until(bar.ts_event)
            deliver(msgspec.structs.replace(bar, ts_init=clock.timestamp_ns()))
        self.finished.set()


def graph_factory(clock: LiveClock) -> TradingGraph:
    return TradingGraph(clock=clock, instruments=[make_instrument()],
                        portfolio=make_portfolio_config(), risk=RiskConfig())


def make_node(
    journal: Path, venues: list[FakeVenueBinding], feed: ListFeed
) -> TradingNode:
    node = TradingNode(FAST, graph_factory=graph_factory, strategies=[], venues=venues,
                       feeds=[feed], journal_path=journal)
    for venue in venues:
        venue.node = node
    return node


def journaled(node: TradingNode) -> list[str]:
    return [record.kind for record in JournalReader(node.journal_path).records()]


async def run(node: TradingNode) -> None:
    with anyio.fail_after(30):
        assert await node.run() == 0


@pytest.mark.anyio
async def test_node_venue_task_is_connected_after_recovery_before_the_session_starts(
    tmp_path: Path,
) -> None:
    venue = FakeVenueBinding("FAKE")
    node = make_node(tmp_path / "data" / "journal.sqlite", [venue],
                     ListFeed(make_bars([100.0, 101.0, 102.0], start_ns=START_NS)))

    await run(node)

    # Recovering, the clock still held, the session numbered, nothing journaled yet;
    # cancelled when the node stopped.
    assert venue.log == [(RunnerState.RECOVERING, True, 1, []), "disconnected"]
    kinds = journaled(node)
    assert kinds.count("bar") == 3
    assert [kind for kind in kinds if kind.startswith("system.session")] == [
        "system.session_started", "system.session_stopping"]


@pytest.mark.anyio
async def test_node_reconciles_each_venue_with_a_client_and_journals_what_it_changed(
    tmp_path: Path,
) -> None:
    listing = ScriptedExecutionClient("LISTING")
    listing.open = [OrderStatusReport(
        venue="LISTING", instrument_id=BAR_TYPE.instrument_id, client_order_id=None,
        venue_order_id="lost-1", side=OrderSide.BUY, order_type=OrderType.LIMIT,
        quantity=Decimal("1"), status=OrderStatus.ACCEPTED, price=Decimal("90"))]
    silent = FakeVenueBinding("SILENT")
    node = make_node(tmp_path / "journal.sqlite",
                     [silent, FakeVenueBinding("LISTING", client=listing)],
                     ListFeed(make_bars([100.0], start_ns=START_NS)))

    await run(node)

    [report] = node.reconciliations
    assert (report.venue, report.external_orders, report.events) == ("LISTING", 1, 1)
    assert node.health().venue_agrees is False
    records = list(JournalReader(node.journal_path).records())
    [adopted] = [r for r in records if r.kind == "order.external_adopted" and r.is_input]
    session = [r.seq for r in records if r.kind == "system.session_started"]
    assert adopted.seq < session[0]  # journaled before the strategies were released
    assert listing.requests == []


class BridgedVenueBinding:
    """A live-like venue: an ExecutionBridge in the graph over a scripted client."""

    def __init__(self, client: ScriptedExecutionClient, orders: Any) -> None:
        self.client = client
        self.bridge = ExecutionBridge(client, orders=orders)

    @property
    def venue(self) -> str:
        return self.client.venue

    @property
    def actor(self) -> Actor:
        return self.bridge

    @property
    def tasks(self) -> list[AdapterTask]:
        return [self.client.run]

    def execution_client(self) -> ScriptedExecutionClient:
        return self.client


class BuysFirstBar(Strategy):
    def on_start(self) -> None:
        self.subscribe_bars(BAR_TYPE)

    def on_bar(self, bar: Bar) -> None:
        if self.net_quantity(BAR_TYPE.instrument_id) == 0 and not self.open_orders():
            self.limit_order(BAR_TYPE.instrument_id, OrderSide.BUY, Decimal("1"), Decimal("90"))


@pytest.mark.anyio
async def test_commands_reach_a_bridged_venue_only_after_reconciliation_and_journaling(
    tmp_path: Path,
) -> None:
    client = ScriptedExecutionClient("SIM")
    client.balances = AccountReport(venue="SIM", account_id="acc", balances=(
        BalanceReport(currency="USDT", total=Decimal("50000"), free=Decimal("50000")),))
    node_box: list[TradingNode] = []
    gate_at_request: list[bool] = []
    committed_at_request: list[bool] = []

    def on_request(request: object) -> None:
        node = node_box[0]
        gate_at_request.append(node.gate.is_open)
        kinds = [r.kind for r in JournalReader(node.journal_path).records()]
        committed_at_request.append("command.submit_order" in kinds)

    requested = anyio.Event()

    def record(request: object) -> None:
        on_request(request)
        requested.set()

    client.on_request = record
    holder: dict[str, Any] = {}

    def factory(clock: LiveClock) -> TradingGraph:
        graph = graph_factory(clock)
        holder["graph"] = graph
        return graph

    # The bridge needs the order manager's view: built lazily once the graph exists.
    class LateOrders:
        def order(self, client_order_id: str) -> Any:
            return holder["graph"].orders.order(client_order_id)

        def open_orders(self, **filters: Any) -> list[Any]:
            return holder["graph"].orders.open_orders(**filters)

        def open_order_count(self) -> int:
            return int(holder["graph"].orders.open_order_count())

    class FeedUntilSent(ListFeed):
        """Ends only once the order reached the venue (the node stops when feeds end)."""

        async def run(self, *, clock: FeedClock, deliver: Deliver,
                      resume_after: tuple[int, int] | None) -> None:
            for bar in self.bars:
                await clock.sleep_until(bar.ts_event)
                deliver(msgspec.structs.replace(bar, ts_init=clock.timestamp_ns()))
            await requested.wait()
            self.finished.set()

    binding = BridgedVenueBinding(client, LateOrders())
    node = TradingNode(FAST, graph_factory=factory, strategies=[BuysFirstBar("buyer")],
                       venues=[binding],
                       feeds=[FeedUntilSent(make_bars([100.0, 100.0, 100.0], start_ns=START_NS))],
                       journal_path=tmp_path / "journal.sqlite")
    node_box.append(node)

    await run(node)

    assert [type(r).__name__ for r in client.requests][:1] == ["SubmitOrder"]
    assert gate_at_request and all(gate_at_request)  # never while reconciling
    assert all(committed_at_request)  # never before the journal held the command
    assert node.graph is not None
    assert node.graph.portfolio.balance("USDT") == Decimal("50000")  # corrected at start
    assert binding.bridge.statistics().sent >= 1


@pytest.mark.anyio
async def test_node_restart_resumes_the_feed_after_its_last_journaled_item(
    tmp_path: Path,
) -> None:
    bars = make_bars([100.0, 101.0, 102.0, 103.0], start_ns=START_NS)
    journal = tmp_path / "journal.sqlite"
    await run(make_node(journal, [FakeVenueBinding("FAKE")], ListFeed(bars[:2])))
    feed = ListFeed(bars)

    restarted = make_node(journal, [FakeVenueBinding("FAKE")], feed)
    await run(restarted)

    assert feed.resumed_after == [(bars[1].ts_event, 1)]
    assert restarted.session == 2
    assert restarted.recovery is not None and restarted.recovery.data_by_topic
    records = list(JournalReader(journal).records())
    assert [r.message.ts_event for r in records if r.kind == "bar"] == [b.ts_event for b in bars]


def test_node_health_before_the_run_is_live_and_not_ready(tmp_path: Path) -> None:
    node = make_node(tmp_path / "journal.sqlite", [], ListFeed([]))

    health = node.health()

    assert (health.live, health.ready, health.state, health.engine_ts) == (
        True, False, "starting", 0)


def test_node_builds_its_graph_once(tmp_path: Path) -> None:
    venue = FakeVenueBinding("FAKE")
    node = make_node(tmp_path / "journal.sqlite", [venue], ListFeed([]))
    clock = LiveClock(origin_ns=START_NS)

    graph = node.build_graph(clock)
    graph.start()

    assert node.graph is graph
    assert graph.bus.has_endpoint(venue_endpoint("FAKE"))  # the binding's actor joined it
    with pytest.raises(RuntimeError, match="a node runs once"):
        node.build_graph(clock)


class BrokenFeed(ListFeed):
    """A feed that fails after the session started (a bug, a disk error)."""

    async def run(self, *, clock: FeedClock, deliver: Deliver,
                  resume_after: tuple[int, int] | None) -> None:
        raise OSError("the feed's disk went away")


@pytest.mark.anyio
async def test_a_fatal_error_is_journaled_as_the_sessions_last_record(tmp_path: Path) -> None:
    node = make_node(tmp_path / "journal.sqlite", [FakeVenueBinding("FAKE")],
                     BrokenFeed(make_bars([100.0], start_ns=START_NS)))

    with pytest.raises(BaseExceptionGroup):
        with anyio.fail_after(30):
            await node.run()

    records = list(JournalReader(node.journal_path).records())
    last = records[-1]
    assert last.kind == "system.session_failed" and not last.is_input
    assert (last.message.error_type, last.message.error) == ("OSError",
                                                             "the feed's disk went away")


@pytest.mark.anyio
async def test_a_stop_requested_during_recovery_ends_the_run_writing_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bars = make_bars([100.0 + i % 7 for i in range(3000)], start_ns=START_NS)
    journal = tmp_path / "journal.sqlite"
    await run(make_node(journal, [FakeVenueBinding("FAKE")], ListFeed(bars)))
    before = journaled(make_node(journal, [], ListFeed([])))
    venue = FakeVenueBinding("FAKE")
    restarted = make_node(journal, [venue], ListFeed(bars))
    restarted.request_stop()  # as a SIGTERM arriving while the journal is replayed

    with caplog.at_level("INFO", logger="engine.runtime.node"):
        await run(restarted)

    assert restarted.recovery is not None and restarted.recovery.stopped_early
    assert 0 < restarted.recovery.records_read < len(before)
    assert restarted.state is RunnerState.STOPPED
    assert venue.log == []  # no adapter task was started
    assert journaled(restarted) == before  # nothing written
    assert any("stopped during recovery" in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
async def test_engine_time_starts_to_flow_after_the_services_have_started(
    tmp_path: Path,
) -> None:
    # Regression: the clock was released before the services (the API server) started,
    # so their start-up, scaled by the replay speed, was engine time the feed then
    # delivered as one burst (90 ms at 50,000x: 75 minutes of bars at once).
    seen: list[tuple[bool, int]] = []
    startup_s = 0.3
    speed = 1_000.0  # the start-up is 300 s of engine time: five one-minute bars

    bars = make_bars([100.0 + i for i in range(10)], start_ns=START_NS)
    feed = ListFeed(bars)
    node = TradingNode(NodeConfig(speed=speed, stop_when_feeds_finish=True),
                       graph_factory=graph_factory, strategies=[], venues=[],
                       feeds=[feed], journal_path=tmp_path / "journal.sqlite")

    async def slow_service(*, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        await anyio.sleep(startup_s)
        assert node.clock is not None
        seen.append((node.clock.is_held, node.clock.timestamp_ns()))
        task_status.started()
        await anyio.sleep_forever()

    node.services.append(slow_service)
    await run(node)

    # Still held at the resume point when the service said it was up ...
    assert seen == [(True, bars[0].ts_event)]
    # ... so the first bar arrives about when its time comes, not 300 s of engine time
    # late (half of that is the slack this test gives a loaded machine).
    first = [r.message for r in JournalReader(node.journal_path).records() if r.kind == "bar"][0]
    assert first.ts_init - first.ts_event < startup_s * speed / 2 * 1e9
