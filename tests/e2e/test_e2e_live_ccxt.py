"""`tradebus run` live at the fake Binance through ccxt: trade, stop, crash, reconcile.

The daemon runs as a subprocess with a `kind = "ccxt"` venue and a `kind = "ccxt"` trades
feed, both pointed at a fake Binance the test serves on 127.0.0.1 (in its own event
loop), the credentials in the daemon's environment. The strategy (live_strategy.py)
buys at market on the first trade tick, then rests a sell at 120.

1. The buy fills at the fake and the sell rests there; both are in the journal (sent
   only once journaled); SIGTERM stops the daemon gracefully (exit 0), the sell left
   working.
2. Restarted, it reconciles and trades on; then it is killed with SIGKILL, the sell
   still working.
3. While it is down the sell fills in part at the fake and someone places an order by
   hand. Restarted, reconciliation books that fill once (inferred, by the exchange's
   trade id) and adopts the hand-placed order as external; nothing is sent twice.

And parity: `tradebus record` of the same file's ccxt feed, beside a live session, then
`tradebus backtest` of that recording (the simulated venue in place of the exchange)
makes the live session's decisions: the same orders, in the same order.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import anyio
import pytest
from daemon_support import (
    daemon_command,
    journal_path,
    read_journal,
    records_journaled,
    start_daemon,
    stop_daemon,
    tail,
)

from engine.domain.enums import OrderSide, OrderType
from engine.events.orders import EXTERNAL_STRATEGY_ID, ExternalOrderAdopted
from engine.persistence import JournalRecord
from engine.topics import ORDERS_PROCESS, venue_endpoint
from tests.fakes.binance import FakeBinance, running_fake
from tests.fakes.binance.ccxt_support import ENVIRON

pytestmark = pytest.mark.e2e

WAIT_S = 20.0


def live_config(folder: Path, fake: FakeBinance) -> Path:
    """A live daemon file: the fake's BTC/USDT traded and streamed through ccxt."""
    urls = "\n".join(f'"{original}" = "{replacement}"'
                     for original, replacement in fake.urls.items())
    text = f'''
mode = "live"

[runtime]
clock_origin = "wall"
speed = 1.0
log_format = "json"
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
[venues.urls]
{urls}

[[instruments]]
symbol = "BTC/USDT"
venue = "BINANCE"
base_currency = "BTC"
quote_currency = "USDT"
price_increment = "0.01"
size_increment = "0.00001"
min_quantity = "0.00001"
min_notional = "5"
maker_fee = "0.001"
taker_fee = "0.001"

[[feeds]]
kind = "ccxt"
instrument_id = "BTC/USDT.BINANCE"
stream = "trades"
reconnect_initial_s = 0.05
reconnect_max_s = 0.2
[feeds.urls]
{urls}

[[strategies]]
id = "ticker"
class = "live_strategy:BuyThenRestSell"
[strategies.params]
instrument_id = "BTC/USDT.BINANCE"
quantity = "0.1"
exit_price = "120.00"
'''
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "live.toml"
    path.write_text(text)
    return path


def start(config: Path, *command_line: str) -> subprocess.Popen[bytes]:
    """`tradebus run config` (or `command_line`) with the fake's credentials set."""
    return start_daemon(config, *command_line, environ=ENVIRON)


def journaled(folder: Path, kind: str) -> int:
    return records_journaled(journal_path(folder), kind)


async def trade_until(fake: FakeBinance, process: subprocess.Popen[bytes],
                      done: Callable[[], bool], log: Path) -> None:
    """Print a public trade at the fake every 100 ms until `done()` (the daemon alive)."""
    with anyio.fail_after(WAIT_S):
        while not done():
            if process.poll() is not None:
                raise AssertionError(f"the daemon exited {process.returncode}:\n{tail(log)}")
            if fake.open_sockets(private=False):
                fake.trade("100.00", "0.01")
            await anyio.sleep(0.1)


def inputs(records: list[JournalRecord], kind: str) -> list[JournalRecord]:
    return [r for r in records if r.kind == kind and r.is_input and r.topic == ORDERS_PROCESS]


