"""The checks every execution client must pass, in the spirit of trio's stream checks.

An adapter's test provides an `ExecutionHarness`: the client under test (built, not
running) and the few things only its fake venue can do: make the market trade through
a price, name prices that rest and prices that cross. It then runs every check of
`EXECUTION_CHECKS` against a fresh harness::

    @pytest.mark.parametrize("check", EXECUTION_CHECKS, ids=check_name)
    async def test_conformance(check: ExecutionCheck) -> None:
        async with make_harness() as harness:
            await check(harness)

A check sees only the port: the events the client delivered to its sink and the
reports its queries return, never an adapter's internals, so the simulated venue, ccxt
against an HTTP/WebSocket fake and IBKR against a TWS-socket fake run the same checks.
Each check runs the client itself (`run` in a task group of its own, cancelled at the
end), uses client order ids of its own (`cf-<check>-<n>`, so give each check a venue
that has not seen them) and filters what it reads by them, so other orders on the
account do nothing to it. Waits are bounded by the harness's `timeout`; a failed
expectation raises `ConformanceError`, which names what was expected and what came.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Final, Protocol, TypeAlias, TypeVar

import anyio
import msgspec

from engine.domain.enums import OrderSide, OrderStatus, OrderType
from engine.domain.reports import OrderStatusReport
from engine.events.base import Event
from engine.events.fills import OrderFilled
from engine.events.market import Instrument
from engine.events.orders import (
    CancelOrder,
    ModifyOrder,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderModifyRejected,
    OrderRejected,
    OrderUpdated,
    SubmitOrder,
)
from engine.ports import ExecutionClient

__all__ = (
    "EXECUTION_CHECKS",
    "ConformanceError",
    "EventRecorder",
    "ExecutionCheck",
    "ExecutionHarness",
    "check_cancel_resting_order",
    "check_cancel_unknown_order_is_rejected",
    "check_duplicate_client_order_id_after_fill",
    "check_duplicate_client_order_id_while_working",
    "check_market_order_accepted_then_filled",
    "check_marketable_limit_fills_at_or_better",
    "check_modify_resting_order",
    "check_modify_unknown_order_is_rejected",
    "check_name",
    "check_order_status_unknown_is_none",
    "check_partial_fills",
    "check_reject_off_increment_price",
    "check_reject_zero_quantity",
    "check_reports_consistent_with_events",
    "check_resting_limit_fills_when_traded_through",
    "check_run_reports_started",
    "running",
)

_STRATEGY_ID: Final = "conformance"
_EventT = TypeVar("_EventT", bound=OrderEvent)


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
        """An order size the venue accepts at these prices (as do 2 and 3 times it)."""
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


# -- helpers ----------------------------------------------------------------------------


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise ConformanceError(message)


class _Orders:
    """Commands and event filters for one check, with client order ids of its own."""

    def __init__(self, harness: ExecutionHarness, tag: str) -> None:
        self.harness = harness
        self.instrument_id = harness.instrument.instrument_id
        self._tag = tag
        self._count = 0
        self.ids: list[str] = []

    def new_id(self) -> str:
        self._count += 1
        client_order_id = f"cf-{self._tag}-{self._count}"
        self.ids.append(client_order_id)
        return client_order_id

    def submit(
        self,
        side: OrderSide,
        *,
        price: Decimal | None = None,
        quantity: Decimal | None = None,
        client_order_id: str | None = None,
    ) -> SubmitOrder:
        """A limit order at `price`, or a market order without one."""
        return SubmitOrder(
            strategy_id=_STRATEGY_ID,
            client_order_id=client_order_id or self.new_id(),
            instrument_id=self.instrument_id,
            side=side,
            order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
            quantity=self.harness.quantity if quantity is None else quantity,
            price=price,
            ts_event=0,
            ts_init=0,
        )

    def cancel(self, client_order_id: str) -> CancelOrder:
        return CancelOrder(
            strategy_id=_STRATEGY_ID, client_order_id=client_order_id,
            instrument_id=self.instrument_id, ts_event=0, ts_init=0,
        )

    def modify(self, client_order_id: str, *, price: Decimal, quantity: Decimal) -> ModifyOrder:
        return ModifyOrder(
            strategy_id=_STRATEGY_ID, client_order_id=client_order_id,
            instrument_id=self.instrument_id, price=price, quantity=quantity,
            ts_event=0, ts_init=0,
        )

    def of(self, event_type: type[_EventT], client_order_id: str) -> list[_EventT]:
        """The events of `event_type` delivered for `client_order_id`, in order."""
        return [
            event for event in self.harness.events
            if isinstance(event, event_type) and type(event) is event_type
            and event.client_order_id == client_order_id
        ]

    def summary(self, client_order_id: str) -> str:
        kinds = [type(event).__name__ for event in self.harness.events
                 if isinstance(event, OrderEvent) and event.client_order_id == client_order_id]
        return f"delivered for {client_order_id}: {kinds or 'nothing'}"

    async def wait_first(
        self, event_types: tuple[type[Event], ...], client_order_id: str
    ) -> Event:
        """Wait for the first event of `client_order_id` of any of `event_types`."""

        def matches(event: Event) -> bool:
            return (
                type(event) in event_types
                and isinstance(event, OrderEvent) and event.client_order_id == client_order_id
            )

        try:
            with anyio.fail_after(self.harness.timeout):
                return await self.harness.wait_for(matches)
        except TimeoutError:
            names = " or ".join(event_type.__name__ for event_type in event_types)
            raise ConformanceError(
                f"{names} of {client_order_id}: not delivered within "
                f"{self.harness.timeout} s; {self.summary(client_order_id)}"
            ) from None

    async def wait(self, event_type: type[_EventT], client_order_id: str) -> _EventT:
        """Wait for the first `event_type` of `client_order_id`; fail naming what came."""
        found = await self.wait_first((event_type,), client_order_id)
        if not isinstance(found, event_type):
            raise ConformanceError(f"wait_for returned {found!r}, not a {event_type.__name__}")
        return found

    async def wait_accepted(self, client_order_id: str) -> OrderAccepted:
        """Wait for acceptance; a rejection instead fails with the venue's reason."""
        found = await self.wait_first((OrderAccepted, OrderRejected), client_order_id)
        if isinstance(found, OrderRejected):
            raise ConformanceError(f"order {client_order_id}: rejected, was {found.reason!r}")
        if not isinstance(found, OrderAccepted):
            raise ConformanceError(f"wait_for returned {found!r}, not an OrderAccepted")
        _expect(bool(found.venue_order_id),
                f"OrderAccepted of {client_order_id}: venue_order_id empty")
        return found

    def filled(self, client_order_id: str) -> Decimal:
        return sum((fill.last_quantity for fill in self.of(OrderFilled, client_order_id)),
                   Decimal(0))

    async def wait_filled(self, client_order_id: str, quantity: Decimal) -> list[OrderFilled]:
        """Wait until fills of `client_order_id` add up to `quantity`; return them."""
        while self.filled(client_order_id) < quantity:
            counted = {fill.trade_id for fill in self.of(OrderFilled, client_order_id)}

            def new_fill(event: Event, counted: set[str] = counted) -> bool:
                return (
                    type(event) is OrderFilled
                    and event.client_order_id == client_order_id
                    and event.trade_id not in counted
                )

            try:
                with anyio.fail_after(self.harness.timeout):
                    await self.harness.wait_for(new_fill)
            except TimeoutError:
                raise ConformanceError(
                    f"fills of {client_order_id}: {self.filled(client_order_id)} of {quantity} "
                    f"within {self.harness.timeout} s; {self.summary(client_order_id)}"
                ) from None
        fills = self.of(OrderFilled, client_order_id)
        _expect(self.filled(client_order_id) == quantity,
                f"fills of {client_order_id}: {self.filled(client_order_id)}, more than the "
                f"order's quantity {quantity}")
        return fills

    async def status(
        self, client_order_id: str, venue_order_id: str | None = None
    ) -> OrderStatusReport:
        report = await self.harness.client.order_status(
            instrument_id=self.instrument_id, client_order_id=client_order_id,
            venue_order_id=venue_order_id,
        )
        if report is None:
            raise ConformanceError(
                f"order_status of {client_order_id}: None for an order the venue accepted"
            )
        _expect(report.client_order_id in (client_order_id, None),
                f"order_status of {client_order_id}: names client_order_id "
                f"{report.client_order_id!r}")
        return report

    async def open_ids(self) -> list[str]:
        """This check's client order ids among the venue's open orders, in its order."""
        reports = await self.harness.client.open_orders(self.instrument_id)
        return [report.client_order_id for report in reports
                if report.client_order_id is not None and report.client_order_id in self.ids]


