"""The contingency actor: OCO, OTO and bracket order lists, held and linked in the engine.

A strategy sends `SubmitOrderList` to `CONTINGENCY_EXECUTE`. Every order of the list goes
on to risk (`RISK_EXECUTE`) like any order, when its turn comes; the order manager then
sends this actor the events of orders that carry a list id (`CONTINGENCY_PROCESS`), and
after each one the list is brought in line with what its orders have filled:

- OCO: the legs share one quantity Q. With F filled across the legs, each open leg is
  modified to its own filled quantity + (Q - F), and canceled once F reaches Q.
- OTO: the children are held until the parent fills; then each is released with
  min(its quantity, the parent's filled quantity), and grown by modify as the parent
  fills more (never beyond the quantity the strategy gave it; a child that completed
  short gets a follow-up order, as a bracket's exits do).
- BRACKET: the entry's stop-loss and take-profit are held until it fills, released
  with its filled quantity E, and then follow E as an OCO pair (budget E less what the
  exits filled). The first exit fill cancels what is left of the entry: the trade is
  over. An exit that filled completely before the entry's last fills reached it (the
  modify was still on its way) is carried on by a follow-up order on its terms, client
  id `<its id>-F<n>`, for what is left uncovered. An entry that ends with no fill
  (canceled, expired, denied, rejected) ends the list: its exits are never released.

A denied or rejected order of a list is told to the strategy as `ContingentOrderRefused`
(after its own `OrderDenied`/`OrderRejected`), with what it means for the list; a
refused child is tried again by a follow-up once its parent has filled more than it
asked for (a release too small for the instrument's minimum, say). A list
whose orders are all done is closed (`OrderListClosed`). Both on
`events.order_list.<strategy_id>`.

By default the engine links every list itself, so the same code decides in backtest,
paper and live. The price of it is the time between a fill and the cancel or modify it
causes: a venue may fill both legs of an OCO within that time (a simulated venue does
when one bar reaches both prices; see docs/contingent-orders.md), and a stop-loss held
here does not protect a position while the engine is down. A venue that links lists
itself says so (`ExecutionClient.native_order_lists`, registered here with
`link_natively`): a list of such a kind whose orders are all at that venue is *native*.
Its orders are all released at once, full size, in list order, carrying their links,
and the venue does the linking (IB: a bracket's exits are attached orders of the entry
in one OCA group, active once it filled; an OCO is an OCA group). This actor then only
tells refusals and closes the list; a native bracket whose exit is refused while the
entry has not traded has its entry canceled, so an entry never works without its exits.
Quantities and statuses are read from the order manager's records, so this actor holds
only what the records cannot say: the lists, what was released, what was asked of each
order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import ClassVar, Final

import msgspec

from engine.actor import Actor
from engine.domain.enums import ContingencyType, OrderStatus
from engine.domain.ids import derived_order_id, split_instrument_id
from engine.domain.order import Order
from engine.events.contingency import (
    CancelOrderList,
    ContingentOrderRefused,
    OrderListClosed,
    SubmitOrderList,
)
from engine.events.orders import (
    CancelOrder,
    ModifyOrder,
    OrderDenied,
    OrderEvent,
    OrderRejected,
    SubmitOrder,
    order_denied,
)
from engine.ports import OpenOrdersView
from engine.snapshot import counters_of, set_counters
from engine.topics import (
    CONTINGENCY_EXECUTE,
    CONTINGENCY_PROCESS,
    ORDERS_PROCESS,
    RISK_EXECUTE,
    order_list_topic,
)

__all__ = (
    "ContingencyActor",
    "ContingencySnapshot",
    "ContingencyStatistics",
    "OrderListState",
)

logger = logging.getLogger(__name__)

_ZERO: Final = Decimal(0)
_OCO: Final = ContingencyType.OCO
_BRACKET: Final = ContingencyType.BRACKET
_FILLED: Final = OrderStatus.FILLED
_MODIFIABLE: Final = frozenset(
    {OrderStatus.ACCEPTED, OrderStatus.TRIGGERED, OrderStatus.PARTIALLY_FILLED,
     OrderStatus.EMULATED}  # held by the order emulator, which answers a modify at once
)
_REFUSALS: Final = frozenset({OrderDenied, OrderRejected})
_REFUSED: Final = frozenset({OrderStatus.DENIED, OrderStatus.REJECTED})


def _carries_on(latest: Order, uncovered: Decimal) -> bool:
    """True when a closed child needs a follow-up for `uncovered`: it filled completely
    short of it, or it was refused asking for less (the parent has filled more since: a
    refusal for a size below a minimum is tried again, a lasting one once per fill)."""
    if latest.status is _FILLED:
        return True
    return latest.status in _REFUSED and uncovered > latest.quantity


class OrderListState(msgspec.Struct, kw_only=True):
    """One open order list: what the strategy asked for and what this actor did about it.

    `orders` are the list's orders as the strategy gave them (quantities included), with
    their links set; the live quantities are in the order manager's records.
    """

    order_list_id: str
    strategy_id: str
    contingency: ContingencyType
    orders: list[SubmitOrder]
    released: list[str] = []
    """Client ids sent to risk, in the order they left."""
    requested: dict[str, Decimal] = {}
    """The last quantity a modify asked of each order (never asked twice)."""
    canceling: list[str] = []
    """Orders a cancel was sent for (never sent twice)."""
    refused: list[str] = []
    """Orders denied or rejected (told to the strategy once)."""
    canceled: bool = False
    """`CancelOrderList` came: nothing more is released."""
    follow_ups: dict[str, str] = {}
    """Orders released to carry on for a child that filled short (id -> the child's id)."""
    native: bool = False
    """The venue links this list (see the module docstring): released whole, never adjusted."""

    def copy(self) -> OrderListState:
        return msgspec.structs.replace(
            self, orders=list(self.orders), released=list(self.released),
            requested=dict(self.requested), canceling=list(self.canceling),
            refused=list(self.refused), follow_ups=dict(self.follow_ups))


class ContingencyStatistics(msgspec.Struct, frozen=True, kw_only=True):
    open_lists: int
    lists_submitted: int
    lists_denied: int
    """Lists refused whole (their orders denied): a malformed list, a reused id."""
    lists_closed: int
    orders_released: int
    modifies_sent: int
    cancels_sent: int
    orders_refused: int
    lists_native: int = 0
    """Lists the venue links itself (released whole; counted in lists_submitted too)."""


_COUNTERS = (
    "_submitted", "_denied", "_closed", "_released", "_modifies", "_cancels", "_refused",
    "_native",
)


class ContingencySnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The open lists in submission order, and the counters."""

    lists: list[OrderListState]
    counters: dict[str, int]


class ContingencyActor(Actor):
    """Hold, release and adjust the orders of OCO, OTO and bracket lists (module docstring).

    Args:
        orders: the order manager's records (read only), the truth about every order.
    """

    def __init__(self, orders: OpenOrdersView, actor_id: str = "contingency") -> None:
        super().__init__(actor_id)
        self._orders = orders
        self._lists: dict[str, OrderListState] = {}
        self._list_of: dict[str, str] = {}  # client order id -> its open list's id
        self._submitted = 0
        self._denied = 0
        self._closed = 0
        self._released = 0
        self._modifies = 0
        self._cancels = 0
        self._refused = 0
        self._native = 0
        self._native_kinds: dict[str, frozenset[ContingencyType]] = {}

    def link_natively(self, venue: str, kinds: Iterable[ContingencyType]) -> None:
        """Let `venue` link its lists of `kinds` itself (what its execution client says)."""
        self._native_kinds[venue] = frozenset(kinds)

    def on_start(self) -> None:
        self.register_endpoint(CONTINGENCY_EXECUTE)
        self.register_endpoint(CONTINGENCY_PROCESS, self._process)

    # -- snapshots (engine.snapshot) ------------------------------------------------------

    snapshot_type: ClassVar[type[msgspec.Struct]] = ContingencySnapshot

    def snapshot_state(self) -> ContingencySnapshot:
        return ContingencySnapshot(lists=[state.copy() for state in self._lists.values()],
                                   counters=counters_of(self, _COUNTERS))

    def restore_state(self, state: ContingencySnapshot) -> None:
        self._lists = {lst.order_list_id: lst.copy() for lst in state.lists}
        self._list_of = {order.client_order_id: lst.order_list_id
                         for lst in self._lists.values() for order in lst.orders}
        set_counters(self, state.counters, _COUNTERS)

    # -- read access ---------------------------------------------------------------------

    def order_list(self, order_list_id: str) -> OrderListState | None:
        """An open list's state (a copy); None once it closed (or never was)."""
        state = self._lists.get(order_list_id)
        return None if state is None else state.copy()

    def order_lists(self, *, strategy_id: str | None = None) -> list[OrderListState]:
        """The open lists, in submission order, optionally of one strategy (copies)."""
        return [lst.copy() for lst in self._lists.values()
                if strategy_id in (None, lst.strategy_id)]

    def statistics(self) -> ContingencyStatistics:
        return ContingencyStatistics(
            open_lists=len(self._lists), lists_submitted=self._submitted,
            lists_denied=self._denied, lists_closed=self._closed,
            orders_released=self._released, modifies_sent=self._modifies,
            cancels_sent=self._cancels, orders_refused=self._refused,
            lists_native=self._native)

    # -- commands (from strategies) ------------------------------------------------------

    def on_submit_order_list(self, command: SubmitOrderList) -> None:
        problem = self._problem(command)
        if problem is not None:
            self._deny_list(command, problem)
            return
        self._submitted += 1
        list_id = command.order_list_id
        first = command.orders[0].client_order_id
        stamped = [
            msgspec.structs.replace(
                order, contingency=command.contingency, order_list_id=list_id,
                parent_order_id=None if command.contingency is _OCO or index == 0 else first)
            for index, order in enumerate(command.orders)
        ]
        native = self._links_natively(command)
        state = OrderListState(order_list_id=list_id, strategy_id=command.strategy_id,
                               contingency=command.contingency, orders=stamped, native=native)
        self._lists[list_id] = state
        for order in stamped:
            self._list_of[order.client_order_id] = list_id
        self._native += native
        for order in stamped if native or command.contingency is _OCO else stamped[:1]:
            self._release(state, order, order.quantity)

    def on_cancel_order_list(self, command: CancelOrderList) -> None:
        state = self._lists.get(command.order_list_id)
        if state is None or state.strategy_id != command.strategy_id:
            logger.warning("cancel of order list %r by %s: no such open list of that "
                           "strategy; ignored", command.order_list_id, command.strategy_id)
            return
        state.canceled = True
        records = [self._orders.order(client_id) for client_id in state.released]
        if state.native and state.contingency is not _OCO and records[0] is not None \
                and records[0].is_open:
            records = records[:1]  # the venue cancels the children of a canceled parent
        for record in records:
            if record is not None and record.is_open:
                self._cancel(state, record)
        self._close_if_done(state)

    # -- events (from the order manager) -------------------------------------------------

    def _process(self, event: OrderEvent) -> None:
        list_id = self._list_of.get(event.client_order_id)
        state = None if list_id is None else self._lists.get(list_id)
        if state is None:
            return  # an order of a list already closed (a late event): nothing to adjust
        if type(event) in _REFUSALS and event.client_order_id not in state.refused:
            state.refused.append(event.client_order_id)
            self._refused += 1
            self._tell_refusal(state, event)  # type: ignore[arg-type]  # by the type test
        if state.native:
            self._guard_native_entry(state)
        elif state.contingency is _OCO:
            self._follow(state, state.orders, state.orders[0].quantity)
        else:
            self._follow_parent(state)
        self._close_if_done(state)

    def _guard_native_entry(self, state: OrderListState) -> None:
        """A native bracket's entry that has not traded is canceled once an exit is refused:
        the venue would otherwise work it without that exit."""
        if state.contingency is not _BRACKET or not any(
                client_id != state.orders[0].client_order_id for client_id in state.refused):
            return
        entry = self._orders.order(state.orders[0].client_order_id)
        if entry is not None and entry.is_open and entry.filled_quantity == 0:
            self._cancel(state, entry)

    def _follow_parent(self, state: OrderListState) -> None:
        parent = state.orders[0]
        record = self._orders.order(parent.client_order_id)
        entry_filled = _ZERO if record is None else record.filled_quantity
        children = [o for o in state.orders[1:] if o.client_order_id not in state.follow_ups]
        if entry_filled > 0 and not state.canceled:
            for child in children:
                if child.client_order_id not in state.released:
                    quantity = entry_filled if state.contingency is _BRACKET else min(
                        child.quantity, entry_filled)
                    self._release(state, child, quantity)
        if state.contingency is _BRACKET:
            exits = state.orders[1:]
            exit_filled = sum((self._filled(o) for o in exits), _ZERO)
            if exit_filled > 0 and record is not None and record.is_open:
                self._cancel(state, record)  # an exit traded: the trade is over
            uncovered = entry_filled - exit_filled
            for child in children:  # an exit done before the entry's last fills carries on
                latest = self._latest(state, child)
                if uncovered > 0 and latest is not None and _carries_on(latest, uncovered):
                    self._follow_up(state, child, uncovered)
            self._follow(state, exits, entry_filled)
            return
        for child in children:  # OTO: each child grows with the parent, up to its quantity
            chain = [o for o in state.orders if state.follow_ups.get(
                o.client_order_id, o.client_order_id) == child.client_order_id]
            short = min(child.quantity, entry_filled) - sum(
                (self._filled(o) for o in chain), _ZERO)
            latest = self._latest(state, child)
            if latest is None or short <= 0:
                continue
            if latest.is_open:
                if latest.leaves_quantity < short:
                    self._modify(state, latest, latest.filled_quantity + short)
            elif not state.canceled and _carries_on(latest, short):
                self._follow_up(state, child, short)

    def _latest(self, state: OrderListState, child: SubmitOrder) -> Order | None:
        """The record of the last order of `child`'s chain (None: not released, in flight)."""
        client_id = child.client_order_id
        for order in reversed(state.orders):
            if state.follow_ups.get(order.client_order_id, order.client_order_id) == client_id:
                if order.client_order_id not in state.released:
                    return None
                return self._orders.order(order.client_order_id)
        return None

    def _follow_up(self, state: OrderListState, child: SubmitOrder, quantity: Decimal) -> None:
        """Release an order on `child`'s terms for `quantity`, carrying on for it."""
        number = sum(1 for role in state.follow_ups.values() if role == child.client_order_id)
        order = msgspec.structs.replace(
            child, client_order_id=derived_order_id(child.client_order_id, "F", number + 1))
        state.orders.append(order)
        state.follow_ups[order.client_order_id] = child.client_order_id
        self._list_of[order.client_order_id] = state.order_list_id
        self._release(state, order, quantity)

    def _follow(self, state: OrderListState, legs: list[SubmitOrder], budget: Decimal) -> None:
        """Keep the open legs' leaves at what the budget has left (an OCO's rule)."""
        records = [self._orders.order(leg.client_order_id) for leg in legs
                   if leg.client_order_id in state.released]
        remaining = budget - sum((r.filled_quantity for r in records if r is not None), _ZERO)
        for record in records:
            if record is None or not record.is_open:
                continue
            if remaining <= 0:
                self._cancel(state, record)
            elif record.filled_quantity + remaining != record.quantity:
                self._modify(state, record, record.filled_quantity + remaining)

    def _close_if_done(self, state: OrderListState) -> None:
        records = [self._orders.order(client_id) for client_id in state.released]
        if any(record is None or record.is_open for record in records):
            return  # something is in flight or working
        parent = records[0] if records else None
        held = len(state.released) < len(state.orders)
        if state.canceled:
            reason = "canceled by the strategy (CancelOrderList)"
        elif state.contingency is _OCO:
            reason = "every order of the list is done"
        elif state.native and parent is not None and parent.filled_quantity == 0:
            reason = f"parent {parent.client_order_id} ended {parent.status} with no fill"
        elif held and parent is not None and parent.filled_quantity == 0:
            reason = (f"parent {parent.client_order_id} ended {parent.status} with no fill: "
                      "its children were never released")
        elif held:
            return  # the parent filled: its children are on their way
        else:
            reason = "every order of the list is done"
            if state.contingency is _BRACKET and parent is not None:
                exits = sum((r.filled_quantity for r in records[1:] if r is not None), _ZERO)
                if exits < parent.filled_quantity:
                    reason = (f"the exits are done, {parent.filled_quantity - exits} of the "
                              "entry's fills left without an exit order")
        del self._lists[state.order_list_id]
        for order in state.orders:
            self._list_of.pop(order.client_order_id, None)
        self._closed += 1
        now = self._clock.timestamp_ns()
        self._bus.publish(order_list_topic(state.strategy_id), OrderListClosed(
            strategy_id=state.strategy_id, order_list_id=state.order_list_id,
            contingency=state.contingency, reason=reason, ts_event=now, ts_init=now))

    # -- checks ----------------------------------------------------------------------------

    def _links_natively(self, command: SubmitOrderList) -> bool:
        try:
            venues = {split_instrument_id(order.instrument_id)[1] for order in command.orders}
        except ValueError:
            return False  # no venue in an id: the order manager denies the order itself
        if len(venues) != 1:
            return False
        return command.contingency in self._native_kinds.get(venues.pop(), frozenset())

    def _problem(self, command: SubmitOrderList) -> str | None:
        """Why the list cannot be placed (None when it can)."""
        orders, kind = command.orders, command.contingency
        if kind is ContingencyType.EXEC_ALGORITHM:
            return "exec_algorithm: not a kind of order list (see engine.algos)"
        least = 3 if kind is _BRACKET else 2
        if len(orders) < least or (kind is _BRACKET and len(orders) != 3):
            return f"{kind} needs {'exactly' if kind is _BRACKET else 'at least'} {least} " \
                   f"orders, was {len(orders)}"
        if command.order_list_id in self._lists:
            return f"order_list_id {command.order_list_id!r}: already open"
        ids = [order.client_order_id for order in orders]
        if len(set(ids)) != len(ids):
            return "client_order_id: used twice in the list"
        for order in orders:
            if order.strategy_id != command.strategy_id:
                return (f"order {order.client_order_id}: strategy_id {order.strategy_id!r}, "
                        f"the list's is {command.strategy_id!r}")
            if order.client_order_id in self._list_of or self._orders.order(
                    order.client_order_id) is not None:
                return f"client_order_id {order.client_order_id!r}: already used"
        if kind is not ContingencyType.OTO and len({o.instrument_id for o in orders}) > 1:
            return f"{kind}: every order must be of one instrument"
        if kind is _OCO and len({order.quantity for order in orders}) > 1:
            return "oco: every order must have the same quantity (the pair's)"
        if kind is _BRACKET and any(order.side is orders[0].side for order in orders[1:]):
            return "bracket: the stop-loss and take-profit must be on the entry's other side"
        return None

    # -- egress ----------------------------------------------------------------------------

    def _deny_list(self, command: SubmitOrderList, problem: str) -> None:
        """Deny every order of a malformed list: recorded and told, nothing lost."""
        self._denied += 1
        logger.warning("order list %s of %s denied: %s", command.order_list_id,
                       command.strategy_id, problem)
        now = self._clock.timestamp_ns()
        for order in command.orders:  # unlinked: the list never existed
            self._bus.send(ORDERS_PROCESS, order_denied(order, f"order_list: {problem}", now))
        self._bus.publish(order_list_topic(command.strategy_id), OrderListClosed(
            strategy_id=command.strategy_id, order_list_id=command.order_list_id,
            contingency=command.contingency, reason=f"denied: {problem}",
            ts_event=now, ts_init=now))

    def _release(self, state: OrderListState, order: SubmitOrder, quantity: Decimal) -> None:
        now = self._clock.timestamp_ns()
        state.released.append(order.client_order_id)
        self._released += 1
        self._bus.send(RISK_EXECUTE, msgspec.structs.replace(
            order, quantity=quantity, ts_event=now, ts_init=now))

    def _modify(self, state: OrderListState, record: Order, quantity: Decimal) -> None:
        client_id = record.client_order_id
        if record.status not in _MODIFIABLE or state.requested.get(client_id) == quantity:
            return  # not yet accepted or a modify in flight (its answer syncs again), or asked
        state.requested[client_id] = quantity
        self._modifies += 1
        now = self._clock.timestamp_ns()
        self._bus.send(RISK_EXECUTE, ModifyOrder(
            strategy_id=record.strategy_id, client_order_id=client_id,
            instrument_id=record.instrument_id, quantity=quantity, ts_event=now, ts_init=now))

    def _cancel(self, state: OrderListState, record: Order) -> None:
        client_id = record.client_order_id
        if client_id in state.canceling or record.status is OrderStatus.PENDING_CANCEL:
            return
        state.canceling.append(client_id)
        self._cancels += 1
        now = self._clock.timestamp_ns()
        self._bus.send(RISK_EXECUTE, CancelOrder(
            strategy_id=record.strategy_id, client_order_id=client_id,
            instrument_id=record.instrument_id, ts_event=now, ts_init=now))

    def _tell_refusal(self, state: OrderListState, event: OrderDenied | OrderRejected) -> None:
        client_id = event.client_order_id
        if state.native and state.contingency is not _OCO:
            if client_id == state.orders[0].client_order_id:
                consequence = "the parent will not work: the venue refuses its children"
            else:
                consequence = ("the entry is canceled unless it has traded (then its fills "
                               "lack this exit); the other exit stays with the venue")
        elif state.contingency is _OCO:
            consequence = "the other orders of the list stay working"
        elif client_id == state.orders[0].client_order_id:
            consequence = "the parent will not fill: its children are never released"
        elif state.contingency is _BRACKET:
            child_id = state.follow_ups.get(client_id, client_id)
            role = "stop-loss" if child_id == state.orders[1].client_order_id else "take-profit"
            consequence = (f"the entry's fills have no {role} (tried again if the entry fills "
                           "more); the other exit stays working")
        else:
            consequence = ("tried again if the parent fills more; the other children are "
                           "unaffected")
        logger.warning("order %s of list %s refused (%s): %s", client_id,
                       state.order_list_id, event.reason, consequence)
        now = self._clock.timestamp_ns()
        self._bus.publish(order_list_topic(state.strategy_id), ContingentOrderRefused(
            strategy_id=state.strategy_id, order_list_id=state.order_list_id,
            client_order_id=client_id, reason=event.reason, consequence=consequence,
            ts_event=now, ts_init=now))

    def _filled(self, order: SubmitOrder) -> Decimal:
        record = self._orders.order(order.client_order_id)
        return _ZERO if record is None else record.filled_quantity
