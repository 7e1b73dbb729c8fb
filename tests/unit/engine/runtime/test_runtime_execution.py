"""The execution bridge: commands leave in order, only through an open gate, never from a
replay, and a request without an answer puts the order in doubt instead of retrying."""

from __future__ import annotations

from decimal import Decimal

import anyio
import pytest

from engine.clock import SimClock
from engine.domain.enums import OrderSide, OrderStatus, OrderType
from engine.errors import OutcomeUnknown, VenueUnavailable
from engine.events.base import Event
from engine.events.orders import CancelOrder, OrderAccepted, OrderOutcomeUnknown, SubmitOrder
from engine.runtime.execution import ExecutionBridge, SendGate, venue_event_endpoint
from engine.testing import INSTRUMENT_ID, ScriptedExecutionClient, make_graph
from engine.topics import ORDERS_PROCESS, PORTFOLIO_PROCESS, RISK_EXECUTE

START = 1_700_000_000_000_000_000


class Node:
    """A started graph with a scripted venue behind a bridge and a node-like event path."""

    def __init__(self, *, gate_open: bool = True, timeout_s: float = 5.0) -> None:
        self.clock = SimClock(start_ns=START)
        self.graph = make_graph(clock=self.clock)
        self.venue = ScriptedExecutionClient("SIM")
        self.gate = SendGate(start_open=gate_open)
        self.delivered: list[Event] = []
        self.answered = anyio.Event()
        self.bridge = ExecutionBridge(self.venue, deliver=self.deliver, orders=self.graph.orders,
                                      gate=self.gate, timeout_s=timeout_s)
        self.graph.add_venue(self.bridge)
        self.graph.start()

    def deliver(self, event: Event) -> None:
        self.delivered.append(event)
        self.answered.set()
        self.graph.bus.send(venue_event_endpoint(event), event)

    def submit(self, client_order_id: str) -> None:
        self.graph.bus.send(RISK_EXECUTE, SubmitOrder(
            strategy_id="s1", client_order_id=client_order_id, instrument_id=INSTRUMENT_ID,
            side=OrderSide.BUY, order_type=OrderType.LIMIT, quantity=Decimal("1"),
            price=Decimal("100"), ts_event=START, ts_init=START))

    def status(self, client_order_id: str) -> OrderStatus:
        order = self.graph.orders.order(client_order_id)
        assert order is not None
        return order.status


async def settle() -> None:
    for _ in range(20):
        await anyio.lowlevel.checkpoint()


async def test_commands_leave_in_order_once_the_gate_opens_and_not_before() -> None:
    node = Node(gate_open=False)
    async with anyio.create_task_group() as group:
        await group.start(node.bridge.run)
        node.submit("a")
        node.submit("b")
        await settle()
        assert node.venue.requests == []  # the gate is closed: nothing reached the venue
        assert node.bridge.statistics().gate_open is False
        node.gate.open()
        await settle()
        assert [r.client_order_id for r in node.venue.requests] == ["a", "b"]
        group.cancel_scope.cancel()
    assert node.bridge.statistics().sent == 2
    assert node.bridge.statistics().gate_open is True


async def test_commands_replayed_during_recovery_are_dropped() -> None:
    node = Node()
    node.bridge.replaying = True
    node.submit("a")
    node.bridge.replaying = False
    node.submit("b")
    async with anyio.create_task_group() as group:
        await group.start(node.bridge.run)
        await settle()
        group.cancel_scope.cancel()
    assert [r.client_order_id for r in node.venue.requests] == ["b"]
    assert node.bridge.statistics().dropped_in_replay == 1


