"""The execution-client conformance suite against the simulated venue, and the suite's teeth.

`SimHarness` is a standalone SimExecutionClient (its own bus and SimClock) whose market
moves by bars handed to `process_market_data`, one minute apart. The second half runs
checks against clients broken on purpose, to show each kind of fault is caught.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import anyio
import msgspec
import pytest
from anyio.abc import TaskStatus

from adapters.sim import SimExecutionClient, SimVenueConfig
from engine.clock import SimClock
from engine.domain.enums import OrderSide
from engine.domain.money import ZERO
from engine.domain.reports import FillReport, OrderStatusReport
from engine.events.base import Event
from engine.events.market import Bar, BarType, Instrument
from engine.events.orders import OrderEvent, SubmitOrder
from engine.ports import ExecutionClient
from engine.testing import make_instrument
from engine.testing.conformance import (
    EXECUTION_CHECKS,
    ConformanceError,
    EventRecorder,
    ExecutionCheck,
    check_duplicate_client_order_id_while_working,
    check_name,
    check_partial_fills,
    check_reports_consistent_with_events,
    check_run_reports_started,
)

MINUTE = 60_000_000_000
T0 = 1_700_000_000_000_000_000
MARKET = Decimal("100.00")
TEN = Decimal(10)
UNCAPPED_VOLUME = 1e12


class SimHarness:
    """A standalone SimExecutionClient and a market at 100.00 that moves by one-minute bars.

    The venue caps each fill at the bar's volume (`max_volume_fraction=1`), so a bar
    with a small volume gives partial fills and any other bar carries `UNCAPPED_VOLUME`.
    """

    def __init__(
        self, *, timeout: float = 2.0, translate: Callable[[Event], Event] | None = None
    ) -> None:
        self.recorder = EventRecorder()
        self.clock = SimClock(T0)
        recorder = self.recorder

        def sink(event: Event) -> None:
            recorder(event if translate is None else translate(event))

        self.sim_client = SimExecutionClient.standalone(
            SimVenueConfig(max_volume_fraction=1.0), [make_instrument()], sink, clock=self.clock,
        )
        self.client: ExecutionClient = self.sim_client
        self.instrument: Instrument = make_instrument()
        self.quantity = Decimal(1)
        self.timeout = timeout
        self.bar_type = BarType(instrument_id=self.instrument.instrument_id, timeframe="1m")

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
        await anyio.lowlevel.checkpoint()  # the venue answers synchronously: nothing in flight

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


@pytest.mark.parametrize("check", EXECUTION_CHECKS, ids=check_name)
async def test_sim_execution_client_passes(check: ExecutionCheck) -> None:
    harness = SimHarness()

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


async def test_suite_catches_run_that_never_reports_started() -> None:
    harness = broken(SimHarness(timeout=0.05), run=never_starts)

    with pytest.raises(ConformanceError, match="did not report started"):
        await check_run_reports_started(harness)


async def test_suite_catches_open_orders_missing_a_working_order() -> None:
    harness = broken(SimHarness(), open_orders=no_open_orders)

    with pytest.raises(ConformanceError, match="open_orders"):
        await check_reports_consistent_with_events(harness)


async def test_suite_catches_fills_missing_from_the_trade_history() -> None:
    harness = SimHarness()

    async def first_fill_only(ts_ns: int, instrument_id: str | None = None) -> list[FillReport]:
        return (await harness.sim_client.fills_since(ts_ns, instrument_id))[:1]

    with pytest.raises(ConformanceError, match="fills_since"):
        await check_reports_consistent_with_events(broken(harness, fills_since=first_fill_only))


async def test_suite_catches_status_report_that_misses_a_partial_fill() -> None:
    harness = SimHarness()

    async def stale_status(**ids: Any) -> OrderStatusReport | None:
        report = await harness.sim_client.order_status(**ids)
        return None if report is None else msgspec.structs.replace(report, filled_quantity=ZERO)

    with pytest.raises(ConformanceError, match="partially_filled with 0 filled"):
        await check_partial_fills(broken(harness, order_status=stale_status))


async def test_suite_catches_a_duplicate_client_order_id_making_a_second_order() -> None:
    # A client that sends each submit under a fresh venue-side id and maps the venue's
    # events back to the engine's id: a duplicate then becomes a second order.
    sent: dict[str, str] = {}

    def back_to_engine_id(event: Event) -> Event:
        if isinstance(event, OrderEvent) and event.client_order_id in sent:
            return msgspec.structs.replace(event, client_order_id=sent[event.client_order_id])
        return event

    harness = SimHarness(translate=back_to_engine_id)

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