def _expect_status(report: OrderStatusReport, status: OrderStatus, filled: Decimal) -> None:
    _expect(report.status is status and report.filled_quantity == filled,
            f"order_status of {report.client_order_id}: {report.status} with "
            f"{report.filled_quantity} filled, expected {status} with {filled}")


def _expect_average(
    report: OrderStatusReport, fills: list[OrderFilled], increment: Decimal
) -> None:
    """The average fill price is within one price increment of the fills' exact average."""
    quantity = sum((fill.last_quantity for fill in fills), Decimal(0))
    exact = sum((fill.last_quantity * fill.last_price for fill in fills), Decimal(0)) / quantity
    average = report.average_fill_price
    _expect(average is not None and abs(average - exact) <= increment,
            f"order_status of {report.client_order_id}: average_fill_price {average}, the "
            f"fills' average is {exact}")


def _expect_reason(event: OrderRejected | OrderCancelRejected | OrderModifyRejected) -> None:
    _expect(bool(event.reason.strip()),
            f"{type(event).__name__} of {event.client_order_id}: no reason given")


# -- the checks -------------------------------------------------------------------------


async def check_run_reports_started(harness: ExecutionHarness) -> None:
    """`run` reports started, the client answers queries then, and ends when cancelled."""
    async with running(harness) as client:
        _expect(bool(client.venue), "venue: empty")
        reports = await client.open_orders(harness.instrument.instrument_id)
        _expect(isinstance(reports, list), f"open_orders: returned {type(reports).__name__}")
        statistics = client.statistics()
        _expect(isinstance(statistics, msgspec.Struct),
                f"statistics(): a {type(statistics).__name__}, not a msgspec Struct")


