"""A restart reconciled to the exchange's truth: the engine's reconciliation asks a new
ccxt client (no memory of the last session) and the books match the fake Binance.

Session one: a real graph (order manager, portfolio, risk) trades through an
ExecutionBridge over a CcxtExecutionClient; a resting buy is accepted. Then the client
goes away (the daemon was killed). Meanwhile at the exchange: the order fills in part,
and someone places an order by hand. Session two: a fresh client, and
`engine.runtime.reconciliation.reconcile` over the same graph. What the books must say
afterwards: the fill booked (inferred, by the exchange's trade id), the hand-placed
order adopted as external, the balances the exchange's, and a second reconciliation
finds nothing left to do. Then both orders fill at the exchange: the new client, which
placed neither, delivers the fills and the books still agree with the exchange.
"""

from __future__ import annotations

import time
from decimal import Decimal

import anyio
import pytest

from adapters.ccxt import CcxtExecutionClient
from engine.clock import SimClock
from engine.domain.enums import OrderSide, OrderStatus, OrderType
from engine.events.base import Event
from engine.events.fills import OrderFilled
from engine.events.orders import EXTERNAL_STRATEGY_ID, SubmitOrder
from engine.graph import TradingGraph
from engine.runtime.execution import ExecutionBridge, SendGate
from engine.runtime.reconciliation import reconcile
from engine.testing import make_graph
from engine.topics import ORDERS_PROCESS, RISK_EXECUTE
from tests.fakes.binance import FakeBinance, running_fake
from tests.fakes.binance.ccxt_support import (
    INSTRUMENT_ID,
    binance_instrument,
    execution_client,
)

pytestmark = pytest.mark.integration


class Session:
    """The graph, and a bridge over whichever ccxt client is running now."""

    def __init__(self) -> None:
        self.clock = SimClock(start_ns=time.time_ns())
        self.graph: TradingGraph = make_graph(clock=self.clock,
                                              instruments=[binance_instrument()])
        self.client: CcxtExecutionClient | None = None
        self.injected: list[Event] = []

    def deliver(self, event: Event) -> None:
        self.graph.bus.send(ORDERS_PROCESS, event)

    def inject(self, event: Event, endpoint: str) -> None:
        self.injected.append(event)
        self.graph.bus.send(endpoint, event)


async def test_restart_books_the_fill_made_while_down_and_adopts_the_hand_placed_order(
) -> None:
    session = Session()
    async with running_fake() as fake:
        fake.set_level("SELL", "100.01", "1000")
        fake.set_level("BUY", "99.99", "1000")
        await first_session(session, fake)

        fake.trade_through(Decimal("90.00"), Decimal("0.1"))  # while nobody listens
        by_hand = fake.state.submit({"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT",
                                     "quantity": "0.05", "price": "120.00",
                                     "newClientOrderId": "web_hand"})

        client = execution_client(fake, session.deliver)
        async with anyio.create_task_group() as tasks:
            await tasks.start(client.run)
            report = await reconcile(client, session.graph, since_ns=0,
                                     now_ns=session.clock.timestamp_ns(),
                                     inject=session.inject)
            again = await reconcile(client, session.graph, since_ns=0,
                                    now_ns=session.clock.timestamp_ns(),
                                    inject=session.inject)
            # after the restart both orders trade again: the new client never placed
            # them, and still delivers their fills (the order manager knows whose)
            fake.trade_through(Decimal("90.00"))
            fake.trade_through(Decimal("120.00"))
            with anyio.fail_after(5):
                while not (filled("rest-1", session) and filled("web_hand", session)):  # noqa: ASYNC110
                    await anyio.sleep(0.02)
            last = await reconcile(client, session.graph, since_ns=0,
                                   now_ns=session.clock.timestamp_ns(),
                                   inject=session.inject)
            tasks.cancel_scope.cancel()

    order = session.graph.orders.order("rest-1")
    assert order is not None
    assert (order.status, order.filled_quantity) == (OrderStatus.FILLED, Decimal("0.3"))
    adopted = session.graph.orders.orders(strategy_id=EXTERNAL_STRATEGY_ID)
    assert [(o.venue_order_id, o.status, o.filled_quantity) for o in adopted] == [
        (str(by_hand.order_id), OrderStatus.FILLED, Decimal("0.05"))]
    (inferred,) = [e for e in session.injected if type(e) is OrderFilled]
    assert (inferred.trade_id, inferred.last_quantity, inferred.inferred) == (  # type: ignore[attr-defined]
        str(fake.state.trades[0].trade_id), Decimal("0.1"), True)
    assert not report.agrees and again.agrees and last.agrees
    assert client.statistics().adopted_orders == 2
    portfolio = session.graph.portfolio
    assert {c: portfolio.balance(c) for c in ("BTC", "USDT")} == {
        c: fake.state.balances[c] for c in ("BTC", "USDT")}


async def first_session(session: Session, fake: FakeBinance) -> None:
    client = execution_client(fake, session.deliver)
    bridge = ExecutionBridge(client, deliver=session.deliver, orders=session.graph.orders,
                             gate=SendGate(start_open=True))
    session.graph.add_venue(bridge)
    session.graph.start()
    async with anyio.create_task_group() as tasks:
        await tasks.start(client.run)
        await tasks.start(bridge.run)
        now = session.clock.timestamp_ns()
        session.graph.bus.send(RISK_EXECUTE, SubmitOrder(
            strategy_id="s1", client_order_id="rest-1", instrument_id=INSTRUMENT_ID,
            side=OrderSide.BUY, order_type=OrderType.LIMIT, quantity=Decimal("0.3"),
            price=Decimal("90.00"), ts_event=now, ts_init=now))

        def accepted() -> bool:
            order = session.graph.orders.order("rest-1")
            return order is not None and order.status is OrderStatus.ACCEPTED

        with anyio.fail_after(5):
            while not accepted():  # noqa: ASYNC110 (the bridge and the stream have tasks)
                await anyio.sleep(0.02)
        tasks.cancel_scope.cancel()


def filled(client_order_id: str, session: Session) -> bool:
    order = session.graph.orders.order(client_order_id)
    return order is not None and order.status is OrderStatus.FILLED
