"""IbkrExecutionClient: the execution-client port over TWS / IB Gateway (ib_async).

Orders
    A submit becomes an ib_async order whose `orderRef` is the client order id and whose
    order id comes from ib_async's one request counter (request ids and order ids share
    it, as the gateway requires). The venue order id is IB's permId: stable across
    reconnects and client ids, where the order id is only unique per client id. An
    order is accepted when the gateway first reports it working (openOrder or
    orderStatus PreSubmitted / Submitted).

Fills
    A fill is complete only when both its execDetails and its commissionReport have
    arrived (keyed by execId), never because a status says Filled: the OrderFilled then
    carries IB's commission. An execId already delivered is never delivered again, across
    reconnects, so a re-synced execution list cannot double a fill.

Errors
    ib_async turns most error codes on an order into status "Cancelled" (201 included);
    the client ignores statuses ib_async made up from an error (their log entry carries
    the code) and reads the code itself (`parsing.classify_error`): a notice changes
    nothing; 202 cancels; a refusal answers the cancel or modify in flight, else rejects
    an order not yet working (OrderRejected with IB's reason); on a working order only
    201 rejects, any other error leaves it to the gateway's order status.

Reconnects
    `IbkrConnection` reconnects with backoff; every time, `_resync` qualifies the
    contracts, re-keys the orders the gateway reports (new ib_async Trade objects) by
    permId, order id or orderRef, cancels those its completed orders say were cancelled
    meanwhile, delivers the fills of executions the stream missed while disconnected,
    then awaits `on_reconnected` (the node's reconciliation). Order state lives here,
    not in ib_async's per-session objects.

Queries answer from this client's records first (the orders it placed) and from the
gateway's open orders and executions for the rest (orders of other clients or of an
earlier run of this one, found by orderRef).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Final

import anyio
import msgspec
from anyio.abc import TaskStatus
from ib_async import IB, CommissionReport, Contract, Fill, Order, Trade
from ib_async.util import UNSET_DOUBLE

from adapters.ibkr.config import IbkrVenueConfig
from adapters.ibkr.connection import ConnectionStatistics, IbkrConnection
from adapters.ibkr.contracts import ContractMap, to_decimal
from adapters.ibkr.fills import FillLedger
from adapters.ibkr.orders import OrderRecord, OrderRecords
from adapters.ibkr.parsing import (
    WORKING_STATUSES,
    ErrorKind,
    classify_error,
    ib_order,
    set_trailing_terms,
)
from adapters.ibkr.reports import (
    account_report,
    fill_report,
    position_reports,
    record_report,
    trade_report,
)
from engine.domain.enums import (
    ALL_ORDER_TYPES,
    TRAILING_TYPES,
    ContingencyType,
    OrderStatus,
    OrderType,
)
from engine.domain.reports import (
    AccountReport,
    FillReport,
    OrderStatusReport,
    PositionReport,
)
from engine.errors import VenueUnavailable
from engine.events.base import Event
from engine.events.orders import (
    CancelOrder,
    ModifyOrder,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderModifyRejected,
    OrderRejected,
    OrderUpdated,
    SubmitOrder,
    command_rejected,
)
from engine.ports import EventSink

__all__ = ("IbkrExecutionClient", "IbkrExecutionStatistics")

logger = logging.getLogger(__name__)

_OCA_REDUCE_WITH_BLOCK: Final = 2
"""IB's ocaType 2: a fill shrinks the group's other orders by as much, one at a time."""

_REJECTED_CODE: Final = 201
_FINEST: Final = Decimal("0.00000001")
"""The increment of an instrument the gateway has not qualified (never for a fill)."""


class IbkrExecutionStatistics(msgspec.Struct, frozen=True, kw_only=True):
    connection: ConnectionStatistics
    orders_submitted: int
    orders_rejected: int
    duplicates_rejected: int
    fills: int
    fills_awaiting_commission: int
    duplicate_fills_ignored: int
    fills_recovered: int
    fills_malformed: int
    errors: int
    notices: int


class IbkrExecutionClient:
    """Order entry and reconciliation queries for one IB account (module docstring).

    Args:
        config: the venue entry (gateway, client id, account, contracts).
        sink: where order events go, in the order the gateway reported them.
        now_ns: the time events are stamped with (`ts_init`, and `ts_event` where IB
            gives none); the node passes its clock.
        connection: a connection to share (tests); default: one of its own.
    """

    def __init__(
        self,
        config: IbkrVenueConfig,
        sink: EventSink,
        *,
        now_ns: Callable[[], int] = time.time_ns,
        connection: IbkrConnection | None = None,
    ) -> None:
        self.config = config
        self._sink = sink
        self._now_ns = now_ns
        self.connection = connection or IbkrConnection(config.connection, name=config.venue)
        self.contracts = ContractMap(config.venue, tuple(config.contracts))
        self._native_lists = frozenset(ContingencyType(kind) for kind in config.native_order_lists)
        self._orders = OrderRecords(config.connection.client_id)
        self._ledger = FillLedger()
        self._submitted = self._rejected = self._duplicates = 0
        self._errors = self._notices = 0
        self.on_reconnected: Callable[[], Awaitable[object]] | None = None
        """Awaited after each reconnect's re-sync (not the first connect), before the
        client reports itself back: the execution bridge's `reconnected`, so the node
        reconciles the venue before another command leaves."""
        ib, listen = self.connection.ib, self.connection.listen
        listen(ib.openOrderEvent, self._on_open_order)
        listen(ib.orderStatusEvent, self._on_order_status)
        listen(ib.execDetailsEvent, self._on_exec_details)
        listen(ib.commissionReportEvent, self._on_commission_report)
        listen(ib.errorEvent, self._on_error)

    @property
    def venue(self) -> str:
        return self.config.venue

    @property
    def native_order_lists(self) -> frozenset[ContingencyType]:
        return self._native_lists

    def native_order_types(self, instrument_id: str) -> frozenset[OrderType]:
        return ALL_ORDER_TYPES  # each type is mapped to an IB order type (`orders`)

    @property
    def ib(self) -> IB:
        return self.connection.ib

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Connect (reconnecting with backoff), re-sync on every connect, until cancelled."""
        await self.connection.run(self._resync, task_status=task_status)

    def statistics(self) -> IbkrExecutionStatistics:
        fills = self._ledger.statistics()
        return IbkrExecutionStatistics(
            connection=self.connection.statistics(),
            orders_submitted=self._submitted, orders_rejected=self._rejected,
            duplicates_rejected=self._duplicates, fills=fills.fills,
            fills_awaiting_commission=fills.awaiting_commission,
            duplicate_fills_ignored=fills.duplicates_ignored, fills_recovered=fills.recovered,
            fills_malformed=fills.malformed,
            errors=self._errors, notices=self._notices,
        )

    # -- commands ----------------------------------------------------------------------------

    async def submit_order(self, command: SubmitOrder) -> None:
        """Place the order; its acceptance, rejection and fills arrive as events.

        Refused at once (OrderRejected, nothing sent) when the client order id was used
        here before or the instrument is not qualified.

        Raises:
            VenueUnavailable: not connected; nothing was sent (the execution bridge
                answers it with the rejection).
        """
        await anyio.lowlevel.checkpoint()
        self._require_connection()
        cid = command.client_order_id
        if cid in self._orders:
            self._duplicates += 1
            self._reject(command, f"client_order_id {cid!r}: already used at {self.venue}")
            return
        qualified = self.contracts.qualified(command.instrument_id)
        if qualified is None:
            self._reject(command, f"instrument {command.instrument_id}: no IB contract "
                         "(not configured, or the gateway did not qualify it)")
            return
        try:
            order = ib_order(command, account=self.connection.account,
                             price_increment=qualified.instrument.price_increment)
        except ValueError as error:
            self._reject(command, str(error))
            return
        parent = None
        if self._is_native_exit(command):
            parent = self._orders.find(command.parent_order_id, None)
            if parent is None or parent.closed or not parent.held:
                self._reject(command, f"bracket exit {cid}: its entry {command.parent_order_id}"
                             f" is not waiting at {self.venue} for its exits (refused, done or "
                             "never placed): not placed")
                return
        order.orderId = self.ib.client.getReqId()
        record = OrderRecord(
            command=command, order_id=order.orderId, contract=qualified.contract, order=order,
            quantity=command.quantity, price=command.price, trigger_price=command.trigger_price,
        )
        self._link(record, parent)
        self._orders.add(record)
        self._submitted += 1
        self.ib.placeOrder(qualified.contract, order)

    async def cancel_order(self, command: CancelOrder, venue_order_id: str | None) -> None:
        """Ask the gateway to cancel; an order it cannot have is refused at once.

        Raises:
            VenueUnavailable: not connected; nothing was sent.
        """
        await anyio.lowlevel.checkpoint()
        self._require_connection()
        record = self._find_or_adopt(command, venue_order_id)
        reason = self._cannot_change(record, command.client_order_id, cancel=True)
        if reason or record is None:
            self._deliver(command_rejected(OrderCancelRejected, command, reason,
                                           self._now_ns()))
            return
        record.pending_cancel = command
        self.ib.cancelOrder(record.order)

    async def modify_order(self, command: ModifyOrder, venue_order_id: str | None) -> None:
        """Amend price, trigger or quantity in place (IB modifies by order id).

        Raises:
            VenueUnavailable: not connected; nothing was sent.
        """
        await anyio.lowlevel.checkpoint()
        self._require_connection()
        record = self._find_or_adopt(command, venue_order_id)
        reason = self._cannot_change(record, command.client_order_id)
        if reason or record is None:
            self._deliver(command_rejected(OrderModifyRejected, command, reason,
                                           self._now_ns()))
            return
        order = record.order
        if command.trailing_offset is not None or command.limit_offset is not None:
            reason = self._retrail(record, command)
            if reason:
                self._deliver(command_rejected(OrderModifyRejected, command, reason,
                                               self._now_ns()))
                return
        if command.quantity is not None:
            order.totalQuantity = float(command.quantity)
        if command.price is not None:
            order.lmtPrice = float(command.price)
        if command.trigger_price is not None:
            order.auxPrice = float(command.trigger_price)
        record.pending_modify = command
        try:
            self.ib.placeOrder(record.contract, order)
        except AssertionError:
            # ib_async asserts its trade is not done; it takes some error codes on a live
            # order for a cancel (the adapter does not), so it may refuse a valid modify.
            record.pending_modify = None
            self._deliver(command_rejected(
                OrderModifyRejected, command,
                f"order {command.client_order_id}: ib_async holds it as done, not sent",
                self._now_ns()))

    # -- queries -----------------------------------------------------------------------------

    async def open_orders(self, instrument_id: str | None = None) -> list[OrderStatusReport]:
        """Orders working now: this client's, then the gateway's others (by permId).

        The others come from reqAllOpenOrders: the open orders ib_async synced on
        connect are only this client id's, so an order placed by hand at TWS (client id
        0) or by another API client would never be seen, nor adopted by reconciliation.
        """
        await anyio.lowlevel.checkpoint()
        reports = [self._record_report(r) for r in self._orders if not r.closed and r.accepted]
        known = {r.perm_id for r in self._orders}
        trades = await self.ib.reqAllOpenOrdersAsync() if self.connection.connected else []
        for trade in {t.order.permId: t for t in trades}.values():
            if trade.order.permId not in known and not trade.isDone():
                report = trade_report(self.venue, trade, self.contracts)
                if report is not None:
                    reports.append(report)
        return [r for r in reports if instrument_id in (None, r.instrument_id)]

    async def order_status(
        self, *, instrument_id: str, client_order_id: str | None, venue_order_id: str | None
    ) -> OrderStatusReport | None:
        """One order by client order id or permId; None when never accepted here.

        Raises:
            ValueError: neither id was given.
        """
        await anyio.lowlevel.checkpoint()
        if client_order_id is None and venue_order_id is None:
            raise ValueError("order_status: give client_order_id or venue_order_id")
        record = self._orders.find(client_order_id, venue_order_id)
        if record is not None:
            if not record.accepted or record.command.instrument_id != instrument_id:
                return None
            return self._record_report(record)
        for trade in self.ib.trades() if self.connection.connected else []:
            if (client_order_id is not None and trade.order.orderRef == client_order_id) or (
                    venue_order_id is not None and str(trade.order.permId) == venue_order_id):
                report = trade_report(self.venue, trade, self.contracts)
                if report is not None and report.instrument_id == instrument_id:
                    return report
        return None

    async def fills_since(self, ts_ns: int, instrument_id: str | None = None) -> list[FillReport]:
        """The gateway's executions at or after `ts_ns` with their commissions, oldest first.

        Raises:
            VenueUnavailable: not connected (the gateway is the only record of them).
        """
        self._require_connection()
        fills = await self.ib.reqExecutionsAsync()
        await self.ib.reqCurrentTimeAsync()  # commission reports follow the executions
        commissions = {f.execution.execId: f.commissionReport for f in self.ib.fills()}
        reports = []
        for fill in fills:
            record = self._orders.of_fill(fill)
            report = fill_report(self.venue, fill, commissions.get(fill.execution.execId),
                                 self.contracts,
                                 record.command.client_order_id if record else None)
            if report is not None and report.ts_event >= ts_ns and instrument_id in (
                    None, report.instrument_id):
                reports.append(report)
        return sorted(reports, key=lambda r: (r.ts_event, r.trade_id))

    async def account(self) -> AccountReport:
        """Cash by currency from the account updates; margin from the base currency."""
        await anyio.lowlevel.checkpoint()
        account = self.connection.account
        return account_report(self.venue, account, self.ib.accountValues(account),
                              self._now_ns())

    async def positions(self) -> list[PositionReport]:
        """Positions the gateway holds, for the configured instruments (by conId)."""
        await anyio.lowlevel.checkpoint()
        return position_reports(self.venue, self.ib.positions(self.connection.account or ""),
                                self.contracts, self._now_ns())

    # -- the gateway's stream ----------------------------------------------------------------

    def _on_open_order(self, trade: Trade) -> None:
        record = self._orders.rekey(trade)
        if record is None:
            return
        self._accept(record)  # openOrder: the gateway has it (permId set)
        if record.pending_modify is not None and not record.closed:
            self._updated(record, trade.order)
        elif record.accepted and not record.closed:
            self._resized(record, trade.order)

    def _on_order_status(self, trade: Trade) -> None:
        record = self._orders.rekey(trade)
        if record is None or (trade.log and trade.log[-1].errorCode):
            return  # not ours, or a status ib_async made up from an error code
        status = trade.orderStatus.status
        if status in WORKING_STATUSES or status == "Filled":
            self._accept(record)
        elif status in ("Cancelled", "ApiCancelled") and not record.closed:
            record.close(OrderStatus.CANCELED)
            self._deliver(OrderCanceled(**record.ids, ts_event=self._now_ns(),
                                        ts_init=self._now_ns()))

    def _on_exec_details(self, trade: Trade, fill: Fill) -> None:
        record = self._orders.rekey(trade)
        if record is None:
            return
        if fill.commissionReport.execId:
            self._fill(record, fill, fill.commissionReport)
        else:
            self._ledger.await_commission(fill.execution.execId)

    def _on_commission_report(self, trade: Trade, fill: Fill, report: CommissionReport) -> None:
        record = self._orders.rekey(trade)
        if record is not None:
            self._fill(record, fill, report)

    def _on_error(self, req_id: int, code: int, text: str, contract: Contract | None) -> None:
        kind = classify_error(code)
        if kind is ErrorKind.NOTICE:
            self._notices += 1
            return
        self._errors += 1
        record = self._orders.by_order_id(req_id)
        if record is None:
            return
        reason = f"IB error {code}: {text}"
        now = self._now_ns()
        if kind is ErrorKind.CANCELLED:
            if not record.closed:
                record.close(OrderStatus.CANCELED)
                self._deliver(OrderCanceled(**record.ids, ts_event=now, ts_init=now))
        elif record.pending_cancel is not None and not record.closed:
            cancel, record.pending_cancel = record.pending_cancel, None
            self._deliver(command_rejected(OrderCancelRejected, cancel, reason, now))
        elif record.pending_modify is not None and record.accepted and not record.closed:
            modify, record.pending_modify = record.pending_modify, None
            self._deliver(command_rejected(OrderModifyRejected, modify, reason, now))
        elif not record.closed and (not record.accepted or code == _REJECTED_CODE):
            # Any refusal before the order worked; 201 ("Order rejected") also after.
            record.reason = reason
            record.close(OrderStatus.REJECTED)
            self._rejected += 1
            self._deliver(OrderRejected(**record.ids, reason=reason, ts_event=now,
                                        ts_init=now))
        else:
            # On a working order, with nothing asked: the gateway's order status, not the
            # error, says whether it still works (ib_async would call it cancelled).
            logger.warning("%s: order %s: %s (left working)", self.venue,
                           record.command.client_order_id, reason)

    # -- re-sync -----------------------------------------------------------------------------

    async def _resync(self, ib: IB) -> None:
        """After every connect: contracts, orders re-keyed, fills missed while away."""
        await self.contracts.qualify(ib)
        client_id = self.connection.config.client_id
        for trade in ib.trades():
            record = self._orders.rekey(trade)
            if (record is None and trade.order.clientId == client_id and trade.order.orderRef
                    and trade.orderStatus.status in WORKING_STATUSES):
                record = self._adopt(trade, trade.order.orderRef)  # an earlier run's order
            if record is None:
                continue
            status = trade.orderStatus.status
            if status in WORKING_STATUSES:
                self._accept(record)
            elif status in ("Cancelled", "ApiCancelled") and not record.closed:
                # Closed while this client was away: a completed order says so.
                self._accept(record)
                record.close(OrderStatus.CANCELED)
                now = self._now_ns()
                self._deliver(OrderCanceled(**record.ids, ts_event=now, ts_init=now))
        recovered = sorted(ib.fills(), key=lambda f: (f.execution.time, f.execution.execId))
        for fill in recovered:
            record = self._orders.of_fill(fill)
            if record is not None and fill.commissionReport.execId:
                self._fill(record, fill, fill.commissionReport)
        if self.connection.statistics().connects > 1 and self.on_reconnected is not None:
            await self.on_reconnected()

    # -- records -----------------------------------------------------------------------------

    def _find_or_adopt(self, command: CancelOrder | ModifyOrder, venue_order_id: str | None
                       ) -> OrderRecord | None:
        """The record of the order a cancel or modify names, adopting one the gateway works
        but this client never placed (another client's, found by orderRef or permId)."""
        record = self._orders.find(command.client_order_id, venue_order_id)
        if record is None and self.connection.connected:
            for trade in self.ib.openTrades():
                order = trade.order
                if order.orderRef == command.client_order_id or (
                        venue_order_id is not None and str(order.permId) == venue_order_id):
                    record = self._adopt(trade, command.client_order_id)
                    break
        if record is not None and record.command.strategy_id != command.strategy_id:
            record.command = msgspec.structs.replace(record.command,
                                                     strategy_id=command.strategy_id)
        return record

    def _adopt(self, trade: Trade, client_order_id: str) -> OrderRecord | None:
        """Make a record of an order working at the gateway that this client did not place
        (an earlier run's under the same client id, after a restart).

        Its strategy id is unknown here (empty: the order manager knows the order by its
        client id and sets it). Its executions so far count as delivered: what they
        filled is the journal's and reconciliation's to settle, never a second fill.
        """
        report = trade_report(self.venue, trade, self.contracts)
        qualified = self.contracts.qualified(report.instrument_id) if report else None
        if report is None or qualified is None:
            return None
        record = OrderRecord.adopted(trade, report, client_order_id, qualified)
        instrument = qualified.instrument
        for fill in self.ib.fills():
            execution = fill.execution
            if execution.permId == record.perm_id:
                self._ledger.mark_delivered(execution.execId)
                record.add_fill(to_decimal(execution.shares, instrument.size_increment),
                                to_decimal(execution.price, instrument.price_increment))
        self._orders.add(record)
        logger.info("%s: adopted order %s (permId %s) from the gateway", self.venue,
                    client_order_id, record.perm_id)
        return record

    def _cannot_change(self, record: OrderRecord | None, client_order_id: str, *,
                       cancel: bool = False) -> str:
        if record is None:
            return f"order {client_order_id}: unknown at {self.venue}"
        if record.closed:
            return f"order {client_order_id}: already {record.status}"
        if record.held and cancel:
            return ""  # not transmitted: the gateway drops it (and its held exits)
        if record.held:
            return f"order {client_order_id}: held untransmitted until its bracket's exits came"
        if not record.accepted:
            return f"order {client_order_id}: not yet accepted by the gateway"
        return ""

    # -- venue-linked lists -------------------------------------------------------------------

    def _is_native_exit(self, command: SubmitOrder) -> bool:
        return (command.contingency is ContingencyType.BRACKET
                and command.parent_order_id is not None
                and ContingencyType.BRACKET in self._native_lists)

    def _link(self, record: OrderRecord, parent: OrderRecord | None) -> None:
        """Set IB's links on a native list's order (see `native_order_lists`).

        An OCO is one OCA group of type 2 (a fill shrinks the others by as much, with
        overfill protection: the engine's OCO rule). A bracket's entry is placed with
        transmit off; its exits are attached to it (parentId) in one such OCA group, and
        the second exit transmits all three, so the entry never works without them.
        """
        command, order = record.command, record.order
        kind = command.contingency
        if kind is None or command.order_list_id is None or kind not in self._native_lists:
            return
        if kind is ContingencyType.OCO:
            order.ocaGroup, order.ocaType = command.order_list_id, _OCA_REDUCE_WITH_BLOCK
        elif parent is None:  # a bracket's entry
            order.transmit, record.held = False, True
        else:
            order.parentId = parent.order_id
            order.ocaGroup, order.ocaType = command.order_list_id, _OCA_REDUCE_WITH_BLOCK
            parent.attached.append(record)
            if len(parent.attached) < 2:
                order.transmit, record.held = False, True
                return
            for held in (parent, *parent.attached):  # transmitted now: a modify sends as is
                held.order.transmit, held.held = True, False

    def _require_connection(self) -> None:
        if not self.connection.connected:
            raise VenueUnavailable(f"{self.venue}: not connected to the gateway, nothing sent")

    def _accept(self, record: OrderRecord) -> None:
        if record.accepted or record.closed or not record.perm_id:
            return
        record.accepted = True
        record.status = OrderStatus.ACCEPTED
        now = self._now_ns()
        self._deliver(OrderAccepted(**record.ids, venue_order_id=record.venue_order_id,
                                    ts_event=now, ts_init=now))

    def _updated(self, record: OrderRecord, order: Order) -> None:
        command = record.pending_modify
        if command is None:
            return
        record.pending_modify = None
        increments = self.contracts.qualified(record.command.instrument_id)
        price_increment = increments.instrument.price_increment if increments else _FINEST
        size_increment = increments.instrument.size_increment if increments else Decimal(1)
        record.quantity = to_decimal(order.totalQuantity, size_increment)
        if command.price is not None:
            record.price = to_decimal(order.lmtPrice, price_increment)
        if command.trigger_price is not None:
            record.trigger_price = to_decimal(order.auxPrice, price_increment)
        if command.trailing_offset is not None or command.limit_offset is not None:
            record.command = _retrailed(record.command, command)  # for the next modify
        self._tell_updated(record, command)

    def _tell_updated(self, record: OrderRecord, modify: ModifyOrder | None = None) -> None:
        """OrderUpdated with the record's terms now (and the offsets `modify` changed)."""
        now = self._now_ns()
        self._deliver(OrderUpdated(
            **record.ids, quantity=record.quantity, price=record.price,
            trigger_price=record.trigger_price, venue_order_id=record.venue_order_id,
            trailing_offset=None if modify is None else modify.trailing_offset,
            limit_offset=None if modify is None else modify.limit_offset,
            ts_event=now, ts_init=now))

    def _retrail(self, record: OrderRecord, command: ModifyOrder) -> str:
        """Put a modify's new trailing offsets on the record's IB order; why not, or "".

        The first trigger (`trailStopPrice`) is not sent again: the gateway keeps the stop
        it has trailed to and follows the market at the new distance from there.
        """
        submitted = record.command
        if submitted.order_type not in TRAILING_TYPES:
            return (f"trailing_offset: a {submitted.order_type} order takes no trailing "
                    "offsets")
        retrailed = msgspec.structs.replace(_retrailed(submitted, command), trigger_price=None)
        qualified = self.contracts.qualified(submitted.instrument_id)
        order = record.order
        kept = (order.auxPrice, order.trailingPercent, order.lmtPriceOffset)
        order.auxPrice = order.trailingPercent = UNSET_DOUBLE
        try:
            set_trailing_terms(order, retrailed,
                               qualified.instrument.price_increment if qualified else None)
        except ValueError as error:
            order.auxPrice, order.trailingPercent, order.lmtPriceOffset = kept
            return str(error)
        order.trailStopPrice = UNSET_DOUBLE
        return ""

    def _resized(self, record: OrderRecord, order: Order) -> None:
        """A size the gateway changed unasked (an OCA group of type 2 or 3 shrinks the
        other orders by each fill): told as OrderUpdated, so the books hold the venue's."""
        qualified = self.contracts.qualified(record.command.instrument_id)
        size_increment = qualified.instrument.size_increment if qualified else Decimal(1)
        quantity = to_decimal(order.totalQuantity, size_increment)
        if quantity == record.quantity or quantity <= 0:
            return
        record.quantity = quantity
        self._tell_updated(record)

    def _fill(self, record: OrderRecord, fill: Fill, commission: CommissionReport) -> None:
        if commission.execId and not self._ledger.is_delivered(fill.execution.execId):
            self._accept(record)  # a fill proves the gateway has the order
        qualified = self.contracts.qualified(record.command.instrument_id)
        if qualified is None:
            logger.error("fill %s of %s: instrument not qualified, not delivered",
                         fill.execution.execId, record.command.client_order_id)
            return
        filled = self._ledger.take(record, fill, commission, qualified.instrument,
                                   ts_init=self._now_ns(), recovered=not self.connection.synced)
        if filled is not None:
            self._deliver(filled)

    def _reject(self, command: SubmitOrder, reason: str) -> None:
        self._rejected += 1
        now = self._now_ns()
        self._deliver(OrderRejected(strategy_id=command.strategy_id,
                                    client_order_id=command.client_order_id,
                                    instrument_id=command.instrument_id, reason=reason,
                                    ts_event=now, ts_init=now))

    def _deliver(self, event: Event) -> None:
        self._sink(event)

    # -- reports -----------------------------------------------------------------------------

    def _record_report(self, record: OrderRecord) -> OrderStatusReport:
        qualified = self.contracts.qualified(record.command.instrument_id)
        increment = qualified.instrument.price_increment if qualified else _FINEST
        return record_report(self.venue, record, increment)


def _retrailed(submitted: SubmitOrder, modify: ModifyOrder) -> SubmitOrder:
    """The submit as it stands once `modify`'s trailing offsets apply."""
    trailing_offset, limit_offset = modify.offsets_over(submitted.trailing_offset,
                                                        submitted.limit_offset)
    return msgspec.structs.replace(submitted, trailing_offset=trailing_offset,
                                   limit_offset=limit_offset)