async def check_market_order_accepted_then_filled(harness: ExecutionHarness) -> None:
    """A market order: accepted, then filled in full, then reported FILLED and not open."""
    orders = _Orders(harness, "market")
    async with running(harness) as client:
        command = orders.submit(OrderSide.BUY)
        await client.submit_order(command)
        accepted = await orders.wait_accepted(command.client_order_id)
        await harness.trade_through(harness.marketable_price(OrderSide.BUY))
        fills = await orders.wait_filled(command.client_order_id, command.quantity)

        events = list(harness.events)
        _expect(events.index(accepted) < events.index(fills[0]),
                f"order {command.client_order_id}: filled before it was accepted")
        for fill in fills:
            _expect(fill.venue_order_id == accepted.venue_order_id and fill.side is OrderSide.BUY
                    and bool(fill.trade_id) and fill.last_price > 0,
                    f"fill {fill!r}: wrong venue order id, side, trade id or price")
        report = await orders.status(command.client_order_id)
        _expect_status(report, OrderStatus.FILLED, command.quantity)
        _expect(command.client_order_id not in await orders.open_ids(),
                f"open_orders: lists the filled order {command.client_order_id}")


async def check_marketable_limit_fills_at_or_better(harness: ExecutionHarness) -> None:
    """A limit sell that crosses fills in full at its price or better."""
    orders = _Orders(harness, "cross")
    price = harness.marketable_price(OrderSide.SELL)
    async with running(harness) as client:
        command = orders.submit(OrderSide.SELL, price=price)
        await client.submit_order(command)
        await orders.wait_accepted(command.client_order_id)
        await harness.trade_through(price)
        fills = await orders.wait_filled(command.client_order_id, command.quantity)

        _expect(all(fill.last_price >= price for fill in fills),
                f"fills {[str(f.last_price) for f in fills]}: below the sell limit {price}")
        _expect_status(await orders.status(command.client_order_id), OrderStatus.FILLED,
                       command.quantity)


