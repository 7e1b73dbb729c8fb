"""Emulated stops on a live ccxt venue: held in the engine, sent to the exchange only at
their trigger, as the plain order they release.

The ccxt adapter places market and limit orders only, so the node has the order emulator
hold every other type for a ccxt venue (`engine.actors.emulator`). These tests run the
daemon's node in-process with a `kind = "ccxt"` venue and trades feed, both on the fake
Binance (127.0.0.1, the real ccxt 4.5.90 client), and a strategy written by the test that
places a sell stop-market below the market on the first trade it sees. They prove what
the unit tests cannot: that while the tape stays above the trigger the exchange is never
asked anything about the stop, that a trade through the trigger on the exchange's stream
makes exactly one MARKET order reach the exchange under the engine's client order id (and
its one fill booked), and that a stop canceled while held never reaches the exchange.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import anyio
import pytest

from adapters.ccxt.ids import exchange_client_id
from api.compose import build_node, default_registry, load_daemon_config
from engine.domain.enums import OrderSide, OrderStatus, OrderType
from engine.domain.order import Order
from engine.graph import TradingGraph
from engine.persistence import JournalReader
from engine.runtime.node import TradingNode
from engine.runtime.runner import RunnerState
from tests.fakes.binance import FakeBinance, running_fake
from tests.fakes.binance.ccxt_support import ENVIRON, INSTRUMENT_ID, binance_instrument

pytestmark = pytest.mark.integration

WAIT_S = 15.0
STRATEGY_ID = "stops"
TRIGGER = Decimal("95.00")
ORDER_PATHS = ("POST /api/v3/order", "DELETE /api/v3/order")

STRATEGY_MODULE = '''
from decimal import Decimal
from engine.domain.enums import OrderSide
from engine.strategy import Strategy, StrategyConfig

class StopBelowConfig(StrategyConfig, kw_only=True, frozen=True):
    instrument_id: str
    quantity: Decimal
    trigger_price: Decimal
    cancel_at: Decimal | None = None

class StopBelow(Strategy):
    """A sell stop-market on the first trade; canceled on a trade at `cancel_at`."""
    config_type = StopBelowConfig

    def on_start(self):
        self.stop_id = None
        self.subscribe_trade_ticks(self.config.instrument_id)

    def on_trade_tick(self, tick):
        config = self.config
        if self.stop_id is None:
            self.stop_id = self.stop_market_order(config.instrument_id, OrderSide.SELL,
                                                  config.quantity, config.trigger_price)
        elif config.cancel_at is not None and tick.price == float(config.cancel_at):
            self.cancel_order(self.stop_id)
'''


def live_on_fake(folder: Path, fake: FakeBinance, cancel_at: str | None) -> Path:
    """A live daemon file: the fake's BTC/USDT traded and streamed through ccxt."""
    urls = ", ".join(f'"{original}" = "{replacement}"' for original, replacement in
                     fake.urls.items())
    instrument = binance_instrument()  # the terms the adapter loads from exchangeInfo
    terms = "\n".join(f'{name} = "{getattr(instrument, name)}"' for name in (
        "price_increment", "size_increment", "min_quantity", "min_notional", "maker_fee",
        "taker_fee"))
    params = f'instrument_id = "{INSTRUMENT_ID}", quantity = "0.1", trigger_price = "{TRIGGER}"'
    params += "" if cancel_at is None else f', cancel_at = "{cancel_at}"'
    path = folder / "live.toml"
    path.write_text(f'''mode = "live"
[runtime]
clock_origin = "wall"
cancel_open_orders_on_stop = false
[api]
enabled = false
[portfolio]
account_id = "BINANCE-spot"
base_currency = "USDT"
starting_balances = {{ USDT = "100000", BTC = "10" }}
[[venues]]
kind = "ccxt"
venue = "BINANCE"
symbols = ["BTC/USDT"]
request_timeout_s = 2.0
recv_window_s = 1.0
backstop_interval_s = 0.5
reconnect_initial_s = 0.05
reconnect_max_s = 0.2
urls = {{ {urls} }}
[[instruments]]
symbol = "BTC/USDT"
venue = "BINANCE"
base_currency = "BTC"
quote_currency = "USDT"
{terms}
[[feeds]]
kind = "ccxt"
instrument_id = "{INSTRUMENT_ID}"
stream = "trades"
reconnect_initial_s = 0.05
reconnect_max_s = 0.2
urls = {{ {urls} }}
[[strategies]]
id = "{STRATEGY_ID}"
class = "stop_below:StopBelow"
params = {{ {params} }}
''')
    return path


@asynccontextmanager
async def running_node(folder: Path, monkeypatch: pytest.MonkeyPatch,
                       cancel_at: str | None = None) -> AsyncIterator[tuple[FakeBinance,
                                                                            TradingNode]]:
    """The fake (a book of 99.99 / 100.01) and the node on it, stopped gracefully on exit."""
    (folder / "stop_below.py").write_text(STRATEGY_MODULE)
    monkeypatch.syspath_prepend(str(folder))
    async with running_fake() as fake:
        # A real exchange stamps with (about) the engine's clock; the fake's starts at a
        # fixed origin, so reconciliation's look-back (and the emulator) would see the past.
        fake.state.now_ms = time.time_ns() // 1_000_000
        fake.set_level("BUY", "99.99", "1000")
        fake.set_level("SELL", "100.01", "1000")
        registry = default_registry()
        config, file = load_daemon_config(live_on_fake(folder, fake, cancel_at),
                                          environ=ENVIRON, registry=registry)
        node = build_node(config, file=file, cwd=folder, registry=registry, environ=ENVIRON)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(node.run)
            try:
                yield fake, node
            finally:
                node.request_stop()
        assert node.state is RunnerState.STOPPED


