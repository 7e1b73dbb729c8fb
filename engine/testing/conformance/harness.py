"""What an adapter's test provides to the checks, and what the checks are built on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Protocol, TypeAlias

import anyio

from engine.domain.enums import OrderSide
from engine.events.base import Event
from engine.events.market import Instrument
from engine.ports import ExecutionClient

__all__ = (
    "ConformanceError",
    "EventRecorder",
    "ExecutionCheck",
    "ExecutionHarness",
    "check_name",
    "running",
)


class ConformanceError(AssertionError):
    """An execution client broke a rule of the port (raised, not asserted: survives -O)."""


class ExecutionHarness(Protocol):
    """What an adapter's test gives the checks: its client and its fake venue's market.

    Prices must keep this order, so that a trade through one never reaches another:
    resting_price(BUY) < marketable_price(SELL) <= market <= marketable_price(BUY)
    < resting_price(SELL).
    """

    @property
    def client(self) -> ExecutionClient:
        """The client under test, built with this harness's sink and not running yet."""
        ...

    @property
    def instrument(self) -> Instrument:
        """The instrument the checks trade (its increments shape the prices they send)."""
        ...

    @property
    def quantity(self) -> Decimal:
        """An order size the venue accepts at these prices (and twice it)."""
        ...

    @property
    def timeout(self) -> float:
        """Seconds any one expectation may take: an event to arrive, `run` to start."""
        ...

    @property
    def events(self) -> Sequence[Event]:
        """Every event the client delivered to its sink so far, in delivery order."""
        ...

    def resting_price(self, side: OrderSide) -> Decimal:
        """A limit price of `side` that rests without filling (a buy below the market)."""
        ...

    def marketable_price(self, side: OrderSide) -> Decimal:
        """A limit price of `side` that crosses the market at once (a buy above it)."""
        ...

    async def wait_for(self, predicate: Callable[[Event], bool]) -> Event:
        """Return the first event delivered, already or from now on, matching `predicate`.

        Blocks until one arrives: the checks bound it with `anyio.fail_after(timeout)`.
        """
        ...

    async def wait_settled(self) -> None:
        """Return once every event the venue has sent so far was delivered to the sink."""
        ...

    async def trade_through(self, price: Decimal, *, max_quantity: Decimal | None = None) -> None:
        """Make the market trade at `price`, then come back to where it was.

        Resting orders at `price` or better fill (each at most `max_quantity` when given,
        so partial fills happen), and so do marketable orders a venue fills only on its
        next market data, as the simulated venue does. Returns once the venue has traded.
        """
        ...


ExecutionCheck: TypeAlias = Callable[[ExecutionHarness], Awaitable[None]]


def check_name(check: ExecutionCheck) -> str:
    """The check's name without its `check_` prefix (a readable pytest id)."""
    name = getattr(check, "__name__", repr(check))
    return name.removeprefix("check_")


class EventRecorder:
    """A sink that keeps every event in order and lets a check wait for one.

    Hand it to the client as its `EventSink`, and let the harness's `events` and
    `wait_for` delegate to it. Call it from the event loop's thread.
    """

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._arrived: anyio.Event | None = None  # made by a waiter: an Event needs a loop

    def __call__(self, event: Event) -> None:
        self._events.append(event)
        if self._arrived is not None:
            self._arrived.set()
            self._arrived = None

    @property
    def events(self) -> Sequence[Event]:
        return self._events

    async def wait_for(self, predicate: Callable[[Event], bool]) -> Event:
        """Return the first event so far or to come matching `predicate`; blocks until then.

        Bound it with `anyio.fail_after`, as the checks do.
        """
        seen = 0
        while True:
            for event in self._events[seen:]:
                if predicate(event):
                    return event
            seen = len(self._events)
            if self._arrived is None:
                self._arrived = anyio.Event()
            await self._arrived.wait()


@asynccontextmanager
async def running(harness: ExecutionHarness) -> AsyncIterator[ExecutionClient]:
    """Run the harness's client in a task group of its own while the block runs.

    Raises:
        ConformanceError: `run` did not report started within the timeout.
    """
    failure: Exception | None = None
    async with anyio.create_task_group() as tasks:
        try:
            with anyio.fail_after(harness.timeout):
                await tasks.start(harness.client.run)
        except TimeoutError:
            failure = ConformanceError(
                f"run: did not report started within {harness.timeout} s "
                "(task_status.started() is called once connected)"
            )
        else:
            try:
                yield harness.client
            except Exception as error:  # raised again below, outside the task group
                failure = error
        tasks.cancel_scope.cancel()
    if failure is not None:
        raise failure


