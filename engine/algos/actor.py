"""The execution algorithm actor: parent orders sliced into children, TWAP or VWAP.

A strategy sends `SubmitAlgoOrder` to `ALGOS_EXECUTE`. The parent never reaches a venue:
this actor holds it and, on its own clock timer (engine time, so a backtest and its
replay slice alike), sends child orders through risk (`RISK_EXECUTE`) like any order,
market or limit at the parent's `limit_price`. Each child's record carries the parent's
id (`parent_order_id`, `order_list_id`, `contingency` = exec_algorithm); the order
manager sends this actor the children's events (`ALGOS_PROCESS`), and the parent's
filled quantity is the sum of its children's fills.

- TWAP (`engine.algos.twap`): a slice at once and one per interval, on a cumulative
  schedule; a child refused or canceled unfilled is made up by the next slice.
- VWAP (`engine.algos.vwap`): after each bar of the timeframe, a child of participation
  x that bar's volume; what is left at the horizon goes as one last child. Bars are read
  from the market cache when the timer fires, which is before a bar of the same time is
  handled: each slice follows the bar before (one bar behind the market).

Progress: an `AlgoChildSent` per child and an `AlgoOrderClosed` at the end, on
`events.algo.<strategy_id>`; `parent(parent_order_id)` is the parent's status.
`CancelAlgoOrder` stops the slicing and cancels the open children.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import ClassVar, Final

import msgspec

from engine.actor import Actor
from engine.algos.twap import twap_slice_count, twap_target
from engine.algos.vwap import vwap_slice
from engine.cache import MarketCache
from engine.domain.enums import ContingencyType, OrderSide, OrderType
from engine.domain.ids import derived_order_id
from engine.domain.money import is_on_increment
from engine.events.algos import (
    AlgoChildSent,
    AlgoOrderClosed,
    CancelAlgoOrder,
    SubmitAlgoOrder,
    TwapParameters,
    VwapParameters,
)
from engine.events.fills import OrderFilled
from engine.events.market import timeframe_ns
from engine.events.orders import CancelOrder, OrderEvent, SubmitOrder
from engine.events.system import TimerFired
from engine.instruments import InstrumentRegistry
from engine.ports import OpenOrdersView
from engine.snapshot import counters_of, set_counters
from engine.topics import ALGOS_EXECUTE, ALGOS_PROCESS, RISK_EXECUTE, algo_topic

__all__ = ("AlgoOrderState", "AlgoSnapshot", "AlgoStatistics", "ExecAlgorithmActor")

logger = logging.getLogger(__name__)

_ZERO: Final = Decimal(0)
_TIMER_PREFIX: Final = "algo-"


class AlgoOrderState(msgspec.Struct, kw_only=True):
    """One parent order: its terms and what its children did."""

    parent_order_id: str
    strategy_id: str
    instrument_id: str
    side: OrderSide
    quantity: Decimal
    parameters: TwapParameters | VwapParameters
    limit_price: Decimal | None
    started_ns: int
    children: list[str] = []
    sent: dict[str, Decimal] = {}
    """Each child's quantity when it was sent (its record holds it once made)."""
    filled_quantity: Decimal = Decimal(0)
    slices: int = 0
    """Slices taken: TWAP's schedule index, VWAP's bars used."""
    last_bar_ns: int = 0
    slicing: bool = True
    canceled: bool = False

    def copy(self) -> AlgoOrderState:
        return msgspec.structs.replace(self, children=list(self.children), sent=dict(self.sent))


class AlgoStatistics(msgspec.Struct, frozen=True, kw_only=True):
    open_parents: int
    parents_submitted: int
    parents_denied: int
    parents_closed: int
    children_sent: int


_COUNTERS = ("_submitted", "_denied", "_closed", "_children")


class AlgoSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    parents: list[AlgoOrderState]
    counters: dict[str, int]


