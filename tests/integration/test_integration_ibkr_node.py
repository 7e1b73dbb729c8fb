"""A strategy trades end to end through the trading node, the IBKR binding and the fake gateway.

The real node (journal, recovery, reconciliation, send gate, execution bridge) runs a
strategy that buys on the first bar of AAPL; the order leaves only once journaled,
reaches the fake gateway through ib_async, fills in two parts with commission, and the
fills come back into the journal and the portfolio. A second run on the same journal
is a restart: it reconciles with what the gateway reports and sends nothing twice.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest

from adapters.ibkr import (
    BackoffConfig,
    IbkrConnectionConfig,
    IbkrContractConfig,
    IbkrVenueBinding,
    IbkrVenueConfig,
)
from engine.actors.portfolio import PortfolioConfig
from engine.actors.risk import RiskConfig
from engine.clock import LiveClock
from engine.domain.enums import OrderSide
from engine.events.market import Bar, BarType, Instrument
from engine.graph import TradingGraph
from engine.persistence import JournalReader
from engine.runtime import Deliver, FeedClock, NodeConfig, TradingNode
from engine.strategy import Strategy
from engine.testing import make_bars, make_instrument
from engine.topics import venue_endpoint
from tests.fakes.tws import SUPPORTED_VERSIONS, FakeTws, decode_error_guard

pytestmark = pytest.mark.integration

AAPL_CON_ID = 265598
BAR_TYPE = BarType(instrument_id="AAPL.IBKR", timeframe="1m")
START_NS = 1_764_684_000_000_000_000
FAST = NodeConfig(speed=1_000_000.0, stop_when_feeds_finish=True)
AAPL: Instrument = make_instrument(
    instrument_id="AAPL.IBKR", symbol="AAPL", venue="IBKR", base_currency="AAPL",
    quote_currency="USD", price_increment=Decimal("0.01"), size_increment=Decimal(1),
    min_quantity=Decimal(1), min_notional=Decimal(0), maker_fee=Decimal(0),
    taker_fee=Decimal(0),
)


class BuysOnce(Strategy):
    """Buy 10 at the first bar, if nothing is held or working (so a restart buys nothing)."""

    def on_start(self) -> None:
        self.subscribe_bars(BAR_TYPE)

    def on_bar(self, bar: Bar) -> None:
        if self.net_quantity(BAR_TYPE.instrument_id) == 0 and not self.open_orders():
            self.market_order(BAR_TYPE.instrument_id, OrderSide.BUY, Decimal(10))


class BarsThenWait:
    """Bars of AAPL, then waits for `done` before finishing (the node stops then)."""

    def __init__(self, bars: list[Bar], done: anyio.Event) -> None:
        self.bars = bars
        self.done = done
        self.finished = anyio.Event()

    @property
    def instrument_id(self) -> str:
        return BAR_TYPE.instrument_id

    @property
    def bar_type(self) -> BarType:
        return BAR_TYPE

    def first_event_time(self) -> int | None:
        return self.bars[0].ts_event if self.bars else None

    async def run(self, *, clock: FeedClock, deliver: Deliver,
                  resume_after: tuple[int, int] | None) -> None:
        for bar in self.bars:
            if resume_after is not None and bar.ts_event <= resume_after[0]:
                continue
            await clock.sleep_until(bar.ts_event)
            deliver(msgspec.structs.replace(bar, ts_init=clock.timestamp_ns()))
        await self.done.wait()
        self.finished.set()


class LateOrders:
    """The order manager's view, resolved once the node has built its graph."""

    def __init__(self, holder: dict[str, TradingGraph]) -> None:
        self._holder = holder

    def order(self, client_order_id: str) -> Any:
        return self._holder["graph"].orders.order(client_order_id)

    def open_orders(self, **filters: Any) -> list[Any]:
        return list(self._holder["graph"].orders.open_orders(**filters))

    def open_order_count(self) -> int:
        return int(self._holder["graph"].orders.open_order_count())


