"""The execution client's own record of its orders, indexed the three ways IB names them.

ib_async's Trade objects last one session: after a reconnect the gateway's open orders
come back as new objects. An `OrderRecord` outlives them; `OrderRecords` finds the
record of any Trade or execution by permId (stable across sessions and client ids),
by order id (unique per client id) or by orderRef (the client order id, what survives
a restart of this process) and re-keys it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypedDict

from ib_async import Contract, Fill, Order, Trade

from adapters.ibkr.contracts import QualifiedContract
from engine.domain.enums import OrderStatus
from engine.domain.reports import OrderStatusReport
from engine.events.orders import CancelOrder, ModifyOrder, SubmitOrder

__all__ = ("OrderIds", "OrderRecord", "OrderRecords")


class OrderIds(TypedDict):
    """The ids every order event of a record carries."""

    strategy_id: str
    client_order_id: str
    instrument_id: str


@dataclass(slots=True)
class OrderRecord:
    """What the client knows of one order, across ib_async sessions.

    `order` is the ib_async order object of the current session (what a cancel or modify
    must send); `quantity`, `price` and `trigger_price` are the terms now (after
    modifies); `filled` and `notional` add up the fills delivered.
    """

    command: SubmitOrder
    order_id: int
    contract: Contract
    order: Order
    quantity: Decimal
    price: Decimal | None
    trigger_price: Decimal | None
    perm_id: int = 0
    accepted: bool = False
    status: OrderStatus = OrderStatus.SUBMITTED
    filled: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)
    reason: str = ""
    pending_cancel: CancelOrder | None = None
    pending_modify: ModifyOrder | None = None
    held: bool = False
    """Placed with transmit off: the gateway holds it, not working, until the last order
    of its bracket transmits the group (a cancel may still drop it; nothing else)."""
    attached: list[OrderRecord] = field(default_factory=list)
    """A native bracket entry's exits placed so far (transmitted with the second)."""

    @property
    def venue_order_id(self) -> str:
        return str(self.perm_id)

    @property
    def closed(self) -> bool:
        return self.status.is_closed

    @property
    def ids(self) -> OrderIds:
        command = self.command
        return {"strategy_id": command.strategy_id, "client_order_id": command.client_order_id,
                "instrument_id": command.instrument_id}

    @classmethod
    def adopted(cls, trade: Trade, report: OrderStatusReport, client_order_id: str,
                qualified: QualifiedContract) -> OrderRecord:
        """The record of an order the gateway works that this client did not place (an
        earlier run's, after a restart), as the gateway reports it; no fills added.

        Its strategy id is unknown here (empty: the order manager knows the order by its
        client id and sets it).
        """
        submit = SubmitOrder(
            strategy_id="", client_order_id=client_order_id,
            instrument_id=report.instrument_id, side=report.side,
            order_type=report.order_type, quantity=report.quantity, price=report.price,
            trigger_price=report.trigger_price, time_in_force=report.time_in_force,
            ts_event=0, ts_init=0,
        )
        order = trade.order
        return cls(command=submit, order_id=order.orderId, contract=qualified.contract,
                   order=order, quantity=report.quantity, price=report.price,
                   trigger_price=report.trigger_price, perm_id=order.permId, accepted=True,
                   status=report.status)

    def add_fill(self, quantity: Decimal, price: Decimal) -> None:
        self.filled += quantity
        self.notional += quantity * price

    def close(self, status: OrderStatus) -> None:
        """Closed: nothing pending any more."""
        self.status = status
        self.pending_cancel = self.pending_modify = None


class OrderRecords:
    """The records of one client (client id `client_id`), by client order id, permId, order id."""

    def __init__(self, client_id: int) -> None:
        self._client_id = client_id
        self._by_client_order_id: dict[str, OrderRecord] = {}
        self._by_perm_id: dict[int, OrderRecord] = {}
        self._by_order_id: dict[int, OrderRecord] = {}

    def __contains__(self, client_order_id: str) -> bool:
        return client_order_id in self._by_client_order_id

    def __iter__(self) -> Iterator[OrderRecord]:
        return iter(list(self._by_client_order_id.values()))

    def add(self, record: OrderRecord) -> None:
        self._by_client_order_id[record.command.client_order_id] = record
        if record.perm_id:
            self._by_perm_id[record.perm_id] = record
        if record.order.clientId in (0, self._client_id) and record.order_id:
            self._by_order_id[record.order_id] = record

    def by_order_id(self, order_id: int) -> OrderRecord | None:
        return self._by_order_id.get(order_id)

    def find(self, client_order_id: str | None, venue_order_id: str | None
             ) -> OrderRecord | None:
        """By client order id first, else by venue order id (the permId)."""
        if client_order_id is not None and client_order_id in self._by_client_order_id:
            return self._by_client_order_id[client_order_id]
        if venue_order_id is not None and venue_order_id.isdigit():
            return self._by_perm_id.get(int(venue_order_id))
        return None

    def rekey(self, trade: Trade) -> OrderRecord | None:
        """The record of `trade` (by permId, order id, orderRef), re-keyed to it.

        The record takes the trade's order object when it is the same order id (a
        completed order has none) and indexes a permId it learns.
        """
        order = trade.order
        record = self._by_perm_id.get(order.permId) if order.permId else None
        if record is None and order.clientId == self._client_id:
            record = self._by_order_id.get(order.orderId)
        if record is None and order.orderRef:
            record = self._by_client_order_id.get(order.orderRef)
        if record is None:
            return None
        if order.permId and record.perm_id != order.permId:
            record.perm_id = order.permId
            self._by_perm_id[order.permId] = record
        if order.orderId and order.orderId == record.order_id:
            record.order = order
        return record

    def of_fill(self, fill: Fill) -> OrderRecord | None:
        """The record an execution belongs to (by permId, else by orderRef)."""
        execution = fill.execution
        record = self._by_perm_id.get(execution.permId)
        if record is None and execution.orderRef:
            record = self._by_client_order_id.get(execution.orderRef)
        return record