class ExecAlgorithmActor(Actor):
    """Slice parent orders into child orders (module docstring).

    Args:
        orders: the order manager's records (read only).
        instruments: for the size increment of the slices.
        cache: the last market data per instrument (VWAP reads bar volumes there).
    """

    def __init__(self, orders: OpenOrdersView, instruments: InstrumentRegistry,
                 cache: MarketCache, actor_id: str = "algos") -> None:
        super().__init__(actor_id)
        self._orders = orders
        self._instruments = instruments
        self._cache = cache
        self._parents: dict[str, AlgoOrderState] = {}
        self._parent_of: dict[str, str] = {}  # child client order id -> parent id
        self._submitted = 0
        self._denied = 0
        self._closed = 0
        self._children = 0

    def on_start(self) -> None:
        self.register_endpoint(ALGOS_EXECUTE)
        self.register_endpoint(ALGOS_PROCESS, self._process)

    # -- snapshots (engine.snapshot) ------------------------------------------------------

    snapshot_type: ClassVar[type[msgspec.Struct]] = AlgoSnapshot

    def snapshot_state(self) -> AlgoSnapshot:
        return AlgoSnapshot(parents=[p.copy() for p in self._parents.values()],
                            counters=counters_of(self, _COUNTERS))

    def restore_state(self, state: AlgoSnapshot) -> None:
        self._parents = {p.parent_order_id: p.copy() for p in state.parents}
        self._parent_of = {child: p.parent_order_id
                           for p in self._parents.values() for child in p.children}
        set_counters(self, state.counters, _COUNTERS)

    # -- read access ---------------------------------------------------------------------

    def parent(self, parent_order_id: str) -> AlgoOrderState | None:
        """An open parent's status (a copy); None once closed (or never submitted)."""
        state = self._parents.get(parent_order_id)
        return None if state is None else state.copy()

    def parents(self, *, strategy_id: str | None = None) -> list[AlgoOrderState]:
        return [p.copy() for p in self._parents.values()
                if strategy_id in (None, p.strategy_id)]

    def statistics(self) -> AlgoStatistics:
        return AlgoStatistics(open_parents=len(self._parents), parents_submitted=self._submitted,
                              parents_denied=self._denied, parents_closed=self._closed,
                              children_sent=self._children)

    # -- commands (from strategies) ------------------------------------------------------

    def on_submit_algo_order(self, command: SubmitAlgoOrder) -> None:
        problem = self._problem(command)
        now = self.clock.timestamp_ns()
        if problem is not None:
            self._denied += 1
            logger.warning("algo order %s of %s denied: %s", command.parent_order_id,
                           command.strategy_id, problem)
            self.publish(algo_topic(command.strategy_id), AlgoOrderClosed(
                strategy_id=command.strategy_id, parent_order_id=command.parent_order_id,
                quantity=command.quantity, filled_quantity=_ZERO,
                reason=f"denied: {problem}", ts_event=now, ts_init=now))
            return
        self._submitted += 1
        parameters = command.parameters
        state = AlgoOrderState(
            parent_order_id=command.parent_order_id, strategy_id=command.strategy_id,
            instrument_id=command.instrument_id, side=command.side, quantity=command.quantity,
            parameters=parameters, limit_price=command.limit_price, started_ns=now)
        self._parents[state.parent_order_id] = state
        if isinstance(parameters, TwapParameters):
            self.set_timer(_TIMER_PREFIX + state.parent_order_id, parameters.interval_ns)
            self._twap_slice(state, parameters)
        else:
            self.set_timer(_TIMER_PREFIX + state.parent_order_id,
                           timeframe_ns(parameters.timeframe))

    def on_cancel_algo_order(self, command: CancelAlgoOrder) -> None:
        state = self._parents.get(command.parent_order_id)
        if state is None or state.strategy_id != command.strategy_id:
            logger.warning("cancel of algo order %r by %s: no such open parent of that "
                           "strategy; ignored", command.parent_order_id, command.strategy_id)
            return
        state.canceled = True
        self._stop_slicing(state)
        now = self.clock.timestamp_ns()
        for child in state.children:
            record = self._orders.order(child)
            if record is not None and record.is_open:
                self.send(RISK_EXECUTE, CancelOrder(
                    strategy_id=state.strategy_id, client_order_id=child,
                    instrument_id=state.instrument_id, ts_event=now, ts_init=now))
        self._close_if_done(state)

    # -- timers and child events ---------------------------------------------------------

    def on_timer(self, event: TimerFired) -> None:
        state = self._parents.get(event.name.removeprefix(_TIMER_PREFIX))
        if state is None or not state.slicing:
            return
        parameters = state.parameters
        if isinstance(parameters, TwapParameters):
            self._twap_slice(state, parameters)
        else:
            self._vwap_slice(state, parameters, event.ts_event)
        self._close_if_done(state)

    def _process(self, event: OrderEvent) -> None:
        parent_id = self._parent_of.get(event.client_order_id)
        state = None if parent_id is None else self._parents.get(parent_id)
        if state is None:
            return
        if type(event) is OrderFilled:
            state.filled_quantity += event.last_quantity
        self._close_if_done(state)

    # -- slicing ---------------------------------------------------------------------------

    def _twap_slice(self, state: AlgoOrderState, parameters: TwapParameters) -> None:
        slices = twap_slice_count(parameters)
        increment = self._instruments.require(state.instrument_id).size_increment
        due = twap_target(state.quantity, slices, state.slices, increment) - self._committed(
            state)
        state.slices += 1
        if due > 0:
            self._send_child(state, due)
        if state.slices >= slices:
            self._stop_slicing(state)

    def _vwap_slice(self, state: AlgoOrderState, parameters: VwapParameters, now: int) -> None:
        left = state.quantity - self._committed(state)
        if now >= state.started_ns + parameters.horizon_ns:
            self._stop_slicing(state)
            if left > 0:
                self._send_child(state, left)
            return
        bar = self._cache.last_bar(state.instrument_id)
        if (bar is None or bar.bar_type.timeframe != parameters.timeframe
                or bar.ts_event <= max(state.last_bar_ns, state.started_ns)):
            return  # no bar closed since the last slice (or since the start)
        state.last_bar_ns = bar.ts_event
        state.slices += 1
        increment = self._instruments.require(state.instrument_id).size_increment
        size = vwap_slice(bar.volume, parameters.participation, left, increment)
        if size > 0:
            self._send_child(state, size)

    def _committed(self, state: AlgoOrderState) -> Decimal:
        """What the children hold: filled, or still to fill while working or in flight."""
        total = _ZERO
        for child in state.children:
            record = self._orders.order(child)
            if record is None:
                total += state.sent[child]
            else:
                total += record.quantity if record.is_open else record.filled_quantity
        return total

    def _stop_slicing(self, state: AlgoOrderState) -> None:
        if state.slicing:
            state.slicing = False
            self.cancel_timer(_TIMER_PREFIX + state.parent_order_id)

    def _close_if_done(self, state: AlgoOrderState) -> None:
        if state.slicing:
            return
        for child in state.children:
            record = self._orders.order(child)
            if record is None or record.is_open:
                return
        left = state.quantity - state.filled_quantity
        if state.canceled:
            reason = "canceled by the strategy (CancelAlgoOrder)"
        elif left == 0:
            reason = "filled"
        else:
            reason = f"slicing ended with {left} unfilled (children refused or canceled)"
        del self._parents[state.parent_order_id]
        for child in state.children:
            self._parent_of.pop(child, None)
        self._closed += 1
        now = self.clock.timestamp_ns()
        self.publish(algo_topic(state.strategy_id), AlgoOrderClosed(
            strategy_id=state.strategy_id, parent_order_id=state.parent_order_id,
            quantity=state.quantity, filled_quantity=state.filled_quantity, reason=reason,
            ts_event=now, ts_init=now))

    # -- checks and egress -----------------------------------------------------------------

    def _problem(self, command: SubmitAlgoOrder) -> str | None:
        if command.parent_order_id in self._parents or self._orders.order(
                command.parent_order_id) is not None:
            return f"parent_order_id {command.parent_order_id!r}: already used"
        instrument = self._instruments.get(command.instrument_id)
        if instrument is None:
            return f"instrument_id {command.instrument_id!r}: not in this graph"
        if command.quantity <= 0 or not is_on_increment(command.quantity,
                                                        instrument.size_increment):
            return (f"quantity {command.quantity}: must be > 0 and a multiple of "
                    f"{instrument.size_increment}")
        parameters = command.parameters
        if isinstance(parameters, VwapParameters):
            try:
                timeframe_ns(parameters.timeframe)
            except ValueError as error:
                return f"timeframe {parameters.timeframe!r}: {error}"
        return None

    def _send_child(self, state: AlgoOrderState, quantity: Decimal) -> None:
        parent_id = state.parent_order_id
        client_id = derived_order_id(parent_id, "C", len(state.children) + 1)
        state.children.append(client_id)
        state.sent[client_id] = quantity
        self._parent_of[client_id] = parent_id
        self._children += 1
        now = self.clock.timestamp_ns()
        limit = state.limit_price
        self.send(RISK_EXECUTE, SubmitOrder(
            strategy_id=state.strategy_id, client_order_id=client_id,
            instrument_id=state.instrument_id, side=state.side,
            order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
            quantity=quantity, price=limit, contingency=ContingencyType.EXEC_ALGORITHM,
            order_list_id=parent_id, parent_order_id=parent_id, ts_event=now, ts_init=now))
        self.publish(algo_topic(state.strategy_id), AlgoChildSent(
            strategy_id=state.strategy_id, parent_order_id=parent_id,
            client_order_id=client_id, quantity=quantity,
            sent_quantity=sum(state.sent.values(), _ZERO),
            filled_quantity=state.filled_quantity, ts_event=now, ts_init=now))
