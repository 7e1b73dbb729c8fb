"""Brackets and OCO pairs the gateway links itself, end to end through the trading node,
the IBKR binding, ib_async and the fake gateway.

With `native_order_lists` on (the default), a bracket reaches the gateway as IB's
attached orders: the entry with transmit off, both exits attached to it (parentId) in
one OCA group, the second exit transmitting all three. The gateway, not the engine,
then activates the exits once the entry filled and cancels the other exit when one
fills: the engine sends no cancel or modify, and still books every fill once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import anyio
import pytest

from adapters.ibkr import IbkrVenueBinding
from engine.actors.risk import RiskConfig
from engine.domain.enums import OrderSide, OrderStatus, OrderType
from engine.events.contingency import OrderListClosed
from engine.events.fills import OrderFilled
from engine.events.market import Bar
from engine.persistence import JournalReader
from engine.runtime import TradingNode
from engine.strategy import OrderListIds, Strategy
from tests.fakes.tws import SUPPORTED_VERSIONS, FakeOrder, FakeTws, decode_error_guard
from tests.integration.test_integration_ibkr_node import (
    AAPL_CON_ID,
    BAR_TYPE,
    make_node as ibkr_node,
)

pytestmark = pytest.mark.integration

D = Decimal


class PlacesList(Strategy):
    """On the first bar: a bracket (buy 10, stop 145, target 155), or a market buy of 10
    and, once it filled (the bars may all be in by then), an OCO pair of sells (limit 155,
    stop 145)."""

    def __init__(self, strategy_id: str, kind: str) -> None:
        super().__init__(strategy_id)
        self.kind = kind
        self.ids: OrderListIds | None = None
        self.bought = D(0)
        self.closed: list[OrderListClosed] = []

    def on_start(self) -> None:
        self.subscribe_bars(BAR_TYPE)

    def on_bar(self, bar: Bar) -> None:
        instrument = BAR_TYPE.instrument_id
        if self.ids is not None or self.open_orders() or self.bought:
            return
        if self.kind == "bracket":
            self.ids = self.bracket_order(instrument, OrderSide.BUY, 10, stop_loss=145,
                                          take_profit=155)
        else:
            self.market_order(instrument, OrderSide.BUY, 10)

    def on_order_filled(self, fill: OrderFilled) -> None:
        self.bought += fill.last_quantity if fill.side is OrderSide.BUY else 0
        if self.kind == "oco" and self.ids is None and self.bought == 10:
            instrument = BAR_TYPE.instrument_id
            self.ids = self.oco_orders(
                self.new_order(instrument, OrderSide.SELL, OrderType.LIMIT, 10, price=155),
                self.new_order(instrument, OrderSide.SELL, OrderType.STOP_MARKET, 10,
                               trigger_price=145))

    def on_order_list_closed(self, event: OrderListClosed) -> None:
        self.closed.append(event)


def make_node(fake: FakeTws, journal: Path, done: anyio.Event, strategy: PlacesList, *,
              risk: RiskConfig | None = None) -> tuple[TradingNode, IbkrVenueBinding]:
    return ibkr_node(fake, journal, done, strategy, risk=risk, client_id=52,
                     prices=(150.0,) * 4)


async def run_node(node: TradingNode, gateway: Callable[[], Awaitable[None]]) -> None:
    """Run the node until its feed finishes, beside `gateway` (which sets it done)."""
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(gateway)
            assert await node.run() == 0


def by_ref(fake: FakeTws) -> dict[str, FakeOrder]:
    return {order.order_ref: order for order in fake.orders.values()}


def journaled_fills(journal: Path) -> list[tuple[str, Decimal, Decimal]]:
    return [(r.message.client_order_id, r.message.last_quantity, r.message.last_price)
            for r in JournalReader(journal).records() if r.kind == "order.filled" and r.is_input]


@pytest.mark.parametrize("server_version", SUPPORTED_VERSIONS, ids=lambda v: f"v{v}")
async def test_bracket_is_linked_at_the_gateway_and_its_exits_trade_there(
    server_version: int, tmp_path: Path,
) -> None:
    journal = tmp_path / "journal.sqlite"
    strategy = PlacesList("bracketer", "bracket")
    with decode_error_guard():
        async with FakeTws(server_version=server_version) as fake:
            done = anyio.Event()
            node, binding = make_node(fake, journal, done, strategy)
            client = binding.execution_client()

            async def gateway() -> None:
                await fake.wait_until(lambda: len(fake.orders) == 3 and all(
                    not order.held for order in fake.orders.values()))
                assert strategy.ids is not None
                entry, stop, target = (by_ref(fake)[cid] for cid in strategy.ids.client_order_ids)
                assert (stop.parent_id, target.parent_id) == (entry.order_id, entry.order_id)
                assert stop.oca_group == target.oca_group == strategy.ids.order_list_id
                assert [o.status for o in (entry, stop, target)] == [
                    "Submitted", "PreSubmitted", "PreSubmitted"]
                fake.trade_through(AAPL_CON_ID, D("150.00"))  # the entry: exits activate
                await fake.wait_until(lambda: stop.status == "Submitted")
                fake.trade_through(AAPL_CON_ID, D("155.00"))  # the target: stop canceled
                while not strategy.closed:  # noqa: ASYNC110 (the strategy's own list)
                    await anyio.sleep(0.01)
                await client.ib.reqCurrentTimeAsync()
                done.set()

            await run_node(node, gateway)
            graph = node.graph
            assert graph is not None and strategy.ids is not None
            entry_id, stop_id, target_id = strategy.ids.client_order_ids
            statuses = [graph.orders.order(i).status  # type: ignore[union-attr]
                        for i in strategy.ids.client_order_ids]
            contingency = graph.contingency.statistics()
            position = graph.portfolio.net_quantity("AAPL.IBKR")

    assert journaled_fills(journal) == [(entry_id, D(10), D("150.00")),
                                        (target_id, D(10), D("155.00"))]
    assert statuses == [OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.FILLED]
    assert (contingency.lists_native, contingency.cancels_sent, contingency.modifies_sent) == (
        1, 0, 0)
    assert [c.reason for c in strategy.closed] == ["every order of the list is done"]
    assert position == 0


async def test_bracket_exit_refused_by_risk_drops_the_held_entry_at_the_gateway(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal.sqlite"
    strategy = PlacesList("bracketer", "bracket")
    with decode_error_guard():
        async with FakeTws(server_version=SUPPORTED_VERSIONS[-1]) as fake:
            done = anyio.Event()
            # The take-profit (10 x 155 = 1,550) is over the limit, the rest is not.
            node, binding = make_node(fake, journal, done, strategy,
                                      risk=RiskConfig(max_order_notional=D(1_520)))

            async def gateway() -> None:
                while not strategy.closed:  # noqa: ASYNC110 (the strategy's own list)
                    await anyio.sleep(0.01)
                await binding.execution_client().ib.reqCurrentTimeAsync()
                done.set()

            await run_node(node, gateway)
            placed = {ref: order.status for ref, order in by_ref(fake).items()}
            graph = node.graph
            assert graph is not None and strategy.ids is not None
            entry_id, stop_id, target_id = strategy.ids.client_order_ids
            statuses = [graph.orders.order(i).status  # type: ignore[union-attr]
                        for i in strategy.ids.client_order_ids]

    # Nothing ever worked at the gateway: the entry and its first exit were held there,
    # untransmitted, and dropped with the cancel; no fill.
    assert placed == {entry_id: "Cancelled", stop_id: "Cancelled"}
    assert statuses == [OrderStatus.CANCELED, OrderStatus.CANCELED, OrderStatus.DENIED]
    assert journaled_fills(journal) == []
    assert strategy.closed[0].reason == f"parent {entry_id} ended canceled with no fill"


@pytest.mark.parametrize("server_version", SUPPORTED_VERSIONS, ids=lambda v: f"v{v}")
async def test_oco_pair_is_an_oca_group_at_the_gateway(
    server_version: int, tmp_path: Path,
) -> None:
    journal = tmp_path / "journal.sqlite"
    strategy = PlacesList("oco", "oco")
    with decode_error_guard():
        async with FakeTws(server_version=server_version) as fake:
            done = anyio.Event()
            node, binding = make_node(fake, journal, done, strategy)
            client = binding.execution_client()

            async def gateway() -> None:
                await fake.wait_until(lambda: len(fake.orders) == 1)
                fake.trade_through(AAPL_CON_ID, D("150.00"))  # the first market buy
                await fake.wait_until(lambda: len(fake.orders) == 3)
                assert strategy.ids is not None
                limit, stop = (by_ref(fake)[cid] for cid in strategy.ids.client_order_ids)
                assert limit.oca_group == stop.oca_group == strategy.ids.order_list_id
                fake.trade_through(AAPL_CON_ID, D("155.00"), max_quantity=D(4))
                await fake.wait_until(lambda: stop.quantity == 6)  # the gateway shrank it
                fake.trade_through(AAPL_CON_ID, D("155.00"))
                while not strategy.closed:  # noqa: ASYNC110 (the strategy's own list)
                    await anyio.sleep(0.01)
                await client.ib.reqCurrentTimeAsync()
                done.set()

            await run_node(node, gateway)
            graph = node.graph
            assert graph is not None and strategy.ids is not None
            limit_id, stop_id = strategy.ids.client_order_ids
            stop_record = graph.orders.order(stop_id)
            contingency = graph.contingency.statistics()
            position = graph.portfolio.net_quantity("AAPL.IBKR")

    assert [f[1:] for f in journaled_fills(journal) if f[0] == limit_id] == [
        (D(4), D("155.00")), (D(6), D("155.00"))]
    assert stop_record is not None and stop_record.status is OrderStatus.CANCELED
    assert (contingency.cancels_sent, contingency.modifies_sent) == (0, 0)
    assert position == 0