async def check_resting_limit_fills_when_traded_through(harness: ExecutionHarness) -> None:
    """A resting limit is open and unfilled, then fills at its price or better."""
    orders = _Orders(harness, "rest")
    price = harness.resting_price(OrderSide.BUY)
    async with running(harness) as client:
        command = orders.submit(OrderSide.BUY, price=price)
        await client.submit_order(command)
        accepted = await orders.wait_accepted(command.client_order_id)
        await harness.wait_settled()

        _expect(not orders.of(OrderFilled, command.client_order_id),
                f"order {command.client_order_id}: a resting buy at {price} filled at once")
        report = await orders.status(command.client_order_id, accepted.venue_order_id)
        _expect_status(report, OrderStatus.ACCEPTED, Decimal(0))
        _expect((report.side, report.order_type, report.price, report.quantity)
                == (OrderSide.BUY, OrderType.LIMIT, price, command.quantity),
                f"order_status of {command.client_order_id}: terms {report!r}")
        _expect(await orders.open_ids() == [command.client_order_id],
                f"open_orders: {await orders.open_ids()}, expected the resting order")

        await harness.trade_through(price)
        fills = await orders.wait_filled(command.client_order_id, command.quantity)
        _expect(all(fill.last_price <= price for fill in fills),
                f"fills {[str(f.last_price) for f in fills]}: above the buy limit {price}")
        _expect_status(await orders.status(command.client_order_id), OrderStatus.FILLED,
                       command.quantity)


async def check_partial_fills(harness: ExecutionHarness) -> None:
    """A resting order filled in two parts: PARTIALLY_FILLED and open between them."""
    orders = _Orders(harness, "partial")
    price = harness.resting_price(OrderSide.BUY)
    part = harness.quantity
    async with running(harness) as client:
        command = orders.submit(OrderSide.BUY, price=price, quantity=2 * part)
        await client.submit_order(command)
        await orders.wait_accepted(command.client_order_id)
        await harness.trade_through(price, max_quantity=part)
        await orders.wait(OrderFilled, command.client_order_id)
        await harness.wait_settled()

        first = orders.filled(command.client_order_id)
        _expect(0 < first < command.quantity,
                f"first fills of {command.client_order_id}: {first}, expected a part of "
                f"{command.quantity} (at most {part} traded)")
        _expect_status(await orders.status(command.client_order_id),
                       OrderStatus.PARTIALLY_FILLED, first)
        _expect(await orders.open_ids() == [command.client_order_id],
                f"open_orders: {await orders.open_ids()}, expected the partly filled order")

        await harness.trade_through(price)
        fills = await orders.wait_filled(command.client_order_id, command.quantity)
        _expect(len(fills) >= 2 and len({fill.trade_id for fill in fills}) == len(fills),
                f"fills of {command.client_order_id}: {[f.trade_id for f in fills]}, expected "
                "two or more with distinct trade ids")
        report = await orders.status(command.client_order_id)
        _expect_status(report, OrderStatus.FILLED, command.quantity)
        _expect_average(report, fills, harness.instrument.price_increment)


async def check_cancel_resting_order(harness: ExecutionHarness) -> None:
    """Cancel: accepted, then canceled, gone from open_orders, CANCELED, never filled."""
    orders = _Orders(harness, "cancel")
    price = harness.resting_price(OrderSide.SELL)
    async with running(harness) as client:
        command = orders.submit(OrderSide.SELL, price=price)
        await client.submit_order(command)
        accepted = await orders.wait_accepted(command.client_order_id)
        await client.cancel_order(orders.cancel(command.client_order_id),
                                  accepted.venue_order_id)
        await orders.wait(OrderCanceled, command.client_order_id)

        _expect(command.client_order_id not in await orders.open_ids(),
                f"open_orders: still lists the canceled order {command.client_order_id}")
        _expect_status(await orders.status(command.client_order_id, accepted.venue_order_id),
                       OrderStatus.CANCELED, Decimal(0))
        await harness.trade_through(price)
        await harness.wait_settled()
        _expect(not orders.of(OrderFilled, command.client_order_id),
                f"order {command.client_order_id}: filled after it was canceled")


async def check_cancel_unknown_order_is_rejected(harness: ExecutionHarness) -> None:
    """Cancel of an order the venue does not know: OrderCancelRejected with a reason."""
    orders = _Orders(harness, "nocancel")
    async with running(harness) as client:
        client_order_id = orders.new_id()
        await client.cancel_order(orders.cancel(client_order_id), None)
        rejected = await orders.wait(OrderCancelRejected, client_order_id)

        _expect_reason(rejected)
        _expect(not orders.of(OrderCanceled, client_order_id),
                f"order {client_order_id}: canceled though the venue never had it")