@pytest.mark.parametrize("failure", ["lost answer", "timeout"])
async def test_a_submit_without_an_answer_puts_the_order_in_doubt_and_is_not_resent(
    failure: str,
) -> None:
    node = Node(timeout_s=0.05)

    def lose(request: object) -> None:
        raise OutcomeUnknown("connection reset mid-request")

    if failure == "lost answer":
        node.venue.on_request = lose
    else:
        async def hang(command: SubmitOrder) -> None:
            node.venue.requests.append(command)
            await anyio.sleep_forever()

        node.venue.submit_order = hang  # type: ignore[method-assign]
    async with anyio.create_task_group() as group:
        await group.start(node.bridge.run)
        node.submit("a")
        with anyio.fail_after(5):
            await node.answered.wait()
        group.cancel_scope.cancel()
    [event] = node.delivered
    assert isinstance(event, OrderOutcomeUnknown) and event.operation == "submit"
    assert node.status("a") is OrderStatus.IN_DOUBT
    assert len(node.venue.requests) == 1
    assert node.bridge.statistics().outcome_unknown == 1


async def test_a_request_refused_before_it_left_is_a_rejection() -> None:
    node = Node()

    def down(request: object) -> None:
        raise VenueUnavailable("not connected")

    node.venue.on_request = down
    async with anyio.create_task_group() as group:
        await group.start(node.bridge.run)
        node.submit("a")
        node.graph.bus.send(ORDERS_PROCESS, OrderAccepted(
            strategy_id="s1", client_order_id="b", instrument_id=INSTRUMENT_ID,
            venue_order_id="v", ts_event=START, ts_init=START))  # unknown: counted
        await settle()
        group.cancel_scope.cancel()
    order = node.graph.orders.order("a")
    assert order is not None and order.status is OrderStatus.REJECTED
    assert order.reason.startswith("not sent:")


async def test_cancel_goes_out_with_the_venue_order_id() -> None:
    node = Node()
    seen: list[str | None] = []

    async def cancel(command: CancelOrder, venue_order_id: str | None) -> None:
        seen.append(venue_order_id)

    node.venue.cancel_order = cancel  # type: ignore[method-assign]
    async with anyio.create_task_group() as group:
        await group.start(node.bridge.run)
        node.submit("a")
        node.deliver(OrderAccepted(strategy_id="s1", client_order_id="a",
                                   instrument_id=INSTRUMENT_ID, venue_order_id="V-42",
                                   ts_event=START, ts_init=START))
        node.graph.bus.send(RISK_EXECUTE, CancelOrder(strategy_id="s1", client_order_id="a",
                                                      instrument_id=INSTRUMENT_ID,
                                                      ts_event=START, ts_init=START))
        await settle()
        group.cancel_scope.cancel()
    assert seen == ["V-42"]
    assert node.status("a") is OrderStatus.PENDING_CANCEL


def test_account_states_go_to_the_portfolio_and_order_events_to_the_order_manager() -> None:
    from engine.events.fills import AccountState

    state = AccountState(venue="SIM", account_id="a", balances=(), ts_event=0, ts_init=0)
    accepted = OrderAccepted(strategy_id="s", client_order_id="c", instrument_id=INSTRUMENT_ID,
                             venue_order_id="v", ts_event=0, ts_init=0)
    assert venue_event_endpoint(state) == PORTFOLIO_PROCESS
    assert venue_event_endpoint(accepted) == ORDERS_PROCESS


def test_a_client_built_before_attach_delivers_through_the_bridge_to_the_attached_sink() -> None:
    # A binding builds its client before the node exists: the client is given the
    # bridge's `deliver`, and its events reach whatever sink the node attached later.
    early: list[Event] = []
    late: list[Event] = []
    bridge = ExecutionBridge(ScriptedExecutionClient("SIM"), deliver=early.append,
                             orders=make_graph(clock=SimClock(start_ns=START)).orders)
    client_sink = bridge.deliver
    event = OrderAccepted(strategy_id="s1", client_order_id="c1", instrument_id=INSTRUMENT_ID,
                          venue_order_id="v1", ts_event=START, ts_init=START)

    client_sink(event)
    bridge.attach(gate=SendGate(), deliver=late.append)
    client_sink(event)

    assert early == [event] and late == [event]
