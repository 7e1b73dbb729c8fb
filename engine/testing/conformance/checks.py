"""The checks, one async function each, and `EXECUTION_CHECKS`, the list to parametrize over."""

from __future__ import annotations

from decimal import Decimal
from typing import Final

import msgspec

from engine.domain.enums import OrderSide, OrderStatus, OrderType
from engine.events.fills import OrderFilled
from engine.events.orders import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderExpired,
    OrderModifyRejected,
    OrderRejected,
    OrderUpdated,
    SubmitOrder,
)
from engine.testing.conformance._support import (
    Orders,
    expect,
    expect_average,
    expect_reason,
    expect_status,
)
from engine.testing.conformance.harness import (
    ConformanceError,
    ExecutionCheck,
    ExecutionHarness,
    running,
)

__all__ = (
    "EXECUTION_CHECKS",
    "check_cancel_resting_order",
    "check_cancel_unknown_order_is_rejected",
    "check_duplicate_client_order_id_after_fill",
    "check_duplicate_client_order_id_while_working",
    "check_market_order_accepted_then_filled",
    "check_marketable_limit_fills_at_or_better",
    "check_modify_resting_order",
    "check_modify_unknown_order_is_rejected",
    "check_order_status_unknown_is_none",
    "check_partial_fills",
    "check_reject_off_increment_price",
    "check_reject_zero_quantity",
    "check_reports_consistent_with_events",
    "check_resting_limit_fills_when_traded_through",
    "check_run_reports_started",
)


async def check_run_reports_started(harness: ExecutionHarness) -> None:
    """`run` reports started, the client answers queries then, and ends when cancelled."""
    async with running(harness) as client:
        expect(bool(client.venue), "venue: empty")
        reports = await client.open_orders(harness.instrument.instrument_id)
        expect(isinstance(reports, list), f"open_orders: returned {type(reports).__name__}")
        statistics = client.statistics()
        expect(isinstance(statistics, msgspec.Struct),
               f"statistics(): a {type(statistics).__name__}, not a msgspec Struct")


async def check_market_order_accepted_then_filled(harness: ExecutionHarness) -> None:
    """A market order: accepted, then filled in full, then reported FILLED and not open."""
    orders = Orders(harness, "market")
    async with running(harness) as client:
        command = orders.submit(OrderSide.BUY)
        await client.submit_order(command)
        accepted = await orders.wait_accepted(command.client_order_id)
        await harness.trade_through(harness.marketable_price(OrderSide.BUY))
        fills = await orders.wait_filled(command.client_order_id, command.quantity)

        events = list(harness.events)
        expect(events.index(accepted) < events.index(fills[0]),
               f"order {command.client_order_id}: filled before it was accepted")
        for fill in fills:
            expect(fill.venue_order_id == accepted.venue_order_id and fill.side is OrderSide.BUY
                   and bool(fill.trade_id) and fill.last_price > 0,
                   f"fill {fill!r}: wrong venue order id, side, trade id or price")
        report = await orders.status(command.client_order_id)
        expect_status(report, OrderStatus.FILLED, command.quantity)
        expect(command.client_order_id not in await orders.open_ids(),
               f"open_orders: lists the filled order {command.client_order_id}")


async def check_marketable_limit_fills_at_or_better(harness: ExecutionHarness) -> None:
    """A limit sell that crosses fills in full at its price or better."""
    orders = Orders(harness, "cross")
    price = harness.marketable_price(OrderSide.SELL)
    async with running(harness) as client:
        command = orders.submit(OrderSide.SELL, price=price)
        await client.submit_order(command)
        await orders.wait_accepted(command.client_order_id)
        await harness.trade_through(price)
        fills = await orders.wait_filled(command.client_order_id, command.quantity)

        expect(all(fill.last_price >= price for fill in fills),
               f"fills {[str(f.last_price) for f in fills]}: below the sell limit {price}")
        expect_status(await orders.status(command.client_order_id), OrderStatus.FILLED,
                      command.quantity)


