"""The checks' vocabulary: commands under a check's own client ids, waits, expectations."""

from __future__ import annotations

from decimal import Decimal
from typing import Final, TypeVar

import anyio

from engine.domain.enums import OrderSide, OrderStatus, OrderType
from engine.domain.reports import OrderStatusReport
from engine.events.base import Event
from engine.events.fills import OrderFilled
from engine.events.orders import (
    CancelOrder,
    ModifyOrder,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderModifyRejected,
    OrderRejected,
    SubmitOrder,
)
from engine.testing.conformance.harness import ConformanceError, ExecutionHarness

__all__ = (
    "Orders",
    "expect",
    "expect_average",
    "expect_reason",
    "expect_status",
)

_STRATEGY_ID: Final = "conformance"
_EventT = TypeVar("_EventT", bound=OrderEvent)


def expect(condition: bool, message: str) -> None:
    """Raise ConformanceError with `message` unless `condition` holds."""
    if not condition:
        raise ConformanceError(message)


class Orders:
    """Commands and event filters for one check, with client order ids of its own."""

    def __init__(self, harness: ExecutionHarness, tag: str) -> None:
        self.harness = harness
        self.instrument_id = harness.instrument.instrument_id
        self._tag = tag
        self._count = 0
        self.ids: list[str] = []
        self.venue_order_ids: dict[str, str] = {}  # from the acceptances waited for

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
        expect(bool(found.venue_order_id),
               f"OrderAccepted of {client_order_id}: venue_order_id empty")
        self.venue_order_ids[client_order_id] = found.venue_order_id
        return found

    async def cancel_and_wait(self, client_order_id: str) -> None:
        """Cancel an accepted order, as the order manager would (with its venue order id)."""
        await self.harness.client.cancel_order(
            self.cancel(client_order_id), self.venue_order_ids.get(client_order_id)
        )
        await self.wait(OrderCanceled, client_order_id)

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
        expect(self.filled(client_order_id) == quantity,
               f"fills of {client_order_id}: {self.filled(client_order_id)}, more than the "
               f"order's quantity {quantity}")
        return fills

    async def status(
        self, client_order_id: str, venue_order_id: str | None = None
    ) -> OrderStatusReport:
        """The order's report, asked with both ids known (as reconciliation asks)."""
        report = await self.harness.client.order_status(
            instrument_id=self.instrument_id, client_order_id=client_order_id,
            venue_order_id=venue_order_id or self.venue_order_ids.get(client_order_id),
        )
        if report is None:
            raise ConformanceError(
                f"order_status of {client_order_id}: None for an order the venue accepted"
            )
        expect(report.client_order_id in (client_order_id, None),
               f"order_status of {client_order_id}: names client_order_id "
               f"{report.client_order_id!r}")
        return report

    async def open_ids(self) -> list[str]:
        """This check's client order ids among the venue's open orders, in its order."""
        reports = await self.harness.client.open_orders(self.instrument_id)
        return [report.client_order_id for report in reports
                if report.client_order_id is not None and report.client_order_id in self.ids]


def expect_status(report: OrderStatusReport, status: OrderStatus, filled: Decimal) -> None:
    expect(report.status is status and report.filled_quantity == filled,
           f"order_status of {report.client_order_id}: {report.status} with "
           f"{report.filled_quantity} filled, expected {status} with {filled}")


def expect_average(
    report: OrderStatusReport, fills: list[OrderFilled], increment: Decimal
) -> None:
    """The average fill price is within one price increment of the fills' exact average."""
    quantity = sum((fill.last_quantity for fill in fills), Decimal(0))
    exact = sum((fill.last_quantity * fill.last_price for fill in fills), Decimal(0)) / quantity
    average = report.average_fill_price
    expect(average is not None and abs(average - exact) <= increment,
           f"order_status of {report.client_order_id}: average_fill_price {average}, the "
           f"fills' average is {exact}")


def expect_reason(event: OrderRejected | OrderCancelRejected | OrderModifyRejected) -> None:
    expect(bool(event.reason.strip()),
           f"{type(event).__name__} of {event.client_order_id}: no reason given")