async def check_modify_resting_order(harness: ExecutionHarness) -> None:
    """Modify price and quantity of a resting limit: updated, reported, and honoured."""
    orders = _Orders(harness, "modify")
    increment = harness.instrument.price_increment
    price = harness.resting_price(OrderSide.BUY)
    new_price, new_quantity = price - increment, 2 * harness.quantity
    async with running(harness) as client:
        command = orders.submit(OrderSide.BUY, price=price)
        await client.submit_order(command)
        accepted = await orders.wait_accepted(command.client_order_id)
        await client.modify_order(
            orders.modify(command.client_order_id, price=new_price, quantity=new_quantity),
            accepted.venue_order_id,
        )
        updated = await orders.wait_first((OrderUpdated, OrderModifyRejected),
                                          command.client_order_id)
        if isinstance(updated, OrderModifyRejected):
            raise ConformanceError(
                f"modify of {command.client_order_id}: rejected, was {updated.reason!r}"
            )
        if not isinstance(updated, OrderUpdated):
            raise ConformanceError(f"wait_for returned {updated!r}, not an OrderUpdated")

        _expect((updated.price, updated.quantity) == (new_price, new_quantity),
                f"OrderUpdated of {command.client_order_id}: price {updated.price} quantity "
                f"{updated.quantity}, expected {new_price} and {new_quantity}")
        venue_order_id = updated.venue_order_id or accepted.venue_order_id
        report = await orders.status(command.client_order_id, venue_order_id)
        _expect(report.is_open and (report.price, report.quantity) == (new_price, new_quantity),
                f"order_status of {command.client_order_id}: {report.status} at {report.price} "
                f"for {report.quantity}, expected open at {new_price} for {new_quantity}")

        await harness.trade_through(new_price)
        fills = await orders.wait_filled(command.client_order_id, new_quantity)
        _expect(all(fill.last_price <= new_price for fill in fills),
                f"fills {[str(f.last_price) for f in fills]}: above the new limit {new_price}")


async def check_modify_unknown_order_is_rejected(harness: ExecutionHarness) -> None:
    """Modify of an order the venue does not know: OrderModifyRejected with a reason."""
    orders = _Orders(harness, "nomodify")
    async with running(harness) as client:
        client_order_id = orders.new_id()
        price = harness.resting_price(OrderSide.BUY)
        await client.modify_order(
            orders.modify(client_order_id, price=price, quantity=harness.quantity), None
        )
        _expect_reason(await orders.wait(OrderModifyRejected, client_order_id))
        _expect(not orders.of(OrderUpdated, client_order_id),
                f"order {client_order_id}: updated though the venue never had it")


async def _check_rejected(harness: ExecutionHarness, orders: _Orders, command: SubmitOrder) -> None:
    async with running(harness) as client:
        await client.submit_order(command)
        rejected = await orders.wait(OrderRejected, command.client_order_id)
        await harness.wait_settled()

        _expect_reason(rejected)
        _expect(not orders.of(OrderAccepted, command.client_order_id),
                f"order {command.client_order_id}: accepted as well as rejected")
        _expect(command.client_order_id not in await orders.open_ids(),
                f"open_orders: lists the rejected order {command.client_order_id}")
        report = await client.order_status(
            instrument_id=orders.instrument_id, client_order_id=command.client_order_id,
            venue_order_id=None,
        )
        _expect(report is None or report.status is OrderStatus.REJECTED,
                f"order_status of the rejected {command.client_order_id}: {report!r}")


async def check_reject_off_increment_price(harness: ExecutionHarness) -> None:
    """A price between two increments: OrderRejected with the venue's reason, nothing open."""
    orders = _Orders(harness, "offtick")
    price = harness.resting_price(OrderSide.BUY) + harness.instrument.price_increment / 2
    await _check_rejected(harness, orders, orders.submit(OrderSide.BUY, price=price))


async def check_reject_zero_quantity(harness: ExecutionHarness) -> None:
    """A zero quantity: OrderRejected with the venue's reason, nothing open."""
    orders = _Orders(harness, "zero")
    command = orders.submit(OrderSide.BUY, price=harness.resting_price(OrderSide.BUY),
                            quantity=Decimal(0))
    await _check_rejected(harness, orders, command)