def tape(fake: FakeBinance, price: str) -> None:
    """A public trade at `price`, stamped at the wall time as a real exchange's is (the
    fake's clock moves a millisecond per change only)."""
    fake.state.now_ms = max(fake.state.now_ms + 1, time.time_ns() // 1_000_000)
    fake.trade(price, "0.01")


async def wait_until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(WAIT_S):
        while not condition():  # noqa: ASYNC110 (the node's tasks set no event for us)
            await anyio.sleep(0.02)


def graph_of(node: TradingNode) -> TradingGraph:
    assert node.graph is not None
    return node.graph


def status_of(node: TradingNode, client_order_id: str) -> OrderStatus | None:
    order = graph_of(node).orders.order(client_order_id)
    return None if order is None else order.status


async def seen(fake: FakeBinance, node: TradingNode, price: str) -> None:
    """Print `price` and wait until the engine's market cache has it (the feed delivered)."""
    tape(fake, price)
    await wait_until(lambda: graph_of(node).cache.last_price(INSTRUMENT_ID) == float(price))


async def held_stop(fake: FakeBinance, node: TradingNode) -> Order:
    """Print 100.00 until the strategy, on the first trade it sees, has placed its stop;
    then trade down to just above the trigger; the stop is held, the exchange untouched."""

    def placed() -> bool:
        return node.graph is not None and bool(node.graph.orders.orders(strategy_id=STRATEGY_ID))

    with anyio.fail_after(WAIT_S):
        while not placed():
            if node.state is RunnerState.RUNNING and fake.open_sockets(private=False):
                tape(fake, "100.00")
            await anyio.sleep(0.1)
    for price in ("97.50", "95.01"):  # above the trigger: nothing to release
        await seen(fake, node, price)
    (order,) = graph_of(node).orders.orders(strategy_id=STRATEGY_ID)
    assert (order.status, order.order_type, order.side, order.quantity, order.trigger_price) \
        == (OrderStatus.EMULATED, OrderType.STOP_MARKET, OrderSide.SELL, Decimal("0.1"), TRIGGER)
    assert graph_of(node).emulator.held(order.client_order_id) is not None
    assert [r for r in fake.requests if r in ORDER_PATHS] == []
    assert fake.state.orders == {}
    return order


def order_events(folder: Path, client_order_id: str) -> list[str]:
    """The order events of `client_order_id` as published (once), in journal order."""
    records = JournalReader(folder / "tradebus-data" / "journal.sqlite").records()
    return [r.kind for r in records if r.topic.startswith("events.order")
            and getattr(r.message, "client_order_id", None) == client_order_id]


async def test_held_stop_reaches_the_exchange_only_at_its_trigger_as_one_market_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_node(tmp_path, monkeypatch) as (fake, node):
        stop = await held_stop(fake, node)
        cid = stop.client_order_id
        fake.set_level("BUY", "99.99", "0")  # the book falls with the tape
        fake.set_level("BUY", "93.99", "1000")
        tape(fake, "94.00")  # through the trigger
        await wait_until(lambda: status_of(node, cid) is OrderStatus.FILLED)
        await seen(fake, node, "93.50")  # one more trade: nothing is released twice
        graph = graph_of(node)
        order = graph.orders.order(cid)
        booked = graph.orders.booked_trade_ids(cid)
        fills = [f for f in graph.portfolio.fills() if f.client_order_id == cid]
        emulator = graph.emulator.statistics()

    assert fake.requests.count("POST /api/v3/order") == 1
    assert "DELETE /api/v3/order" not in fake.requests
    (placed,) = fake.state.orders.values()
    assert (placed.client_order_id, placed.type, placed.side, placed.quantity, placed.status) \
        == (exchange_client_id(cid), "MARKET", "SELL", Decimal("0.1"), "FILLED")
    (trade,) = fake.state.trades
    assert order is not None
    assert (order.status, order.order_type, order.released_from, order.trigger_price) == (
        OrderStatus.FILLED, OrderType.MARKET, OrderType.STOP_MARKET, TRIGGER)
    assert (order.filled_quantity, order.average_fill_price, order.venue_order_id) == (
        Decimal("0.1"), Decimal("93.99"), str(placed.order_id))
    assert booked == (str(trade.trade_id),)
    assert [(f.last_quantity, f.last_price) for f in fills] == [(Decimal("0.1"), Decimal("93.99"))]
    assert (emulator.held, emulator.emulated, emulator.released) == (0, 1, 1)
    assert order_events(tmp_path, cid) == ["order.emulated", "order.released", "order.submitted",
                                           "order.accepted", "order.filled"]


async def test_stop_canceled_while_held_never_reaches_the_exchange(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_node(tmp_path, monkeypatch, cancel_at="96.00") as (fake, node):
        stop = await held_stop(fake, node)
        cid = stop.client_order_id
        await seen(fake, node, "96.00")  # the strategy cancels on this trade
        await wait_until(lambda: status_of(node, cid) is OrderStatus.CANCELED)
        await seen(fake, node, "94.00")  # through the old trigger: nothing is released
        graph = graph_of(node)
        order = graph.orders.order(cid)
        emulator = graph.emulator.statistics()

    assert [r for r in fake.requests if r in ORDER_PATHS] == []
    assert fake.state.orders == {} and fake.state.trades == []
    assert order is not None
    assert (order.status, order.order_type, order.released_from, order.filled_quantity) == (
        OrderStatus.CANCELED, OrderType.STOP_MARKET, None, Decimal(0))
    assert (emulator.held, emulator.emulated, emulator.canceled, emulator.released) == (
        0, 1, 1, 0)
    assert order_events(tmp_path, cid) == ["order.emulated", "order.canceled"]