async def check_resting_limit_fills_when_traded_through(harness: ExecutionHarness) -> None:
    """A resting limit is open and unfilled, then fills at its price or better."""
    orders = Orders(harness, "rest")
    price = harness.resting_price(OrderSide.BUY)
    async with running(harness) as client:
        command = orders.submit(OrderSide.BUY, price=price)
        await client.submit_order(command)
        accepted = await orders.wait_accepted(command.client_order_id)
        await harness.wait_settled()

        expect(not orders.of(OrderFilled, command.client_order_id),
               f"order {command.client_order_id}: a resting buy at {price} filled at once")
        report = await orders.status(command.client_order_id, accepted.venue_order_id)
        expect_status(report, OrderStatus.ACCEPTED, Decimal(0))
        expect((report.side, report.order_type, report.price, report.quantity)
               == (OrderSide.BUY, OrderType.LIMIT, price, command.quantity),
               f"order_status of {command.client_order_id}: terms {report!r}")
        expect(await orders.open_ids() == [command.client_order_id],
               f"open_orders: {await orders.open_ids()}, expected the resting order")

        await harness.trade_through(price)
        fills = await orders.wait_filled(command.client_order_id, command.quantity)
        expect(all(fill.last_price <= price for fill in fills),
               f"fills {[str(f.last_price) for f in fills]}: above the buy limit {price}")
        expect_status(await orders.status(command.client_order_id), OrderStatus.FILLED,
                      command.quantity)


async def check_partial_fills(harness: ExecutionHarness) -> None:
    """A resting order filled in two parts: PARTIALLY_FILLED and open between them."""
    orders = Orders(harness, "partial")
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
        expect(0 < first < command.quantity,
               f"first fills of {command.client_order_id}: {first}, expected a part of "
               f"{command.quantity} (at most {part} traded)")
        expect_status(await orders.status(command.client_order_id),
                      OrderStatus.PARTIALLY_FILLED, first)
        expect(await orders.open_ids() == [command.client_order_id],
               f"open_orders: {await orders.open_ids()}, expected the partly filled order")

        await harness.trade_through(price)
        fills = await orders.wait_filled(command.client_order_id, command.quantity)
        expect(len(fills) >= 2 and len({fill.trade_id for fill in fills}) == len(fills),
               f"fills of {command.client_order_id}: {[f.trade_id for f in fills]}, expected "
               "two or more with distinct trade ids")
        report = await orders.status(command.client_order_id)
        expect_status(report, OrderStatus.FILLED, command.quantity)
        expect_average(report, fills, harness.instrument.price_increment)


async def check_cancel_resting_order(harness: ExecutionHarness) -> None:
    """Cancel: accepted, then canceled, gone from open_orders, CANCELED, never filled."""
    orders = Orders(harness, "cancel")
    price = harness.resting_price(OrderSide.SELL)
    async with running(harness) as client:
        command = orders.submit(OrderSide.SELL, price=price)
        await client.submit_order(command)
        accepted = await orders.wait_accepted(command.client_order_id)
        await client.cancel_order(orders.cancel(command.client_order_id),
                                  accepted.venue_order_id)
        await orders.wait(OrderCanceled, command.client_order_id)

        expect(command.client_order_id not in await orders.open_ids(),
               f"open_orders: still lists the canceled order {command.client_order_id}")
        expect_status(await orders.status(command.client_order_id, accepted.venue_order_id),
                      OrderStatus.CANCELED, Decimal(0))
        await harness.trade_through(price)
        await harness.wait_settled()
        expect(not orders.of(OrderFilled, command.client_order_id),
               f"order {command.client_order_id}: filled after it was canceled")


async def check_cancel_unknown_order_is_rejected(harness: ExecutionHarness) -> None:
    """Cancel of an order the venue does not know: OrderCancelRejected with a reason."""
    orders = Orders(harness, "nocancel")
    async with running(harness) as client:
        client_order_id = orders.new_id()
        await client.cancel_order(orders.cancel(client_order_id), None)
        rejected = await orders.wait(OrderCancelRejected, client_order_id)

        expect_reason(rejected)
        expect(not orders.of(OrderCanceled, client_order_id),
               f"order {client_order_id}: canceled though the venue never had it")