async def check_reports_consistent_with_events(harness: ExecutionHarness) -> None:
    """open_orders, fills_since and order_status say what the delivered events say."""
    orders = _Orders(harness, "reports")
    quantity = harness.quantity
    async with running(harness) as client:
        resting = orders.submit(OrderSide.BUY, price=harness.resting_price(OrderSide.BUY))
        market = orders.submit(OrderSide.BUY)
        partial = orders.submit(OrderSide.SELL, price=harness.resting_price(OrderSide.SELL),
                                quantity=2 * quantity)
        rejected = orders.submit(OrderSide.BUY, price=resting.price, quantity=Decimal(0))
        for command in (resting, market, partial):
            await client.submit_order(command)
            await orders.wait_accepted(command.client_order_id)
        await client.submit_order(rejected)
        await orders.wait(OrderRejected, rejected.client_order_id)
        await harness.trade_through(harness.marketable_price(OrderSide.BUY))
        await orders.wait_filled(market.client_order_id, quantity)
        await harness.trade_through(harness.resting_price(OrderSide.SELL), max_quantity=quantity)
        await orders.wait(OrderFilled, partial.client_order_id)
        await client.cancel_order(orders.cancel(partial.client_order_id), None)
        await orders.wait(OrderCanceled, partial.client_order_id)
        await harness.wait_settled()

        closing = (OrderCanceled, OrderExpired, OrderRejected)
        submitted = {command.client_order_id: command for command in
                     (resting, market, partial, rejected)}
        expected_open = [
            client_order_id for client_order_id, command in submitted.items()
            if orders.of(OrderAccepted, client_order_id)
            and not any(orders.of(kind, client_order_id) for kind in closing)
            and orders.filled(client_order_id) < command.quantity
        ]
        _expect(expected_open == [resting.client_order_id],
                f"events: open orders {expected_open}, expected only {resting.client_order_id}")
        _expect(sorted(await orders.open_ids()) == sorted(expected_open),
                f"open_orders: {await orders.open_ids()}, the events say {expected_open}")
        every = await client.open_orders()
        _expect(resting.client_order_id in [r.client_order_id for r in every],
                f"open_orders(): without an instrument misses {resting.client_order_id}")

        delivered = [event for event in harness.events
                     if type(event) is OrderFilled and event.client_order_id in submitted]
        # A venue's trade history may carry no client id (Binance's does not): match ours
        # by the venue order ids their acceptances gave.
        venue_order_ids = {event.venue_order_id for event in harness.events
                           if type(event) is OrderAccepted and event.client_order_id in submitted}
        reported = [report for report in await client.fills_since(0, orders.instrument_id)
                    if report.client_order_id in submitted
                    or report.venue_order_id in venue_order_ids]
        _expect(sorted(r.trade_id for r in reported) == sorted(f.trade_id for f in delivered),
                f"fills_since(0): trade ids {[r.trade_id for r in reported]}, the events "
                f"delivered {[f.trade_id for f in delivered]}")
        by_trade = {report.trade_id: report for report in reported}
        for fill in delivered:
            line = by_trade[fill.trade_id]
            _expect((line.venue_order_id, line.side, line.last_quantity, line.last_price)
                    == (fill.venue_order_id, fill.side, fill.last_quantity, fill.last_price),
                    f"fills_since(0): trade {fill.trade_id} reported as {line!r}, "
                    f"delivered as {fill!r}")
        times = [report.ts_event for report in reported]
        _expect(times == sorted(times), f"fills_since(0): not oldest first, {times}")
        last = max(fill.ts_event for fill in delivered)
        later = await client.fills_since(last + 1_000_000_000, orders.instrument_id)
        _expect(not [r for r in later if r.trade_id in by_trade],
                "fills_since(a second after the last fill): lists earlier fills")

        for command in (resting, market, partial):
            fills = orders.of(OrderFilled, command.client_order_id)
            accepted = orders.of(OrderAccepted, command.client_order_id)[0]
            report = await orders.status(command.client_order_id)
            _expect(report.filled_quantity == orders.filled(command.client_order_id),
                    f"order_status of {command.client_order_id}: filled "
                    f"{report.filled_quantity}, its fills add up to "
                    f"{orders.filled(command.client_order_id)}")
            if fills:
                _expect_average(report, fills, harness.instrument.price_increment)
            by_venue_id = await client.order_status(
                instrument_id=orders.instrument_id, client_order_id=None,
                venue_order_id=accepted.venue_order_id,
            )
            _expect(by_venue_id is not None and by_venue_id.venue_order_id
                    == accepted.venue_order_id and by_venue_id.status is report.status,
                    f"order_status by venue_order_id {accepted.venue_order_id}: {by_venue_id!r}")
        _expect_status(await orders.status(partial.client_order_id), OrderStatus.CANCELED,
                       orders.filled(partial.client_order_id))

        await client.cancel_order(orders.cancel(resting.client_order_id), None)
        await orders.wait(OrderCanceled, resting.client_order_id)