def make_node(fake: FakeTws, journal: Path, done: anyio.Event, strategy: Strategy | None = None,
              *, risk: RiskConfig | None = None, client_id: int = 51,
              prices: tuple[float, ...] = (150.0, 150.1, 150.2),
              ) -> tuple[TradingNode, IbkrVenueBinding]:
    """The node trading AAPL at the fake with `strategy` (BuysOnce by default), on bars
    at `prices` a minute apart."""
    holder: dict[str, TradingGraph] = {}

    def graph_factory(clock: LiveClock) -> TradingGraph:
        graph = TradingGraph(
            clock=clock, instruments=[AAPL],
            portfolio=PortfolioConfig(starting_balances={"USD": Decimal(100_000)},
                                      account_id="DU1234567", base_currency="USD"),
            risk=risk or RiskConfig(),
        )
        holder["graph"] = graph
        return graph

    config = IbkrVenueConfig(
        contracts=(IbkrContractConfig(instrument_id="AAPL.IBKR", sec_type="STK",
                                      symbol="AAPL"),),
        connection=IbkrConnectionConfig(port=fake.port, client_id=client_id,
                                        connect_timeout_s=2.0,
                                        backoff=BackoffConfig(initial_s=0.01, seed=2)),
    )
    binding = IbkrVenueBinding(config, orders=LateOrders(holder))
    bars = make_bars(list(prices), start_ns=START_NS, instrument_id="AAPL.IBKR")
    node = TradingNode(FAST, graph_factory=graph_factory,
                       strategies=[strategy or BuysOnce("buyer")],
                       venues=[binding], feeds=[BarsThenWait(bars, done)],
                       journal_path=journal)
    return node, binding


def kinds(journal: Path) -> list[str]:
    """The journal's inputs (what reached the node from outside), by kind."""
    return [record.kind for record in JournalReader(journal).records() if record.is_input]


@pytest.mark.parametrize("server_version", SUPPORTED_VERSIONS, ids=lambda v: f"v{v}")
async def test_strategy_order_fills_through_the_node_and_a_restart_sends_nothing_twice(
    server_version: int, tmp_path: Path,
) -> None:
    journal = tmp_path / "journal.sqlite"
    with decode_error_guard():
        async with FakeTws(server_version=server_version) as fake:
            done = anyio.Event()
            node, binding = make_node(fake, journal, done)

            async def gateway() -> None:
                await fake.wait_until(lambda: bool(fake.orders))
                order = next(iter(fake.orders.values()))
                fake.fill(order, Decimal(4), Decimal("150.05"))
                fake.fill(order, Decimal(6), Decimal("150.10"))
                client = binding.execution_client()
                while client.statistics().fills < 2:  # noqa: ASYNC110 (fills are counts)
                    await anyio.sleep(0.01)
                await client.ib.reqCurrentTimeAsync()
                done.set()

            with anyio.fail_after(20):
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(gateway)
                    assert await node.run() == 0
            graph = node.graph
            assert graph is not None
            position = graph.portfolio.net_quantity("AAPL.IBKR")

            again = anyio.Event()
            again.set()
            restarted, _ = make_node(fake, journal, again)
            with anyio.fail_after(20):
                assert await restarted.run() == 0
            placed = len(fake.orders)
            assert restarted.graph is not None
            cash_after = restarted.graph.portfolio.balance("USD")
            position_after = restarted.graph.portfolio.net_quantity("AAPL.IBKR")
            [reconciled] = restarted.reconciliations

    records = list(JournalReader(journal).records())
    fills = [r.message for r in records if r.kind == "order.filled" and r.is_input]
    to_venue = [r for r in records if r.kind == "command.submit_order"
                and r.topic == venue_endpoint("IBKR")]
    accepted = [r for r in records if r.kind == "order.accepted" and r.is_input]
    assert len(to_venue) == 1 and to_venue[0].seq < accepted[0].seq  # journaled, then sent
    assert [(f.last_quantity, f.last_price, f.commission) for f in fills] == [
        (Decimal(4), Decimal("150.05"), Decimal("1.0")),
        (Decimal(6), Decimal("150.10"), Decimal("1.0"))]
    assert position == Decimal(10)
    assert placed == 1  # the restart neither re-sent the order nor bought again
    assert kinds(journal).count("order.filled") == 2
    cash = Decimal(100_000) - 4 * Decimal("150.05") - 6 * Decimal("150.10") - 2
    assert (cash_after, position_after) == (cash, Decimal(10))  # rebuilt from the journal
    assert (reconciled.venue, reconciled.events) == ("IBKR", 0)  # and the gateway agrees
