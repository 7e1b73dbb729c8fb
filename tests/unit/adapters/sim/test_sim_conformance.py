"""The execution-client conformance suite against the simulated venue, and the suite's teeth.

`SimHarness` is a standalone SimExecutionClient (its own bus and SimClock) whose market
moves by bars handed to `process_market_data`, one minute apart. Every check runs twice:
against the client as it is (it answers synchronously) and through `StreamedClient`,
whose events arrive later on its own task, as a networked client's do, so the suite's
waits are exercised too. The second half runs checks against clients broken on
purpose, to show each kind of fault is caught.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import anyio
import msgspec
import pytest
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream

from adapters.sim import SimExecutionClient, SimVenueConfig, SimVenueStatistics
from engine.clock import SimClock
from engine.domain.enums import ContingencyType, OrderSide, OrderType
from engine.domain.money import ZERO
from engine.domain.reports import AccountReport, FillReport, OrderStatusReport, PositionReport
from engine.events.base import Event
from engine.events.fills import OrderFilled
from engine.events.market import Bar, BarType, Instrument
from engine.events.orders import (
    CancelOrder,
    ModifyOrder,
    OrderCancelRejected,
    OrderEvent,
    OrderRejected,
    SubmitOrder,
)
from engine.ports import ExecutionClient
from engine.testing import make_instrument
from engine.testing.conformance import (
    EXECUTION_CHECKS,
    ConformanceError,
    EventRecorder,
    ExecutionCheck,
    check_cancel_unknown_order_is_rejected,
    check_duplicate_client_order_id_while_working,
    check_market_order_accepted_then_filled,
    check_name,
    check_partial_fills,
    check_reject_zero_quantity,
    check_reports_consistent_with_events,
    check_run_reports_started,
)

MINUTE = 60_000_000_000
T0 = 1_700_000_000_000_000_000
MARKET = Decimal("100.00")
TEN = Decimal(10)
UNCAPPED_VOLUME = 1e12


class StreamedClient:
    """The sim client with its events delivered late, by its own `run` task.

    The venue's events go into a memory stream; `run` hands them to `deliver` a few
    checkpoints later, and every request yields first: what a client on a socket,
    with a private stream, looks like to the checks.
    """

    def __init__(
        self,
        inner: SimExecutionClient,
        events: MemoryObjectReceiveStream[Event],
        deliver: Callable[[Event], None],
    ) -> None:
        self._inner = inner
        self._events = events
        self._deliver = deliver
        self.delivered = 0

    @property
    def venue(self) -> str:
        return self._inner.venue

    @property
    def native_order_lists(self) -> frozenset[ContingencyType]:
        return self._inner.native_order_lists

    def native_order_types(self, instrument_id: str) -> frozenset[OrderType]:
        return self._inner.native_order_types(instrument_id)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        async for event in self._events:
            for _ in range(3):
                await anyio.lowlevel.checkpoint()
            self.delivered += 1
            self._deliver(event)

    async def submit_order(self, command: SubmitOrder) -> None:
        await anyio.lowlevel.checkpoint()
        await self._inner.submit_order(command)

    async def cancel_order(self, command: CancelOrder, venue_order_id: str | None) -> None:
        await anyio.lowlevel.checkpoint()
        await self._inner.cancel_order(command, venue_order_id)

    async def modify_order(self, command: ModifyOrder, venue_order_id: str | None) -> None:
        await anyio.lowlevel.checkpoint()
        await self._inner.modify_order(command, venue_order_id)

    async def open_orders(self, instrument_id: str | None = None) -> list[OrderStatusReport]:
        await anyio.lowlevel.checkpoint()
        return await self._inner.open_orders(instrument_id)

    async def order_status(
        self, *, instrument_id: str, client_order_id: str | None, venue_order_id: str | None
    ) -> OrderStatusReport | None:
        await anyio.lowlevel.checkpoint()
        return await self._inner.order_status(
            instrument_id=instrument_id, client_order_id=client_order_id,
            venue_order_id=venue_order_id,
        )

    async def fills_since(self, ts_ns: int, instrument_id: str | None = None) -> list[FillReport]:
        await anyio.lowlevel.checkpoint()
        return await self._inner.fills_since(ts_ns, instrument_id)

    async def account(self) -> AccountReport:
        return await self._inner.account()

    async def positions(self) -> list[PositionReport]:
        return await self._inner.positions()

    def statistics(self) -> SimVenueStatistics:
        return self._inner.statistics()


class SimHarness:
    """A standalone SimExecutionClient and a market at 100.00 that moves by one-minute bars.

    The venue caps each fill at the bar's volume (`max_volume_fraction=1`), so a bar
    with a small volume gives partial fills and any other bar carries `UNCAPPED_VOLUME`.
    """

    def __init__(
        self,
        *,
        streamed: bool = False,
        timeout: float = 2.0,
        translate: Callable[[Event], Event] | None = None,
    ) -> None:
        self.recorder = EventRecorder()
        self.clock = SimClock(T0)
        self.sent = 0
        recorder = self.recorder

        def record(event: Event) -> None:
            recorder(event if translate is None else translate(event))

        self._streams = anyio.create_memory_object_stream[Event](max_buffer_size=math.inf)
        send, receive = self._streams

        def count_and_send(event: Event) -> None:
            self.sent += 1
            send.send_nowait(event)

        self.sim_client = SimExecutionClient.standalone(
            SimVenueConfig(max_volume_fraction=1.0), [make_instrument()],
            count_and_send if streamed else record, clock=self.clock,
        )
        self.streamed = StreamedClient(self.sim_client, receive, record) if streamed else None
        self.client: ExecutionClient = self.streamed or self.sim_client
        self.instrument: Instrument = make_instrument()
        self.quantity = Decimal(1)
        self.timeout = timeout
        self.bar_type = BarType(instrument_id=self.instrument.instrument_id, timeframe="1m")

    def close(self) -> None:
        for stream in self._streams:
            stream.close()

    @property
    def events(self) -> Sequence[Event]:
        return self.recorder.events

    def resting_price(self, side: OrderSide) -> Decimal:
        return MARKET - TEN if side is OrderSide.BUY else MARKET + TEN

    def marketable_price(self, side: OrderSide) -> Decimal:
        return MARKET + TEN / 2 if side is OrderSide.BUY else MARKET - TEN / 2

    async def wait_for(self, predicate: Callable[[Event], bool]) -> Event:
        return await self.recorder.wait_for(predicate)

    async def wait_settled(self) -> None:
        """Return once the stream has delivered all the venue sent (at once when unstreamed)."""
        await anyio.lowlevel.checkpoint()
        with anyio.fail_after(self.timeout):
            while self.streamed is not None and self.streamed.delivered < self.sent:
                await anyio.lowlevel.checkpoint()

    async def trade_through(self, price: Decimal, *, max_quantity: Decimal | None = None) -> None:
        """Hand the venue a bar opening and closing at the market that reaches `price`."""
        await anyio.lowlevel.checkpoint()
        ts = self.clock.timestamp_ns() + MINUTE
        self.clock.advance_to(ts)
        market, through = float(MARKET), float(price)
        self.sim_client.sim_venue.process_market_data(Bar(
            bar_type=self.bar_type, open=market, high=max(market, through),
            low=min(market, through), close=market,
            volume=UNCAPPED_VOLUME if max_quantity is None else float(max_quantity),
            ts_event=ts, ts_init=ts,
        ))


@pytest.fixture
def make_harness() -> Iterator[Callable[..., SimHarness]]:
    """Build harnesses (keyword arguments as SimHarness takes) and close them afterwards."""
    made: list[SimHarness] = []

    def make(**options: Any) -> SimHarness:
        made.append(SimHarness(**options))
        return made[-1]

    yield make
    for harness in made:
        harness.close()


@pytest.mark.parametrize("streamed", [False, True], ids=["direct", "streamed"])
@pytest.mark.parametrize("check", EXECUTION_CHECKS, ids=check_name)
async def test_sim_execution_client_passes(
    check: ExecutionCheck, streamed: bool, make_harness: Callable[..., SimHarness]
) -> None:
    harness = make_harness(streamed=streamed)

    await check(harness)

    assert harness.sim_client.sim_venue.working_order_ids() == []  # each check cleans up


# -- the suite catches broken clients -------------------------------------------------------


class BrokenClient:
    """A SimExecutionClient with one behaviour replaced: what the suite must catch."""

    def __init__(self, inner: SimExecutionClient, **overrides: Callable[..., Any]) -> None:
        self._inner = inner
        self._overrides = overrides

    def __getattr__(self, name: str) -> Any:
        return self._overrides.get(name) or getattr(self._inner, name)


def broken(harness: SimHarness, **overrides: Callable[..., Any]) -> SimHarness:
    harness.client = BrokenClient(harness.sim_client, **overrides)
    return harness


async def no_open_orders(instrument_id: str | None = None) -> list[OrderStatusReport]:
    return []


async def never_starts(*, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
    await anyio.sleep_forever()


async def test_suite_catches_run_that_never_reports_started(
    make_harness: Callable[..., SimHarness],
) -> None:
    harness = broken(make_harness(timeout=0.05), run=never_starts)

    with pytest.raises(ConformanceError, match="did not report started"):
        await check_run_reports_started(harness)


async def test_suite_catches_open_orders_missing_a_working_order(
    make_harness: Callable[..., SimHarness],
) -> None:
    harness = broken(make_harness(), open_orders=no_open_orders)

    with pytest.raises(ConformanceError, match="open_orders"):
        await check_reports_consistent_with_events(harness)


async def test_suite_catches_fills_missing_from_the_trade_history(
    make_harness: Callable[..., SimHarness],
) -> None:
    harness = make_harness()

    async def first_fill_only(ts_ns: int, instrument_id: str | None = None) -> list[FillReport]:
        return (await harness.sim_client.fills_since(ts_ns, instrument_id))[:1]

    with pytest.raises(ConformanceError, match="fills_since"):
        await check_reports_consistent_with_events(broken(harness, fills_since=first_fill_only))


async def test_suite_catches_status_report_that_misses_a_partial_fill(
    make_harness: Callable[..., SimHarness],
) -> None:
    harness = make_harness()

    async def stale_status(**ids: Any) -> OrderStatusReport | None:
        report = await harness.sim_client.order_status(**ids)
        return None if report is None else msgspec.structs.replace(report, filled_quantity=ZERO)

    with pytest.raises(ConformanceError, match="partially_filled with 0 filled"):
        await check_partial_fills(broken(harness, order_status=stale_status))


async def test_suite_catches_a_duplicate_client_order_id_making_a_second_order(
    make_harness: Callable[..., SimHarness],
) -> None:
    # A client that sends each submit under a fresh venue-side id and maps the venue's
    # events back to the engine's id: a duplicate then becomes a second order.
    sent: dict[str, str] = {}

    def back_to_engine_id(event: Event) -> Event:
        if isinstance(event, OrderEvent) and event.client_order_id in sent:
            return msgspec.structs.replace(event, client_order_id=sent[event.client_order_id])
        return event

    harness = make_harness(translate=back_to_engine_id)

    async def submit_under_fresh_id(command: SubmitOrder) -> None:
        fresh = f"wire-{len(sent) + 1}"
        sent[fresh] = command.client_order_id
        await harness.sim_client.submit_order(
            msgspec.structs.replace(command, client_order_id=fresh)
        )

    with pytest.raises(ConformanceError, match="accepted 2 times"):
        await check_duplicate_client_order_id_while_working(
            broken(harness, submit_order=submit_under_fresh_id)
        )


async def test_suite_catches_a_fill_delivered_twice(
    make_harness: Callable[..., SimHarness],
) -> None:
    harnesses: list[SimHarness] = []

    def deliver_fills_twice(event: Event) -> Event:
        if isinstance(event, OrderFilled):
            harnesses[0].recorder(event)
        return event

    harnesses.append(make_harness(translate=deliver_fills_twice))

    with pytest.raises(ConformanceError, match="more than the order's quantity"):
        await check_market_order_accepted_then_filled(harnesses[0])


async def test_suite_catches_a_rejection_without_a_reason(
    make_harness: Callable[..., SimHarness],
) -> None:
    def drop_reasons(event: Event) -> Event:
        if isinstance(event, OrderRejected | OrderCancelRejected):
            return msgspec.structs.replace(event, reason="")
        return event

    harness = make_harness(translate=drop_reasons)

    with pytest.raises(ConformanceError, match="no reason given"):
        await check_reject_zero_quantity(harness)
    with pytest.raises(ConformanceError, match="no reason given"):
        await check_cancel_unknown_order_is_rejected(harness)
