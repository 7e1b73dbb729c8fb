"""Turn the simulated venue's records into the typed reports of the execution-client port.

Kept apart from the venue actor so the matching path stays about matching: reports are
built only when someone asks (reconciliation, the conformance suite), never per item.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from adapters.sim.fees import notional
from adapters.sim.records import ClosedOrder, WorkingOrder
from engine.domain.money import ZERO
from engine.domain.reports import FillReport, OrderStatusReport
from engine.events.fills import OrderFilled

__all__ = ("fill_report", "order_status_report")


def order_status_report(
    order: WorkingOrder | ClosedOrder, fills: Sequence[OrderFilled], venue: str
) -> OrderStatusReport:
    """Return `order` as the venue sees it now: status, terms after any modify, fills.

    `fills` are the order's fills: the average fill price is their exact notional over
    the filled quantity (in the default Decimal context), None until something filled,
    and the report's time is the later of the order's last change and its last fill.
    """
    command = order.command
    terms = order.terms
    filled = order.filled
    average: Decimal | None = None
    ts_event = order.updated_ns
    if fills:
        average = sum((notional(f.last_quantity, f.last_price) for f in fills), ZERO) / filled
        ts_event = max(ts_event, max(fill.ts_event for fill in fills))
    return OrderStatusReport(
        venue=venue,
        instrument_id=command.instrument_id,
        client_order_id=command.client_order_id,
        venue_order_id=order.venue_order_id,
        side=command.side,
        order_type=command.order_type,
        quantity=order.quantity,
        status=order.status,
        filled_quantity=filled,
        average_fill_price=average,
        price=terms.price,
        trigger_price=terms.trigger_price,
        time_in_force=command.time_in_force,
        reason=order.reason if isinstance(order, ClosedOrder) else "",
        ts_event=ts_event,
    )


def fill_report(fill: OrderFilled, venue: str) -> FillReport:
    """Return the trade-history line of `fill`: the same trade id, amounts and venue time."""
    return FillReport(
        venue=venue,
        instrument_id=fill.instrument_id,
        client_order_id=fill.client_order_id,
        venue_order_id=fill.venue_order_id,
        trade_id=fill.trade_id,
        side=fill.side,
        last_quantity=fill.last_quantity,
        last_price=fill.last_price,
        commission=fill.commission,
        commission_currency=fill.commission_currency,
        liquidity_side=fill.liquidity_side,
        ts_event=fill.ts_event,
    )
