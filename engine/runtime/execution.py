"""The execution bridge: where order commands leave the graph for a live venue.

The graph is synchronous; a live venue is a network peer. `ExecutionBridge` is the actor
registered at the venue's endpoint: its handlers only queue each command (in the
journal's durable outbox when there is one, so a command leaves only once it is
journaled), and its `run` task sends them, one at a time and in order, through the
venue's `ExecutionClient`. What the venue answers comes back as events through the
client's sink, into the inbox, as journaled inputs.

Three rules live here, each enforced rather than promised:

- Nothing leaves while the gate is closed. The node closes it for recovery and for every
  reconciliation, so no command reaches a venue whose state the engine is still
  comparing; commands queued meanwhile leave, in order, once it opens.
- Nothing replayed leaves. During recovery the journal's inputs rebuild the graph and
  strategies send again what they sent then; those commands already left (or were lost
  with the crash, which reconciliation settles), so the bridge drops them.
- A request without an answer is never retried. A timeout or a connection lost
  mid-request becomes `OrderOutcomeUnknown` (the order is in doubt until a venue report
  settles it); a request refused before it left (`VenueUnavailable`) becomes the
  matching rejection, which is safe because the venue never saw it.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import anyio
import msgspec
from anyio.abc import TaskStatus

from engine.actor import Actor
from engine.errors import OutcomeUnknown, VenueUnavailable
from engine.events.base import Event
from engine.events.fills import AccountState
from engine.events.orders import (
    CancelOrder,
    ModifyOrder,
    OrderCancelRejected,
    OrderModifyRejected,
    OrderOutcomeUnknown,
    OrderRejected,
    SubmitOrder,
)
from engine.ports import ExecutionClient, OpenOrdersView
from engine.runtime.outbound import DurableOutbox
from engine.topics import ORDERS_PROCESS, PORTFOLIO_PROCESS, segment, venue_endpoint

__all__ = (
    "BridgeStatistics",
    "ExecutionBridge",
    "SendGate",
    "venue_event_endpoint",
)

logger = logging.getLogger(__name__)

Command = SubmitOrder | CancelOrder | ModifyOrder


def _undeliverable(event: Event) -> None:
    raise RuntimeError(f"execution bridge: no sink attached for {type(event).__name__}")


def venue_event_endpoint(event: Event) -> str:
    """Where an event from a venue goes: account states to the portfolio, the rest to the
    order manager (which refuses, and counts, anything that is not an order event)."""
    return PORTFOLIO_PROCESS if type(event) is AccountState else ORDERS_PROCESS


class SendGate:
    """Open: commands may leave for venues. Closed: they wait (recovery, reconciliation)."""

    def __init__(self, *, start_open: bool = False) -> None:
        self._open = anyio.Event()
        if start_open:
            self._open.set()
        self.closed_count = 0

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    def close(self) -> None:
        if self._open.is_set():
            self._open = anyio.Event()
            self.closed_count += 1

    def open(self) -> None:
        self._open.set()

    async def wait_open(self) -> None:
        while not self._open.is_set():
            await self._open.wait()


class BridgeStatistics(msgspec.Struct, frozen=True, kw_only=True):
    venue: str
    queued: int
    sent: int
    dropped_in_replay: int
    outcome_unknown: int
    refused_unavailable: int
    pending: int
    reconnects: int = 0
    gate_open: bool = False
    """Commands may leave: connected and reconciled (closed while reconnecting)."""


class ExecutionBridge(Actor):
    """Queue a venue's commands from the graph, send them from a task (module docstring).

    A trading node attaches its own gate, event sink and durable outbox (`attach`) and
    runs `run` in its task group; a test may pass them at construction.

    Args:
        client: the venue's execution client.
        deliver: where events the bridge itself makes go (the inbox's critical lane,
            through `venue_event_endpoint`), e.g. `OrderOutcomeUnknown` after a timeout.
        orders: the order manager's view, for the venue order id a cancel or modify needs.
        gate: the send gate; closed until someone opens it.
        outbox: the journal's durable outbox; None (tests, no journal) sends at once.
        timeout_s: how long a request may wait for its answer before it is in doubt.
    """

    def __init__(
        self,
        client: ExecutionClient,
        *,
        orders: OpenOrdersView,
        deliver: Callable[[Event], None] | None = None,
        gate: SendGate | None = None,
        outbox: DurableOutbox | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        super().__init__(f"venue_{segment(client.venue)}")
        self._client = client
        self._venue = client.venue
        self._deliver = deliver if deliver is not None else _undeliverable
        self._orders = orders
        self._gate = gate if gate is not None else SendGate()
        self._outbox = outbox
        self._timeout_s = timeout_s
        self._local: deque[Command] = deque()
        self._unsent: dict[str, int] = {}  # client order id -> its submits not yet sent
        self._on_reconnect: Callable[[str], Awaitable[object]] | None = None
        self._reconnects = 0
        self._ready = anyio.Event()
        self.replaying = False
        """While True (recovery), commands are dropped: they left in the session replayed."""
        self._queued = self._sent = self._dropped = self._unknown = self._unavailable = 0

    @property
    def client(self) -> ExecutionClient:
        return self._client

    def attach(
        self,
        *,
        gate: SendGate,
        deliver: Callable[[Event], None],
        outbox: DurableOutbox | None = None,
        on_reconnect: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        """Take the node's gate, inbox sink, (once the journal is open) outbox, and what
        to run after the client reconnects (the node's reconciliation of this venue)."""
        if self._local:
            raise RuntimeError(f"bridge {self.id}: attach before any command is queued")
        self._gate = gate
        self._deliver = deliver
        self._outbox = outbox
        self._on_reconnect = on_reconnect

    def deliver(self, event: Event) -> None:
        """Hand a venue event to the node's inbox (the sink `attach` gave; until then the
        constructor's). A client built before the node attached its sink delivers
        through this bound method, so it always reaches the current sink."""
        self._deliver(event)

    async def reconnected(self) -> None:
        """The client calls this after every reconnect: the books are reconciled with the
        venue (the gate closed meanwhile) before another command leaves."""
        self._reconnects += 1
        if self._on_reconnect is not None:
            await self._on_reconnect(self._venue)

    def on_start(self) -> None:
        self.register_endpoint(venue_endpoint(self._venue))

    # -- from the graph (synchronous) ------------------------------------------------------

    def on_submit_order(self, command: SubmitOrder) -> None:
        self._queue(command)

    def on_cancel_order(self, command: CancelOrder) -> None:
        self._queue(command)

    def on_modify_order(self, command: ModifyOrder) -> None:
        self._queue(command)

    def _queue(self, command: Command) -> None:
        if self.replaying:
            self._dropped += 1
            return
        self._queued += 1
        if type(command) is SubmitOrder:
            key = command.client_order_id
            self._unsent[key] = self._unsent.get(key, 0) + 1
        if self._outbox is not None:
            self._outbox.put(command)
        else:
            self._local.append(command)
            self._ready.set()

    # -- to the venue (a task) --------------------------------------------------------------

    async def _next(self) -> Command:
        if self._outbox is not None:
            command: Command = await self._outbox.get()
            return command
        while not self._local:
            self._ready = anyio.Event()
            await self._ready.wait()
        return self._local.popleft()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Send queued commands in order, each only while the gate is open."""
        task_status.started()
        while True:
            command = await self._next()
            await self._gate.wait_open()
            await self._send(command)

    def unsent_order_ids(self) -> frozenset[str]:
        """Orders whose submit is queued here and has not left: a venue cannot know them
        yet, so reconciliation must not take their absence there for a lost submit."""
        return frozenset(self._unsent)

    async def _send(self, command: Command) -> None:
        try:
            await self._request(command)
        finally:
            if type(command) is SubmitOrder:
                key = command.client_order_id
                left = self._unsent.get(key, 0) - 1
                if left > 0:
                    self._unsent[key] = left
                else:
                    self._unsent.pop(key, None)

    async def _request(self, command: Command) -> None:
        try:
            with anyio.fail_after(self._timeout_s):
                if isinstance(command, SubmitOrder):
                    await self._client.submit_order(command)
                elif isinstance(command, CancelOrder):
                    await self._client.cancel_order(command, self._venue_order_id(command))
                else:
                    await self._client.modify_order(command, self._venue_order_id(command))
        except (OutcomeUnknown, TimeoutError) as error:
            self._unknown += 1
            self._answer(command, "unknown", str(error) or "no answer in time")
            return
        except VenueUnavailable as error:
            self._unavailable += 1
            self._answer(command, "unavailable", str(error) or "venue unavailable")
            return
        self._sent += 1

    def _venue_order_id(self, command: CancelOrder | ModifyOrder) -> str | None:
        order = self._orders.order(command.client_order_id)
        return None if order is None else order.venue_order_id

    def _answer(self, command: Command, what: Literal["unknown", "unavailable"],
                reason: str) -> None:
        now = self.clock.timestamp_ns()
        ids: dict[str, Any] = {
            "strategy_id": command.strategy_id, "client_order_id": command.client_order_id,
            "instrument_id": command.instrument_id, "ts_event": now, "ts_init": now,
        }
        operation: Literal["submit", "cancel", "modify"] = (
            "submit" if type(command) is SubmitOrder
            else "cancel" if type(command) is CancelOrder else "modify"
        )
        event: Event
        if what == "unknown":
            logger.warning("%s %s of %s at %s: no answer (%s); the order is in doubt",
                           operation, command.client_order_id, command.strategy_id,
                           self._venue, reason)
            event = OrderOutcomeUnknown(**ids, operation=operation, reason=reason)
        elif operation == "submit":
            event = OrderRejected(**ids, reason=f"not sent: {reason}")
        elif operation == "cancel":
            event = OrderCancelRejected(**ids, reason=f"not sent: {reason}")
        else:
            event = OrderModifyRejected(**ids, reason=f"not sent: {reason}")
        self._deliver(event)

    def statistics(self) -> BridgeStatistics:
        pending = (self._outbox.statistics().pending if self._outbox is not None
                   else len(self._local))
        return BridgeStatistics(
            venue=self._venue, queued=self._queued, sent=self._sent,
            dropped_in_replay=self._dropped, outcome_unknown=self._unknown,
            refused_unavailable=self._unavailable, pending=pending,
            reconnects=self._reconnects, gate_open=self._gate.is_open,
        )
