"""FakeTws: the gateway itself, its sessions and the controls a test drives it by."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from tests.fakes.tws import messages
from tests.fakes.tws.model import (
    ContractSpec,
    FakeExecution,
    FakeOrder,
    cash,
    default_contracts,
    fillable,
    positions,
    terms_error,
    validation_error,
)
from tests.fakes.tws.place_order import PlaceOrderRequest, parse_place_order
from tests.fakes.tws.wire import Field, encode_message, read_frame, read_greeting

__all__ = ("SUPPORTED_VERSIONS", "FakeTws", "Rejection")

logger = logging.getLogger(__name__)

SUPPORTED_VERSIONS = (157, 178)
_HOST = "127.0.0.1"
_START_TIME_S = 1_764_684_000  # 2025-12-02 14:00:00 UTC: executions count seconds from here
_PERM_ID_START = 1_000_001

MISSING_PARENT = 10006
"""The error a child whose parent id is unknown, cancelled (or was rejected) is refused with
(IB's "Missing parent order.")."""
_CANCELLED = "Order Canceled - reason:"
_OCA_CANCELLED = "Order Canceled - reason:OCA group member filled"
_PARENT_CANCELLED = "Order Canceled - reason:Parent order canceled"


@dataclass(frozen=True, slots=True)
class Rejection:
    """What the next order placed gets instead of acceptance: an error code and text."""

    code: int
    text: str


@dataclass(slots=True)
class _Session:
    client_id: int
    writer: asyncio.StreamWriter
    market_data: dict[int, int] = field(default_factory=dict)  # reqId -> conId
    positions: bool = False  # subscribed by reqPositions: updates follow executions
    realtime_bars: dict[int, int] = field(default_factory=dict)


class FakeTws:
    """A TWS/IB Gateway on 127.0.0.1 speaking the socket protocol at one server version.

    Args:
        server_version: what the handshake answers (157 or 178).
        account: the one managed account.
        contracts: what contract details know (default: a stock, an FX pair, a future).
        commission_per_unit: commission of each execution per unit traded.
        minimum_commission: the least commission of one execution.
    """

    def __init__(
        self,
        *,
        server_version: int = 178,
        account: str = "DU1234567",
        contracts: list[ContractSpec] | None = None,
        commission_per_unit: Decimal = Decimal("0.005"),
        minimum_commission: Decimal = Decimal("1.00"),
    ) -> None:
        if server_version not in SUPPORTED_VERSIONS:
            raise ValueError(f"server_version {server_version}: one of {SUPPORTED_VERSIONS}")
        self.server_version = server_version
        self.account = account
        self.contracts = list(default_contracts() if contracts is None else contracts)
        self.commission_per_unit = commission_per_unit
        self.minimum_commission = minimum_commission
        self.starting_cash = Decimal("100000.00")
        self.port = 0
        self.orders: dict[int, FakeOrder] = {}  # by permId, in placement order
        self.executions: list[FakeExecution] = []
        self.historical_bars: dict[int, list[tuple[int, float, float, float, float, float]]] = {}
        self.requests: list[list[str]] = []  # every request received, for assertions
        self.requests_by_client: dict[int, list[list[str]]] = {}
        self.on_request: Callable[[list[str]], None] | None = None  # called as each arrives
        self.connections = 0
        self.unreadable: list[str] = []  # requests the fake could not read (its own bug)
        self.reject_next: Rejection | None = None
        self.hold_commissions = False
        self._held: list[FakeExecution] = []
        self._sessions: list[_Session] = []
        self._server: asyncio.Server | None = None
        self._perm_ids = itertools.count(_PERM_ID_START)
        self._exec_count = itertools.count(1)
        self._time_s = _START_TIME_S
        self._changed = asyncio.Event()
        self._handlers: set[asyncio.Task[None]] = set()

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1 (the same port again after `refuse`)."""
        self._server = await asyncio.start_server(self._serve, _HOST, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening, drop every session and wait for their handlers to end."""
        self.drop_connections()
        await self._stop_listening()
        # Closed sockets end the handlers (end of stream); cancelling them instead makes
        # asyncio's stream callback log a CancelledError.
        await asyncio.gather(*list(self._handlers), return_exceptions=True)

    async def __aenter__(self) -> FakeTws:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    # -- controls ---------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return _HOST

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    def subscriber_count(self, con_id: int, kind: str = "market_data") -> int:
        """How many streams of `kind` ("market_data", "realtime_bars") of `con_id` are open."""
        return len(self._subscribers(con_id, kind))

    def drop_connections(self) -> None:
        """Close every client's socket at once, as a gateway restart does."""
        for session in self._sessions:
            session.writer.close()
        self._sessions.clear()

    async def refuse_connections(self) -> None:
        """Stop listening: connection attempts are refused until `accept_connections`."""
        await self._stop_listening()

    async def accept_connections(self) -> None:
        """Listen again on the same port."""
        if self._server is None:
            await self.start()

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        """Return once `condition()` holds; it is tested after every request and change.

        Raises:
            AssertionError: the fake met a request it could not read: what the test waits
                for would never come, so fail now instead of at the test's timeout.
        """
        while not condition():
            if self.unreadable:
                raise AssertionError(f"fake TWS could not read: {self.unreadable[0]}")
            self._changed.clear()
            await self._changed.wait()

    def order_by_ref(self, order_ref: str) -> FakeOrder:
        """The order placed with `order_ref` (the adapter's client order id)."""
        for order in self.orders.values():
            if order.order_ref == order_ref:
                return order
        raise KeyError(f"order_ref {order_ref!r}: no such order")

    def working_orders(self) -> list[FakeOrder]:
        """Open orders (inactive children too, held ones not): what reqOpenOrders lists."""
        return [order for order in self.orders.values() if order.is_working]

    def held_orders(self) -> list[FakeOrder]:
        """Orders placed with transmit False and not transmitted yet."""
        return [order for order in self.orders.values() if order.held]

    def children_of(self, order: FakeOrder) -> list[FakeOrder]:
        """The orders attached to `order` (its parentId), in the order they were placed."""
        return [child for child in self.orders.values()
                if order.order_id and child.parent_id == order.order_id
                and child.client_id == order.client_id]

    @property
    def time_s(self) -> int:
        """The gateway's clock (execution times), in epoch seconds."""
        return self._time_s

    def advance(self, seconds: int) -> None:
        """Move the gateway's clock (execution times) forward."""
        self._time_s += seconds

    def push_quote(self, con_id: int, bid: Decimal, ask: Decimal, bid_size: Decimal,
                   ask_size: Decimal) -> None:
        """Send bid and ask (price with size) to every market data subscriber of `con_id`."""
        for session, req_id in self._subscribers(con_id, "market_data"):
            self._send(session, messages.tick_price(req_id, 1, bid, bid_size))
            self._send(session, messages.tick_price(req_id, 2, ask, ask_size))

    def push_trade(self, con_id: int, price: Decimal, size: Decimal) -> None:
        """Send a last-trade tick (price with size) to every subscriber of `con_id`."""
        for session, req_id in self._subscribers(con_id, "market_data"):
            self._send(session, messages.tick_price(req_id, 4, price, size))

    def push_raw(self, con_id: int, fields: list[Field]) -> None:
        """Send `fields` with the subscriber's reqId in place of "{req_id}" (bad input tests)."""
        for session, req_id in self._subscribers(con_id, "market_data"):
            self._send(session, [req_id if f == "{req_id}" else f for f in fields])

    def push_bar(self, con_id: int, time_s: int,
                 bar: tuple[float, float, float, float, float]) -> None:
        """Send a 5-second real-time bar starting at `time_s` to every subscriber."""
        for session, req_id in self._subscribers(con_id, "realtime_bars"):
            self._send(session, messages.realtime_bar(req_id, time_s, bar))

    def place_by_hand(self, con_id: int, action: str, quantity: Decimal,
                      limit_price: Decimal) -> FakeOrder:
        """Place a limit order as someone at TWS would, not through the API: client id 0,
        order id 0 (TWS binds no API id to a manual order) and no orderRef. Only a
        reqAllOpenOrders (or a master client) sees it."""
        [spec] = [spec for spec in self.contracts if spec.con_id == con_id]
        order = FakeOrder(
            order_id=0, client_id=0, perm_id=next(self._perm_ids), contract=spec,
            action=action, quantity=quantity, order_type="LMT", limit_price=limit_price,
            aux_price=None, tif="GTC", account=self.account, order_ref="",
        )
        self.orders[order.perm_id] = order
        self._notify()
        return order

    def trade_through(self, con_id: int, price: Decimal,
                      max_quantity: Decimal | None = None) -> int:
        """Trade the market of `con_id` at `price`: working orders at it or better fill.

        Market orders fill at `price`, limits that `price` reaches fill at `price` (their
        limit or better), stops and if-touched orders trigger when `price` reaches them,
        trailing stops ratchet with it (see `model.fillable`). Each order fills at most
        `max_quantity` when given. Only orders active before this trade take part: the
        children a parent's fill activates, or OCA members its fill cancels or reduces,
        see only the next trade. Returns how many executions were made.
        """
        made = 0
        candidates = [order for order in self.orders.values()
                      if order.is_active and order.contract.con_id == con_id]
        for order in candidates:
            if not order.is_active or not fillable(order, price):
                continue
            quantity = order.remaining if max_quantity is None else min(
                order.remaining, max_quantity)
            self.fill(order, quantity, price)
            made += 1
        return made

    def fill(self, order: FakeOrder, quantity: Decimal, price: Decimal) -> FakeExecution:
        """Execute `quantity` of `order` at `price`: execDetails, orderStatus, commission.

        Then the fill's consequences: its OCA group's other members are cancelled or
        reduced, and a parent filled completely activates its children.
        """
        if not order.is_active or not 0 < quantity <= order.remaining:
            raise ValueError(f"fill of {quantity} of order {order.order_id}: "
                             f"{order.status} with {order.remaining} remaining")
        self._time_s += 1
        order.filled += quantity
        order.notional += quantity * price
        if order.remaining == 0:
            order.status = "Filled"
        commission = max(self.minimum_commission, quantity * self.commission_per_unit)
        execution = FakeExecution(
            exec_id=f"{order.perm_id:08x}.{next(self._exec_count):04d}.01",
            order=order, shares=quantity, price=price, time_s=self._time_s,
            cumulative=order.filled, average=order.average_price, commission=commission,
            liquidity=2 if order.order_type == "MKT" else 1,
        )
        order.executions.append(execution)
        self.executions.append(execution)
        session = self._session_of(order.client_id)
        if session is not None:
            self._send(session, messages.exec_details(self.server_version, -1, execution,
                                                      self.account))
            self._send(session, messages.order_status(order, price))
            if self.hold_commissions:
                self._held.append(execution)
            else:
                self._send(session, messages.commission_report(execution))
        for subscriber in self._sessions:
            for spec, quantity, cost in positions(self.executions):
                if subscriber.positions and spec.con_id == order.contract.con_id:
                    self._send(subscriber, messages.position(self.account, spec, quantity, cost))
        self._apply_oca(order, execution.shares)
        if order.status == "Filled":
            self._activate_children(order)
        self._notify()
        return execution

    def release_commissions(self) -> None:
        """Send the commission reports held back while `hold_commissions` was set."""
        held, self._held = self._held, []
        for execution in held:
            session = self._session_of(execution.order.client_id)
            if session is not None:
                self._send(session, messages.commission_report(execution))

    def send_error(self, order: FakeOrder, code: int, text: str) -> None:
        """Send error `code` about `order` to the client that placed it (state unchanged)."""
        session = self._session_of(order.client_id)
        if session is not None:
            self._send(session, messages.error(self.server_version, order.order_id, code, text))

    def cancel_by_gateway(self, order: FakeOrder, code: int = 202,
                          text: str = _CANCELLED) -> None:
        """Cancel an open order from the gateway's side (a DAY order at the close, say);
        its children still waiting for it go with it."""
        self._cancel(order, code, text)

    # -- serving ----------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        session: _Session | None = None
        try:
            await read_greeting(reader)
            writer.write(encode_message([self.server_version, "20261202 14:00:00 UTC"]))
            start = await read_frame(reader)
            if start[:1] != ["71"]:
                raise ValueError(f"first request {start!r}: expected startApi (71)")
            session = _Session(client_id=int(start[2]), writer=writer)
            if self._session_of(session.client_id) is not None:
                self._send(session, messages.error(self.server_version, -1, 326,
                                                   "Unable to connect as the client id "
                                                   "is already in use."))
                return
            self._sessions.append(session)
            self._send(session, [15, 1, self.account])
            next_id = max((o.order_id for o in self.orders.values()
                           if o.client_id == session.client_id), default=0) + 1
            self._send(session, [9, 1, next_id])
            for code, text in ((2104, "Market data farm connection is OK:usfarm"),
                               (2106, "HMDS data farm connection is OK:ushmds")):
                self._send(session, messages.error(self.server_version, -1, code, text))
            self._notify()
            while True:
                fields = await read_frame(reader)
                self.requests.append(fields)
                self.requests_by_client.setdefault(session.client_id, []).append(fields)
                if self.on_request is not None:
                    self.on_request(fields)
                self._handle(session, fields)
                self._notify()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if session is not None and session in self._sessions:
                self._sessions.remove(session)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._notify()

    def _handle(self, session: _Session, fields: list[str]) -> None:
        message_id = int(fields[0])
        version = self.server_version
        if message_id == 61:  # reqPositions: the positions, then an update after each fill
            session.positions = True
            for spec, quantity, cost in positions(self.executions):
                self._send(session, messages.position(self.account, spec, quantity, cost))
            self._send(session, [62, 1])
        elif message_id in (5, 16):  # reqOpenOrders, reqAllOpenOrders
            for order in self.working_orders():
                if message_id == 16 or order.client_id == session.client_id:
                    self._send(session, messages.open_order(version, order))
                    self._send(session, messages.order_status(order))
            self._send(session, [53, 1])
        elif message_id == 99:  # reqCompletedOrders: every closed order, of any client
            for order in self.orders.values():
                if order.is_done:
                    self._send(session, messages.completed_order(version, order))
            self._send(session, [102])
        elif message_id == 6:  # reqAccountUpdates
            if fields[2] == "1":
                money = f"{cash(self.starting_cash, self.executions):.2f}"
                for key, value in (("NetLiquidation", money), ("TotalCashValue", money),
                                   ("AvailableFunds", money)):
                    self._send(session, [6, 2, key, value, "USD", self.account])
                self._send(session, [54, 1, self.account])
        elif message_id == 76:  # reqAccountUpdatesMulti
            self._send(session, [74, 1, int(fields[2])])
        elif message_id == 7:  # reqExecutions
            req_id = int(fields[2])
            for execution in self.executions:
                self._send(session, messages.exec_details(version, req_id, execution,
                                                          self.account))
                self._send(session, messages.commission_report(execution))
            self._send(session, messages.exec_details_end(req_id))
        elif message_id == 9:  # reqContractDetails
            req_id = int(fields[2])
            for spec in self.contracts:
                if spec.matches(fields[3:15]):
                    self._send(session, messages.contract_details(version, req_id, spec))
            self._send(session, messages.contract_details_end(req_id))
        elif message_id == 1:  # reqMktData
            req_id, spec = int(fields[2]), self._spec(fields[3:15])
            if spec is None:
                self._send(session, messages.error(version, req_id, 200,
                                                   "No security definition has been found "
                                                   "for the request"))
            else:
                session.market_data[req_id] = spec.con_id
        elif message_id == 2:  # cancelMktData
            session.market_data.pop(int(fields[2]), None)
        elif message_id == 50:  # reqRealTimeBars
            req_id, spec = int(fields[2]), self._spec(fields[3:15])
            if spec is not None:
                session.realtime_bars[req_id] = spec.con_id
        elif message_id == 51:  # cancelRealTimeBars
            session.realtime_bars.pop(int(fields[2]), None)
        elif message_id == 20:  # reqHistoricalData
            req_id, spec = int(fields[1]), self._spec(fields[2:14])
            bars = [] if spec is None else self.historical_bars.get(spec.con_id, [])
            self._send(session, messages.historical_data(req_id, bars))
        elif message_id == 3:  # placeOrder
            self._place(session, fields)
        elif message_id == 4:  # cancelOrder
            self._cancel_request(session, int(fields[2]))
        elif message_id == 49:  # reqCurrentTime: also a barrier, answered after all before it
            self._send(session, [49, 1, self._time_s])
        elif message_id == 8:  # reqIds
            self._send(session, [9, 1, max((o.order_id for o in self.orders.values()),
                                           default=0) + 1])
        else:
            logger.debug("fake TWS: request %s not answered", message_id)

    # -- orders -----------------------------------------------------------------------------

    def _place(self, session: _Session, fields: list[str]) -> None:
        version = self.server_version
        try:
            request = parse_place_order(version, fields)
        except ValueError as exc:  # the fake misreads ib_async: make it loud, not a hang
            logger.error("fake TWS: placeOrder %s unreadable: %s", fields[1:2], exc)
            self.unreadable.append(f"placeOrder {fields[1:2]}: {exc}")
            self._send(session, messages.error(version, int(fields[1]), 321,
                                               f"Error validating request: {exc}"))
            return
        order_id = request.order_id
        spec = self._spec(request.contract_fields)
        existing = self._order_of(session.client_id, order_id)
        if spec is None:
            self._send(session, messages.error(version, order_id, 200,
                                               "No security definition has been found for "
                                               "the request"))
            return
        problem = validation_error(
            spec, request.quantity, request.limit_price,
            # a trailing stop's auxPrice is its offset amount: a price too, on the tick
            request.aux_price, request.trail_stop, request.limit_offset,
        ) or terms_error(request.order_type, request.limit_price, request.aux_price,
                         request.trailing_percent, request.limit_offset)
        if problem is None and existing is None and self.reject_next is not None:
            problem, self.reject_next = (self.reject_next.code, self.reject_next.text), None
        if problem is not None:
            code, text = problem
            self._send(session, messages.error(version, order_id, code, text))
            return
        if existing is not None:
            self._modify(session, existing, request)
            return
        parent = self._order_of(session.client_id, request.parent_id) if (
            request.parent_id) else None
        if request.parent_id and (parent is None or parent.status == "Cancelled"):
            self._send(session, messages.error(version, order_id, MISSING_PARENT,
                                               "Missing parent order."))
            return
        order = FakeOrder(
            order_id=order_id, client_id=session.client_id, perm_id=next(self._perm_ids),
            contract=spec, action=request.action, quantity=request.quantity,
            order_type=request.order_type, limit_price=request.limit_price,
            aux_price=request.aux_price, tif=request.tif,
            account=request.account or self.account, order_ref=request.order_ref,
            status="PendingSubmit", held=True, parent_id=request.parent_id,
            parent_perm_id=parent.perm_id if parent is not None else 0,
            oca_group=request.oca_group, oca_type=request.oca_type,
            trail_stop=request.trail_stop, trailing_percent=request.trailing_percent,
            limit_offset=request.limit_offset,
        )
        self.orders[order.perm_id] = order
        if request.transmit:
            self._transmit(order)
        # else held at the gateway (TWS keeps an untransmitted order to itself): the client
        # hears nothing of it until an order of its family is placed with transmit True.

    def _modify(self, session: _Session, order: FakeOrder, request: PlaceOrderRequest) -> None:
        """A placeOrder again with an order's id: new size and prices; a held order placed
        again with transmit True is transmitted by it (with its held family)."""
        if order.is_done:
            self._send(session, messages.error(self.server_version, order.order_id, 104,
                                               "Can't modify a filled order."))
            return
        order.quantity, order.limit_price, order.aux_price = (
            request.quantity, request.limit_price, request.aux_price)
        order.trailing_percent, order.limit_offset = (
            request.trailing_percent, request.limit_offset)
        if request.trail_stop is not None:
            order.trail_stop = request.trail_stop
        if order.held:
            if request.transmit:
                self._transmit(order)
            return
        self._send(session, messages.open_order(self.server_version, order))
        self._send(session, messages.order_status(order))

    def _transmit(self, order: FakeOrder) -> None:
        """Transmit `order` with its family: its held ancestors (the topmost first) and then
        every held descendant of that one, in the order they were placed. Each becomes
        working: Submitted, or PreSubmitted while its parent has not filled."""
        root = order
        while (parent := self._parent_of(root)) is not None and parent.held:
            root = parent
        family = [root] + [other for other in self.orders.values()
                           if other.held and other is not root and self._descends(other, root)]
        session = self._session_of(order.client_id)
        for member in family:
            parent = self._parent_of(member)
            member.held = False
            member.awaiting_parent = parent is not None and parent.status != "Filled"
            member.status = "PreSubmitted" if member.awaiting_parent else "Submitted"
            if session is not None:
                self._send(session, messages.open_order(self.server_version, member))
                self._send(session, messages.order_status(member))

    def _activate_children(self, parent: FakeOrder) -> None:
        """The parent filled completely: its waiting children start working."""
        session = self._session_of(parent.client_id)
        for child in self.children_of(parent):
            if child.awaiting_parent and child.is_working:
                child.awaiting_parent = False
                child.status = "Submitted"
                if session is not None:
                    self._send(session, messages.open_order(self.server_version, child))
                    self._send(session, messages.order_status(child))

    def _oca_members(self, order: FakeOrder) -> tuple[list[FakeOrder], int]:
        """The other open members of `order`'s OCA group and the group's ocaType.

        An explicit group is every order of the account with the same ocaGroup. Children
        of one parent placed without an ocaGroup form an implicit type-1 group, as IB
        treats a bracket's take-profit and stop-loss. Held orders are not members yet.
        """
        if order.oca_group:
            members = [other for other in self.orders.values()
                       if other.account == order.account and other.oca_group == order.oca_group]
            oca_type = order.effective_oca_type
        elif order.parent_id:
            members = [other for other in self.orders.values()
                       if other.client_id == order.client_id
                       and other.parent_id == order.parent_id and not other.oca_group]
            oca_type = 1
        else:
            return [], 0
        return [other for other in members if other is not order and other.is_working], oca_type

    def _apply_oca(self, order: FakeOrder, shares: Decimal) -> None:
        """`order` filled `shares`: type 1 cancels the rest of its group; types 2 and 3
        (IB's "reduce", with and without overfill block: the fake does not tell them apart)
        take `shares` off each other member's size, cancelling one left with nothing."""
        members, oca_type = self._oca_members(order)
        for member in members:
            if not member.is_working:  # cancelled meanwhile, as a child of a cancelled one
                continue
            if oca_type == 1:
                self._cancel(member, 202, _OCA_CANCELLED)
                continue
            member.quantity = max(member.filled, member.quantity - shares)
            if member.remaining == 0:
                self._cancel(member, 202, _OCA_CANCELLED)
                continue
            session = self._session_of(member.client_id)
            if session is not None:
                self._send(session, messages.open_order(self.server_version, member))
                self._send(session, messages.order_status(member))

    def _cancel_request(self, session: _Session, order_id: int) -> None:
        order = self._order_of(session.client_id, order_id)
        if order is None or order.is_done:
            self._send(session, messages.error(
                self.server_version, order_id, 10147,
                f"OrderId {order_id} that needs to be cancelled is not found."))
            return
        self._cancel(order, 202, _CANCELLED)

    def _cancel(self, order: FakeOrder, code: int, text: str) -> None:
        """Cancel `order` (open or held) and, with it, its children not yet working on
        their own: held ones and those still waiting for it to fill."""
        order.status, order.held = "Cancelled", False
        session = self._session_of(order.client_id)
        if session is not None:
            self._send(session, messages.order_status(order))
            self._send(session, messages.error(self.server_version, order.order_id, code, text))
        for child in self.children_of(order):
            if child.held or child.awaiting_parent:
                self._cancel(child, 202, _PARENT_CANCELLED)
        self._notify()

    # -- helpers ----------------------------------------------------------------------------

    def _spec(self, contract_fields: list[str]) -> ContractSpec | None:
        found = [spec for spec in self.contracts if spec.matches(contract_fields)]
        return found[0] if len(found) == 1 else None

    def _parent_of(self, order: FakeOrder) -> FakeOrder | None:
        return self._order_of(order.client_id, order.parent_id) if order.parent_id else None

    def _descends(self, order: FakeOrder, ancestor: FakeOrder) -> bool:
        parent = self._parent_of(order)
        while parent is not None:
            if parent is ancestor:
                return True
            parent = self._parent_of(parent)
        return False

    def _order_of(self, client_id: int, order_id: int) -> FakeOrder | None:
        for order in self.orders.values():
            if order.client_id == client_id and order.order_id == order_id:
                return order
        return None

    def _session_of(self, client_id: int) -> _Session | None:
        for session in self._sessions:
            if session.client_id == client_id:
                return session
        return None

    def _subscribers(self, con_id: int, kind: str) -> list[tuple[_Session, int]]:
        found = []
        for session in self._sessions:
            table: dict[int, int] = getattr(session, kind)
            found += [(session, req_id) for req_id, con in table.items() if con == con_id]
        return found

    def _send(self, session: _Session, fields: list[Field]) -> None:
        if not session.writer.is_closing():
            session.writer.write(encode_message(fields))

    def _notify(self) -> None:
        self._changed.set()