async def test_live_ccxt_daemon_trades_stops_crashes_and_reconciles_with_the_exchange(
    tmp_path: Path,
) -> None:
    config_folder = tmp_path / "daemon"
    log = config_folder / "daemon.log"
    async with running_fake() as fake:
        # A real exchange's clock is the engine's live clock, give or take; the fake's
        # starts at a fixed origin, so reconciliation's trade look-back would miss it.
        fake.state.now_ms = time.time_ns() // 1_000_000
        fake.set_level("SELL", "100.01", "1000")
        fake.set_level("BUY", "99.99", "1000")
        config = live_config(config_folder, fake)

        first = start(config)
        await trade_until(fake, first, lambda: bool(fake.state.open_orders("BTCUSDT")), log)
        graceful = await stop_daemon(first, signal.SIGTERM)
        after_first = read_journal(config_folder)

        second = start(config)
        await trade_until(fake, second,
                          lambda: journaled(config_folder, "system.session_started") >= 2, log)
        killed = await stop_daemon(second, signal.SIGKILL)

        fake.trade_through(Decimal("120.00"), Decimal("0.04"))  # while nobody listens
        by_hand = fake.state.submit({"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT",
                                     "quantity": "0.05", "price": "130.00",
                                     "newClientOrderId": "web_hand"})
        third = start(config)
        await trade_until(fake, third,
                          lambda: journaled(config_folder, "system.session_started") >= 3, log)
        last = await stop_daemon(third, signal.SIGTERM)
        submitted_at_fake = fake.requests.count("POST /api/v3/order")
        fake_balances = {c: fake.state.balances[c] for c in ("BTC", "USDT")}
        [(sell_order_id, sell_trade_id)] = [(t.order_id, t.trade_id) for t in fake.state.trades
                                            if t.price == Decimal("120.00")]

    records = read_journal(config_folder)
    sent = [r.message for r in after_first if r.kind == "command.submit_order"
            and r.topic == venue_endpoint("BINANCE")]
    first_fills = inputs(after_first, "order.filled")
    assert (graceful, killed, last) == (0, -signal.SIGKILL, 0)
    assert [(c.side, c.order_type, c.quantity) for c in sent] == [
        (OrderSide.BUY, OrderType.MARKET, Decimal("0.1")),
        (OrderSide.SELL, OrderType.LIMIT, Decimal("0.1"))]
    assert [(f.message.last_quantity, f.message.last_price) for f in first_fills] == [
        (Decimal("0.1"), Decimal("100.01"))]
    assert [r for r in after_first if r.is_input][-1].kind == "system.session_stopping"
    assert submitted_at_fake == 2  # neither restart sent anything again

    [sell] = [c for c in sent if c.side is OrderSide.SELL]
    sell_fills = [r.message for r in inputs(records, "order.filled")
                  if r.message.client_order_id == sell.client_order_id]
    assert [(f.trade_id, f.last_quantity, f.inferred) for f in sell_fills] == [
        (str(sell_trade_id), Decimal("0.04"), True)]  # booked once, by the exchange's id
    adopted = [r.message for r in records if r.is_input and type(r.message) is
               ExternalOrderAdopted and r.message.strategy_id == EXTERNAL_STRATEGY_ID]
    assert [a.venue_order_id for a in adopted] == [str(by_hand.order_id)]
    assert sell_order_id != by_hand.order_id
    # The books' balances after the inferred fill are the exchange's (so reconciliation
    # found none to correct).
    accounts = [r.message for r in records if r.kind == "account.updated"]
    assert {b.currency: b.total for b in accounts[-1].balances} == fake_balances


BACKTEST = """
[backtest]
name = "parity"

[portfolio]
account_id = "BINANCE-spot"
base_currency = "USDT"
starting_balances = { USDT = "100000", BTC = "10" }

[venue]
venue = "BINANCE"

[[instruments]]
symbol = "BTC/USDT"
venue = "BINANCE"
base_currency = "BTC"
quote_currency = "USDT"
price_increment = "0.01"
size_increment = "0.00001"
min_quantity = "0.00001"
min_notional = "5"
maker_fee = "0.001"
taker_fee = "0.001"

[[data]]
kind = "recording"
path = "RECORDING"
instrument_id = "BTC/USDT.BINANCE"

[[strategies]]
id = "ticker"
class = "live_strategy:BuyThenRestSell"
[strategies.params]
instrument_id = "BTC/USDT.BINANCE"
quantity = "0.1"
exit_price = "120.00"
"""


def backtest(folder: Path, recording: Path) -> list[tuple[str, str, Decimal, str | None]]:
    """`tradebus backtest` of `recording`: the orders of its result, in order."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "backtest.toml"
    config.write_text(BACKTEST.replace("RECORDING", str(recording)))
    command = daemon_command(config)
    command["args"] = [*command["args"][:3], "backtest", str(config),
                       "--output-dir", str(folder / "results"), "--progress", "never"]
    done = subprocess.run(**command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    [result] = (folder / "results").glob("*.json")
    orders = json.loads(result.read_text())["orders"]
    return [(o["side"], o["order_type"], Decimal(o["quantity"]), o["price"]) for o in orders]


async def test_live_ccxt_session_recorded_by_tradebus_record_backtests_to_its_decisions(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "daemon"
    recording = tmp_path / "recorded" / "btcusdt.sqlite"
    async with running_fake() as fake:
        fake.state.now_ms = time.time_ns() // 1_000_000
        fake.set_level("SELL", "100.01", "1000")
        fake.set_level("BUY", "99.99", "1000")
        config = live_config(folder, fake)
        recorder = start(config, "record", str(config), "--out", str(recording))
        with anyio.fail_after(WAIT_S):  # the recorder listens before the session starts
            while fake.open_sockets(private=False) < 1:  # noqa: ASYNC110 (the fake has no event)
                await anyio.sleep(0.05)
        daemon = start(config)
        await trade_until(fake, daemon, lambda: bool(fake.state.open_orders("BTCUSDT")),
                          folder / "daemon.log")
        live_stopped = await stop_daemon(daemon, signal.SIGTERM)
        recorder_stopped = await stop_daemon(recorder, signal.SIGTERM)

    sent = [r.message for r in read_journal(folder) if r.kind == "command.submit_order"
            and r.topic == venue_endpoint("BINANCE")]
    live = [(c.side.value, c.order_type.value, c.quantity,
             None if c.price is None else str(c.price)) for c in sent]
    assert (live_stopped, recorder_stopped) == (0, 0)
    assert live == [("buy", "market", Decimal("0.1"), None),
                    ("sell", "limit", Decimal("0.1"), "120.00")]
    assert backtest(tmp_path / "backtest", recording) == live