async def check_order_status_unknown_is_none(harness: ExecutionHarness) -> None:
    """order_status of a client order id the venue never saw is None."""
    orders = _Orders(harness, "unknown")
    async with running(harness) as client:
        client_order_id = orders.new_id()
        report = await client.order_status(
            instrument_id=orders.instrument_id, client_order_id=client_order_id,
            venue_order_id=None,
        )
        _expect(report is None, f"order_status of the unknown {client_order_id}: {report!r}")


async def check_duplicate_client_order_id_while_working(harness: ExecutionHarness) -> None:
    """The id of a working order sent again: one order, one acceptance, never a fill."""
    orders = _Orders(harness, "dupwork")
    async with running(harness) as client:
        first = orders.submit(OrderSide.BUY, price=harness.resting_price(OrderSide.BUY))
        await client.submit_order(first)
        await orders.wait_accepted(first.client_order_id)
        # A market order under the same id: if it became a second order it would fill.
        await client.submit_order(orders.submit(OrderSide.BUY,
                                                client_order_id=first.client_order_id))
        await harness.wait_settled()
        await harness.trade_through(harness.marketable_price(OrderSide.BUY))
        await harness.wait_settled()

        cid = first.client_order_id
        _expect(len(orders.of(OrderAccepted, cid)) == 1,
                f"order {cid}: accepted {len(orders.of(OrderAccepted, cid))} times")
        _expect(not orders.of(OrderFilled, cid),
                f"order {cid}: filled {orders.filled(cid)}, so the duplicate made an order")
        _expect(await orders.open_ids() == [cid],
                f"open_orders: {await orders.open_ids()}, expected {cid} once")
        report = await orders.status(cid)
        _expect((report.order_type, report.price, report.quantity)
                == (OrderType.LIMIT, first.price, first.quantity),
                f"order_status of {cid}: {report!r}, the duplicate changed the first order")

        await client.cancel_order(orders.cancel(cid), None)
        await orders.wait(OrderCanceled, cid)


async def check_duplicate_client_order_id_after_fill(harness: ExecutionHarness) -> None:
    """The id of a filled order sent again: no second acceptance, never a second fill."""
    orders = _Orders(harness, "dupfill")
    async with running(harness) as client:
        first = orders.submit(OrderSide.BUY)
        await client.submit_order(first)
        await orders.wait_accepted(first.client_order_id)
        await harness.trade_through(harness.marketable_price(OrderSide.BUY))
        await orders.wait_filled(first.client_order_id, first.quantity)
        await client.submit_order(first)
        await harness.wait_settled()
        await harness.trade_through(harness.marketable_price(OrderSide.BUY))
        await harness.wait_settled()

        cid = first.client_order_id
        _expect(len(orders.of(OrderAccepted, cid)) == 1,
                f"order {cid}: accepted {len(orders.of(OrderAccepted, cid))} times")
        _expect(orders.filled(cid) == first.quantity,
                f"order {cid}: filled {orders.filled(cid)}, more than its {first.quantity}")
        _expect(cid not in await orders.open_ids(),
                f"open_orders: lists {cid} again after it filled")
        _expect_status(await orders.status(cid), OrderStatus.FILLED, first.quantity)


EXECUTION_CHECKS: Final[tuple[ExecutionCheck, ...]] = (
    check_run_reports_started,
    check_market_order_accepted_then_filled,
    check_marketable_limit_fills_at_or_better,
    check_resting_limit_fills_when_traded_through,
    check_partial_fills,
    check_cancel_resting_order,
    check_cancel_unknown_order_is_rejected,
    check_modify_resting_order,
    check_modify_unknown_order_is_rejected,
    check_reject_off_increment_price,
    check_reject_zero_quantity,
    check_reports_consistent_with_events,
    check_order_status_unknown_is_none,
    check_duplicate_client_order_id_while_working,
    check_duplicate_client_order_id_after_fill,
)
"""Every check, in the order a reader meets the port: parametrize a test over it."""
