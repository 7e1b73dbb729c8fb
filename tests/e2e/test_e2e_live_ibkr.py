"""`tradebus run` live at the fake TWS gateway through ib_async: trade, stop, crash, reconcile.

At both server versions the fake speaks (157, 178), the daemon runs as a subprocess
with a `kind = "ibkr"` venue and a `kind = "ibkr"` trades feed (two connections, two
client ids) to a fake gateway the test serves on 127.0.0.1.
The strategy (live_strategy.py) buys at market on the first trade tick; the gateway
fills it in two parts with commission; the strategy then rests a sell at 160. Both
orders are journaled before they reach the gateway, the fills are journaled as inputs,
and SIGTERM ends the daemon with exit code 0, the sell left working (open orders stay
across a graceful stop unless configured otherwise).

Killed (SIGKILL) with that sell working, the daemon is restarted after the gateway
filled 4 of it and someone placed a sell at TWS by hand (client id 0, seen only through
reqAllOpenOrders): reconciliation books the fill once (by IB's execId), adopts the order
placed by hand as external, and the books' cash, position and open orders are the
gateway's; nothing is placed twice.

`tradebus record` of the same file records the IBKR feed's trades: what the gateway
printed, in order, stamped with the engine time they arrived at.

The in-process tests attach a handler to ib_async's decoder logger to fail on a message
it dropped; here the client is in the daemon, so the test checks what that would break:
every fill and order status arrived.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import anyio
import pytest
from daemon_support import (
    journal_path,
    read_journal,
    rebuild,
    records_journaled,
    start_daemon,
    stop_daemon,
    tail,
)

from adapters.data.recording import RecordingSource
from engine.domain.enums import OrderSide, OrderStatus, OrderType
from engine.events.fills import AccountUpdated, OrderFilled
from engine.events.market import TradeTick
from engine.events.orders import EXTERNAL_STRATEGY_ID, ExternalOrderAdopted
from engine.topics import ORDERS_PROCESS, venue_endpoint
from tests.fakes.tws import SUPPORTED_VERSIONS, FakeTws
from tests.fakes.tws.model import cash, positions

pytestmark = pytest.mark.e2e

AAPL_CON_ID = 265598
WAIT_S = 20.0


def live_config(folder: Path, port: int) -> Path:
    text = f'''
mode = "live"

[runtime]
clock_origin = "wall"
speed = 1.0
log_format = "json"

[api]
enabled = false

[portfolio]
account_id = "DU1234567"
base_currency = "USD"
starting_balances = {{ USD = "100000" }}

[[venues]]
kind = "ibkr"
venue = "IBKR"
[venues.connection]
port = {port}
client_id = 51
connect_timeout_s = 2.0
[venues.connection.backoff]
initial_s = 0.05
maximum_s = 0.2
[[venues.contracts]]
instrument_id = "AAPL.IBKR"
sec_type = "STK"
symbol = "AAPL"

[[instruments]]
symbol = "AAPL"
venue = "IBKR"
base_currency = "AAPL"
quote_currency = "USD"
price_increment = "0.01"
size_increment = "1"
min_quantity = "1"

[[feeds]]
kind = "ibkr"
instrument_id = "AAPL.IBKR"
data = ["trades"]
[feeds.contract]
instrument_id = "AAPL.IBKR"
sec_type = "STK"
symbol = "AAPL"
[feeds.connection]
port = {port}
client_id = 52
connect_timeout_s = 2.0

[[strategies]]
id = "ticker"
class = "live_strategy:BuyThenRestSell"
[strategies.params]
instrument_id = "AAPL.IBKR"
quantity = "10"
exit_price = "160.00"
'''
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "live.toml"
    path.write_text(text)
    return path


def fills_journaled(config: Path) -> int:
    return records_journaled(journal_path(config.parent), "order.filled", inputs_only=True)


@pytest.mark.parametrize("server_version", SUPPORTED_VERSIONS, ids=lambda v: f"v{v}")
async def test_live_ibkr_daemon_trades_at_the_gateway_and_stops_gracefully(
    tmp_path: Path, server_version: int,
) -> None:
    folder = tmp_path / "daemon"
    async with FakeTws(server_version=server_version) as fake:
        config = live_config(folder, fake.port)
        daemon = start_daemon(config)
        filled = False
        with anyio.fail_after(WAIT_S):
            while len(fake.working_orders()) < 1 or not filled:
                if daemon.poll() is not None:
                    raise AssertionError(f"the daemon exited {daemon.returncode}:\n"
                                         f"{tail(folder / 'daemon.log')}")
                working = fake.working_orders()
                if not filled and working and working[0].order_type == "MKT":
                    fake.fill(working[0], Decimal(4), Decimal("150.05"))
                    fake.fill(working[0], Decimal(6), Decimal("150.10"))
                    filled = True
                if fake.subscriber_count(AAPL_CON_ID):
                    fake.push_trade(AAPL_CON_ID, Decimal("150.00"), Decimal(100))
                await anyio.sleep(0.1)
            while fills_journaled(config) < 2:  # noqa: ASYNC110 (another process writes it)
                await anyio.sleep(0.05)
        await stop_daemon(daemon, signal.SIGTERM)
        placed = [(o.action, o.order_type, o.quantity, o.limit_price, o.status)
                  for o in fake.orders.values()]

    records = read_journal(folder)
    sent = [r.message for r in records if r.kind == "command.submit_order"
            and r.topic == venue_endpoint("IBKR")]
    fills = [r.message for r in records if type(r.message) is OrderFilled and r.is_input
             and r.topic == ORDERS_PROCESS]
    assert daemon.returncode == 0
    assert [(c.side, c.order_type, c.quantity) for c in sent] == [
        (OrderSide.BUY, OrderType.MARKET, Decimal(10)),
        (OrderSide.SELL, OrderType.LIMIT, Decimal(10))]
    assert placed == [("BUY", "MKT", Decimal(10), None, "Filled"),
                      ("SELL", "LMT", Decimal(10), Decimal("160.00"), "Submitted")]
    assert [(f.last_quantity, f.last_price, f.commission) for f in fills] == [
        (Decimal(4), Decimal("150.05"), Decimal("1.0")),
        (Decimal(6), Decimal("150.10"), Decimal("1.0"))]
    assert [r for r in records if r.is_input][-1].kind == "system.session_stopping"


def recorded_count(recording: Path) -> int:
    try:
        return len(list(RecordingSource(recording)))
    except (OSError, sqlite3.Error):  # not made yet, or its schema not written yet
        return 0


async def test_tradebus_record_records_the_ibkr_feed_of_a_live_file(tmp_path: Path) -> None:
    folder = tmp_path / "daemon"
    recording = tmp_path / "recorded" / "aapl.sqlite"
    prices = [Decimal("150.00") + Decimal(i) / 100 for i in range(5)]
    async with FakeTws(server_version=178) as fake:
        config = live_config(folder, fake.port)
        recorder = start_daemon(config, "record", str(config), "--out", str(recording))
        with anyio.fail_after(WAIT_S):
            while not fake.subscriber_count(AAPL_CON_ID):
                if recorder.poll() is not None:
                    raise AssertionError(f"record exited {recorder.returncode}:\n"
                                         f"{tail(folder / 'record.log')}")
                await anyio.sleep(0.05)
        for price in prices:
            fake.push_trade(AAPL_CON_ID, price, Decimal(100))
        with anyio.fail_after(WAIT_S):  # written (the recorder writes behind, in batches)
            while recorded_count(recording) < len(prices):  # noqa: ASYNC110 (another process)
                await anyio.sleep(0.05)
        await stop_daemon(recorder, signal.SIGTERM)

    recorded = list(RecordingSource(recording))
    assert recorder.returncode == 0
    assert [(type(item), item.instrument_id, item.price) for item in recorded] == [
        (TradeTick, "AAPL.IBKR", float(price)) for price in prices]
    assert fake.orders == {}  # recording needs no venue: nothing was traded


async def tick_until(fake: FakeTws, process: subprocess.Popen[bytes], done: Callable[[], bool],
                     log: Path) -> None:
    """Print a trade at the gateway every 100 ms, and fill each market order working there
    at once (10 at 150.05), until `done()`; the daemon must stay alive."""
    with anyio.fail_after(WAIT_S):
        while not done():
            if process.poll() is not None:
                raise AssertionError(f"the daemon exited {process.returncode}:\n{tail(log)}")
            for order in fake.working_orders():
                if order.order_type == "MKT":
                    fake.fill(order, order.remaining, Decimal("150.05"))
            if fake.subscriber_count(AAPL_CON_ID):
                fake.push_trade(AAPL_CON_ID, Decimal("150.00"), Decimal(100))
            await anyio.sleep(0.1)


@pytest.mark.parametrize("server_version", SUPPORTED_VERSIONS, ids=lambda v: f"v{v}")
async def test_live_ibkr_daemon_killed_and_restarted_reconciles_with_the_gateway(
    tmp_path: Path, server_version: int,
) -> None:
    folder = tmp_path / "daemon"
    log = folder / "daemon.log"
    async with FakeTws(server_version=server_version) as fake:
        # The gateway's execution times are real time, as the engine's live clock is
        # (reconciliation asks for trades since a look-back from its own time).
        fake.advance(int(time.time()) - fake.time_s)
        config = live_config(folder, fake.port)
        first = start_daemon(config)
        await tick_until(fake, first, lambda: any(
            o.order_type == "LMT" for o in fake.working_orders()), log)
        killed = await stop_daemon(first, signal.SIGKILL)
        with anyio.fail_after(WAIT_S):  # the gateway saw both connections go
            await fake.wait_until(lambda: fake.session_count == 0)

        [sell] = fake.working_orders()
        while_down = fake.fill(sell, Decimal(4), Decimal("160.00"))  # nobody listens
        by_hand = fake.place_by_hand(AAPL_CON_ID, "SELL", Decimal(5), Decimal("170.00"))
        second = start_daemon(config)
        await tick_until(fake, second, lambda: records_journaled(
            journal_path(folder), "system.session_started") >= 2, log)
        last = await stop_daemon(second, signal.SIGTERM)
        gateway_cash = cash(fake.starting_cash, fake.executions)
        [(_, gateway_position, _)] = positions(fake.executions)
        placed = [(o.action, o.order_type, o.quantity) for o in fake.orders.values()
                  if o.client_id]

    records = read_journal(folder)
    fills = [r.message for r in records if type(r.message) is OrderFilled and r.is_input
             and r.topic == ORDERS_PROCESS]
    adopted = [r.message for r in records if r.is_input and type(r.message) is
               ExternalOrderAdopted and r.message.strategy_id == EXTERNAL_STRATEGY_ID]
    accounts = [r.message for r in records if type(r.message) is AccountUpdated]
    state = rebuild(config, records)
    assert (killed, last) == (-signal.SIGKILL, 0)
    assert placed == [("BUY", "MKT", Decimal(10)), ("SELL", "LMT", Decimal(10))]  # once each
    assert [(f.side, f.last_quantity, f.last_price, f.trade_id) for f in fills] == [
        (OrderSide.BUY, Decimal(10), Decimal("150.05"), fills[0].trade_id),
        (OrderSide.SELL, Decimal(4), Decimal("160.00"), while_down.exec_id)]  # booked once
    assert [(a.venue_order_id, a.side, a.quantity, a.price) for a in adopted] == [
        (str(by_hand.perm_id), OrderSide.SELL, Decimal(5), Decimal("170.00"))]
    # The books are the gateway's: cash after both fills and commissions, and 6 held.
    assert {b.currency: b.total for b in accounts[-1].balances} == {
        "USD": gateway_cash, "AAPL": gateway_position}
    assert [(p[0], p[3]) for p in state["positions"]] == [("ticker", gateway_position)]
    working = [(side, quantity, status, filled) for _, side, quantity, status, filled, _
               in state["orders"] if status is not OrderStatus.FILLED]
    assert working == [(OrderSide.SELL, Decimal(10), OrderStatus.PARTIALLY_FILLED, Decimal(4)),
                       (OrderSide.SELL, Decimal(5), OrderStatus.ACCEPTED, Decimal(0))]
    assert len(state["open_orders"]) == 2  # ours, 6 left, and the one placed by hand