async def check_modify_resting_order(harness: ExecutionHarness) -> None:
    """Modify price and quantity of a resting limit: updated, reported, and honoured."""
    orders = Orders(harness, "modify")
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

        expect((updated.price, updated.quantity) == (new_price, new_quantity),
               f"OrderUpdated of {command.client_order_id}: price {updated.price} quantity "
               f"{updated.quantity}, expected {new_price} and {new_quantity}")
        venue_order_id = updated.venue_order_id or accepted.venue_order_id
        report = await orders.status(command.client_order_id, venue_order_id)
        expect(report.is_open and (report.price, report.quantity) == (new_price, new_quantity),
               f"order_status of {command.client_order_id}: {report.status} at {report.price} "
               f"for {report.quantity}, expected open at {new_price} for {new_quantity}")

        await harness.trade_through(new_price)
        fills = await orders.wait_filled(command.client_order_id, new_quantity)
        expect(all(fill.last_price <= new_price for fill in fills),
               f"fills {[str(f.last_price) for f in fills]}: above the new limit {new_price}")


async def check_modify_unknown_order_is_rejected(harness: ExecutionHarness) -> None:
    """Modify of an order the venue does not know: OrderModifyRejected with a reason."""
    orders = Orders(harness, "nomodify")
    async with running(harness) as client:
        client_order_id = orders.new_id()
        price = harness.resting_price(OrderSide.BUY)
        await client.modify_order(
            orders.modify(client_order_id, price=price, quantity=harness.quantity), None
        )
        expect_reason(await orders.wait(OrderModifyRejected, client_order_id))
        expect(not orders.of(OrderUpdated, client_order_id),
               f"order {client_order_id}: updated though the venue never had it")


async def _check_rejected(harness: ExecutionHarness, orders: Orders, command: SubmitOrder) -> None:
    async with running(harness) as client:
        await client.submit_order(command)
        rejected = await orders.wait(OrderRejected, command.client_order_id)
        await harness.wait_settled()

        expect_reason(rejected)
        expect(not orders.of(OrderAccepted, command.client_order_id),
               f"order {command.client_order_id}: accepted as well as rejected")
        expect(command.client_order_id not in await orders.open_ids(),
               f"open_orders: lists the rejected order {command.client_order_id}")
        report = await client.order_status(
            instrument_id=orders.instrument_id, client_order_id=command.client_order_id,
            venue_order_id=None,
        )
        expect(report is None or report.status is OrderStatus.REJECTED,
               f"order_status of the rejected {command.client_order_id}: {report!r}")


async def check_reject_off_increment_price(harness: ExecutionHarness) -> None:
    """A price between two increments: OrderRejected with the venue's reason, nothing open."""
    orders = Orders(harness, "offtick")
    price = harness.resting_price(OrderSide.BUY) + harness.instrument.price_increment / 2
    await _check_rejected(harness, orders, orders.submit(OrderSide.BUY, price=price))


async def check_reject_zero_quantity(harness: ExecutionHarness) -> None:
    """A zero quantity: OrderRejected with the venue's reason, nothing open."""
    orders = Orders(harness, "zero")
    command = orders.submit(OrderSide.BUY, price=harness.resting_price(OrderSide.BUY),
                            quantity=Decimal(0))
    await _check_rejected(harness, orders, command)


