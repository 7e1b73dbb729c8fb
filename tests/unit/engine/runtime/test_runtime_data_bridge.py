"""Strategies' subscriptions reach a venue's market data client: once per stream, and an
unsubscribe only when the last strategy lets the stream go."""

from __future__ import annotations

import anyio
from anyio.abc import TaskStatus

from engine.events.market import BarType
from engine.ports import DataSubscription
from engine.runtime.data_bridge import MarketDataBridge
from engine.strategy import Strategy
from engine.testing import INSTRUMENT_ID, make_graph


class RecordingDataClient:
    """A market data client that records the calls it gets (and can fail them)."""

    def __init__(self, *, fail: bool = False) -> None:
        self.calls: list[tuple[str, DataSubscription]] = []
        self.fail = fail

    @property
    def venue(self) -> str:
        return "SIM"

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await anyio.sleep_forever()

    async def subscribe(self, subscription: DataSubscription) -> None:
        self.calls.append(("subscribe", subscription))
        if self.fail:
            raise ConnectionError("stream refused")

    async def unsubscribe(self, subscription: DataSubscription) -> None:
        self.calls.append(("unsubscribe", subscription))

    def subscriptions(self) -> list[DataSubscription]:
        return []

    def statistics(self) -> dict[str, int]:
        return {"calls": len(self.calls)}


class Quotes(Strategy):
    def on_start(self) -> None:
        self.subscribe_quote_ticks(INSTRUMENT_ID)
        self.subscribe_bars(BarType(instrument_id=INSTRUMENT_ID, timeframe="5m"))
        self.subscribe_order_book(INSTRUMENT_ID, depth=10)

    def on_quote_tick(self, tick: object) -> None: ...


async def settle() -> None:
    for _ in range(10):
        await anyio.lowlevel.checkpoint()


async def test_subscriptions_are_asked_once_and_dropped_when_nobody_wants_them() -> None:
    client = RecordingDataClient()
    graph = make_graph()
    bridge = MarketDataBridge(client)
    graph.add_venue(bridge)
    first, second = Quotes("a"), Quotes("b")
    graph.add_strategy(first)
    graph.add_strategy(second)
    async with anyio.create_task_group() as group:
        await group.start(bridge.run)
        graph.start()
        await settle()
        assert [(call, s.kind) for call, s in client.calls] == [
            ("subscribe", "quotes"), ("subscribe", "bars"), ("subscribe", "book")]
        assert client.calls[1][1].timeframe == "5m" and client.calls[2][1].depth == 10
        first.unsubscribe_quote_ticks(INSTRUMENT_ID)
        await settle()
        assert len(client.calls) == 3  # the other strategy still wants quotes
        second.unsubscribe_quote_ticks(INSTRUMENT_ID)
        await settle()
        assert client.calls[-1] == ("unsubscribe", DataSubscription(
            kind="quotes", instrument_id=INSTRUMENT_ID))
        group.cancel_scope.cancel()
    stats = graph.data.statistics()
    assert set(stats.forwarded_subscriptions) == {f"bars:{INSTRUMENT_ID}:5m",
                                                  f"book:{INSTRUMENT_ID}"}


async def test_a_failing_client_is_counted_not_raised_into_the_graph() -> None:
    client = RecordingDataClient(fail=True)
    graph = make_graph()
    bridge = MarketDataBridge(client)
    graph.add_venue(bridge)
    graph.add_strategy(Quotes("a"))
    async with anyio.create_task_group() as group:
        await group.start(bridge.run)
        graph.start()
        await settle()
        group.cancel_scope.cancel()
    assert bridge.statistics().failed == 3
    assert graph.faults == 0


def test_without_a_data_client_recorded_data_needs_no_forwarding() -> None:
    graph = make_graph()
    graph.add_strategy(Quotes("a"))
    graph.start()
    assert graph.data.statistics().forwarded_subscriptions == ()
