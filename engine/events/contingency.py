"""Order lists (OCO, OTO, brackets): the commands that place them and what becomes of them.

A strategy sends `SubmitOrderList` to the contingency actor (`contingency.execute`), which
sends each order on to risk like any other order once its turn comes, and publishes the
list's own news on `events.order_list.<strategy_id>`. The orders' lifecycle events are
ordinary order events (`engine.events.orders`): each order record carries its list id.
"""

from __future__ import annotations

from engine.domain.enums import ContingencyType
from engine.events.base import Command, Event
from engine.events.orders import SubmitOrder

__all__ = (
    "CancelOrderList",
    "ContingentOrderRefused",
    "OrderListClosed",
    "OrderListEvent",
    "SubmitOrderList",
)


class SubmitOrderList(
    Command, frozen=True, kw_only=True, gc=False, tag="command.submit_order_list"
):
    """Place orders that depend on each other (`ContingencyType` says how).

    `orders`: OCO, two or more orders of one instrument and quantity; OTO, the parent
    first, then its children; BRACKET, the entry, the stop-loss, the take-profit (the
    exits on the other side of the entry). The contingency actor sets each order's
    `contingency`, `order_list_id` and `parent_order_id`.
    """

    strategy_id: str
    order_list_id: str
    contingency: ContingencyType
    orders: tuple[SubmitOrder, ...]


class CancelOrderList(
    Command, frozen=True, kw_only=True, gc=False, tag="command.cancel_order_list"
):
    """Cancel every open order of a list and release none of its held orders."""

    strategy_id: str
    order_list_id: str


class OrderListEvent(Event, frozen=True, kw_only=True, gc=False):
    """News of one order list, for the strategy that placed it."""

    strategy_id: str
    order_list_id: str


class ContingentOrderRefused(
    OrderListEvent, frozen=True, kw_only=True, gc=False, tag="order_list.order_refused"
):
    """An order of a list was denied by risk or rejected by the venue.

    The order's own `OrderDenied`/`OrderRejected` reached the strategy first; this says
    what it means for the list (`consequence`), so a missing stop-loss is never silent.
    """

    client_order_id: str
    reason: str
    consequence: str


class OrderListClosed(
    OrderListEvent, frozen=True, kw_only=True, gc=False, tag="order_list.closed"
):
    """Every order of the list is done, or will never be released (`reason` says which)."""

    contingency: ContingencyType
    reason: str