async def check_reports_consistent_with_events(harness: ExecutionHarness) -> None:
    """open_orders, fills_since and order_status say what the delivered events say."""
    orders = Orders(harness, "reports")
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
        await orders.cancel_and_wait(partial.client_order_id)
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
        expect(expected_open == [resting.client_order_id],
               f"events: open orders {expected_open}, expected only {resting.client_order_id}")
        expect(sorted(await orders.open_ids()) == sorted(expected_open),
               f"open_orders: {await orders.open_ids()}, the events say {expected_open}")
        every = await client.open_orders()
        expect(resting.client_order_id in [r.client_order_id for r in every],
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
        expect(sorted(r.trade_id for r in reported) == sorted(f.trade_id for f in delivered),
               f"fills_since(0): trade ids {[r.trade_id for r in reported]}, the events "
               f"delivered {[f.trade_id for f in delivered]}")
        by_trade = {report.trade_id: report for report in reported}
        for fill in delivered:
            line = by_trade[fill.trade_id]
            expect((line.venue_order_id, line.side, line.last_quantity, line.last_price)
                   == (fill.venue_order_id, fill.side, fill.last_quantity, fill.last_price),
                   f"fills_since(0): trade {fill.trade_id} reported as {line!r}, "
                   f"delivered as {fill!r}")
        times = [report.ts_event for report in reported]
        expect(times == sorted(times), f"fills_since(0): not oldest first, {times}")
        last = max(fill.ts_event for fill in delivered)
        later = await client.fills_since(last + 1_000_000_000, orders.instrument_id)
        expect(not [r for r in later if r.trade_id in by_trade],
               "fills_since(a second after the last fill): lists earlier fills")

        for command in (resting, market, partial):
            fills = orders.of(OrderFilled, command.client_order_id)
            accepted = orders.of(OrderAccepted, command.client_order_id)[0]
            report = await orders.status(command.client_order_id)
            expect(report.filled_quantity == orders.filled(command.client_order_id),
                   f"order_status of {command.client_order_id}: filled "
                   f"{report.filled_quantity}, its fills add up to "
                   f"{orders.filled(command.client_order_id)}")
            if fills:
                expect_average(report, fills, harness.instrument.price_increment)
            for client_order_id, venue_order_id in ((command.client_order_id, None),
                                                    (None, accepted.venue_order_id)):
                alone = await client.order_status(
                    instrument_id=orders.instrument_id, client_order_id=client_order_id,
                    venue_order_id=venue_order_id,
                )
                expect(alone is not None and alone.venue_order_id == accepted.venue_order_id
                       and alone.status is report.status
                       and alone.filled_quantity == report.filled_quantity,
                       f"order_status by client_order_id {client_order_id} or venue_order_id "
                       f"{venue_order_id} alone: {alone!r}, by both: {report!r}")
        expect_status(await orders.status(partial.client_order_id), OrderStatus.CANCELED,
                      orders.filled(partial.client_order_id))

        await orders.cancel_and_wait(resting.client_order_id)


async def check_order_status_unknown_is_none(harness: ExecutionHarness) -> None:
    """order_status of a client order id the venue never saw is None."""
    orders = Orders(harness, "unknown")
    async with running(harness) as client:
        client_order_id = orders.new_id()
        report = await client.order_status(
            instrument_id=orders.instrument_id, client_order_id=client_order_id,
            venue_order_id=None,
        )
        expect(report is None, f"order_status of the unknown {client_order_id}: {report!r}")


async def check_duplicate_client_order_id_while_working(harness: ExecutionHarness) -> None:
    """The id of a working order sent again: one order, one acceptance, never a fill."""
    orders = Orders(harness, "dupwork")
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
        expect(len(orders.of(OrderAccepted, cid)) == 1,
               f"order {cid}: accepted {len(orders.of(OrderAccepted, cid))} times")
        expect(not orders.of(OrderFilled, cid),
               f"order {cid}: filled {orders.filled(cid)}, so the duplicate made an order")
        expect(await orders.open_ids() == [cid],
               f"open_orders: {await orders.open_ids()}, expected {cid} once")
        report = await orders.status(cid)
        expect((report.order_type, report.price, report.quantity)
               == (OrderType.LIMIT, first.price, first.quantity),
               f"order_status of {cid}: {report!r}, the duplicate changed the first order")

        await orders.cancel_and_wait(cid)


async def check_duplicate_client_order_id_after_fill(harness: ExecutionHarness) -> None:
    """The id of a filled order sent again: no second acceptance, never a second fill."""
    orders = Orders(harness, "dupfill")
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
        expect(len(orders.of(OrderAccepted, cid)) == 1,
               f"order {cid}: accepted {len(orders.of(OrderAccepted, cid))} times")
        expect(orders.filled(cid) == first.quantity,
               f"order {cid}: filled {orders.filled(cid)}, more than its {first.quantity}")
        expect(cid not in await orders.open_ids(),
               f"open_orders: lists {cid} again after it filled")
        expect_status(await orders.status(cid), OrderStatus.FILLED, first.quantity)


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
