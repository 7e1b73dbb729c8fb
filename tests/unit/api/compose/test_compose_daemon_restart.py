"""A graceful restart leaves every position as protected as before (issue 14).

The shipped RSI strategy rests a protective stop once long. Stopping the daemon either
leaves the stop working (`cancel_open_orders_on_stop = false`, the default) or cancels
it, and then the next start tells the strategy, which re-places it. Both are checked
on the running node of the next session, and in the journal a replay would repeat.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import anyio
import msgspec
import pytest

from api.compose import DEFAULT_DAEMON_CONFIG, build_node, load_daemon_config
from engine.domain.enums import OrderType
from engine.domain.order import Order
from engine.runtime import TradingNode

FREE_API_PORT = {"TRADEBUS__API__PORT": "0"}
"""The environment the daemons of these tests load: an OS-chosen API port (8000 may be
taken, by a daemon running beside the tests)."""

SAMPLE = Path(__file__).resolve().parents[4] / "adapters" / "data" / "sample" / "btcusdt_1m.csv"

STRATEGY = '''
[[strategies]]
id = "rsi"
class = "strategies.rsi_reversion:RsiMeanReversion"
[strategies.params]
instrument_id = "BTC/USDT.SIM"
period = 5
oversold = 99.0
overbought = 99.9
quantity = "0.5"
stop_loss_fraction = "0.08"
'''


def rsi_config(folder: Path, *, cancel: bool, bars: int = 100, emulated: bool = False
               ) -> Path:
    """The bundled paper config on `bars` sample bars, fast, with only the RSI strategy
    (it buys at once and rests a stop far below), stopping when the feed is done. With
    `emulated` the venue places market and limit orders only: the stop is held by the
    order emulator."""
    lines = SAMPLE.read_text().splitlines()[: bars + 1]
    (folder / "bars.csv").write_text("\n".join(lines) + "\n")
    text = DEFAULT_DAEMON_CONFIG.read_text()
    text = text[: text.index("[[strategies]]")] + STRATEGY
    text = text.replace('path = "sample:btcusdt_1m.csv"', 'path = "bars.csv"')
    text = re.sub(r"^cancel_open_orders_on_stop = .*$",
                  f"cancel_open_orders_on_stop = {str(cancel).lower()}", text,
                  flags=re.MULTILINE)
    text = re.sub(r"^speed = .*$", "speed = 60_000.0", text, flags=re.MULTILINE)
    text = re.sub(r"^record = .*$", "record = false", text, flags=re.MULTILINE)
    if emulated:
        text = text.replace('kind = "sim"\nvenue = "SIM"\n',
                            'kind = "sim"\nvenue = "SIM"\norder_types = ["market", "limit"]\n')
        assert 'order_types = ["market", "limit"]' in text
    assert f"cancel_open_orders_on_stop = {str(cancel).lower()}" in text
    path = folder / "paper.toml"
    path.write_text(text)
    return path


def make_node(path: Path) -> TradingNode:
    config, file = load_daemon_config(path, environ=FREE_API_PORT)
    return build_node(config, file=file, cwd=path.parent)


async def run_and_look(path: Path) -> tuple[TradingNode, list[Order]]:
    """Run a session; return it and the strategy's open orders seen while it ran."""
    node = make_node(path)
    seen: list[Order] = []

    async def look_then_stop() -> None:
        while node.state.value != "running":  # noqa: ASYNC110 - the node has no event
            await anyio.sleep(0.005)
        await anyio.sleep(0.05)  # let the start's commands reach the venue and come back
        assert node.graph is not None
        seen.extend(node.graph.orders.open_orders(strategy_id="rsi"))
        node.request_stop()

    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            group.start_soon(look_then_stop)
            assert await node.run() == 0
    return node, seen


def stops(orders: list[Order]) -> list[Order]:
    return [order for order in orders if order.order_type is OrderType.STOP_MARKET]


def long_quantity(node: TradingNode) -> object:
    assert node.graph is not None
    return node.graph.portfolio.net_quantity("BTC/USDT.SIM", "rsi")


def test_paper_default_keeps_open_orders_working_across_a_stop() -> None:
    config, _ = load_daemon_config(DEFAULT_DAEMON_CONFIG, environ={})
    assert config.runtime.cancel_open_orders_on_stop is False


@pytest.mark.anyio
async def test_restart_after_a_stop_that_keeps_orders_finds_the_same_stop_working(
    tmp_path: Path,
) -> None:
    path = rsi_config(tmp_path, cancel=False)
    first = await run_and_look_fed(path)
    [stop_before] = stops(first.graph.orders.open_orders(strategy_id="rsi"))  # type: ignore[union-attr]

    second, seen = await run_and_look(path)

    [stop_after] = stops(seen)
    assert stop_after.client_order_id == stop_before.client_order_id
    assert stop_after.quantity == long_quantity(second)


@pytest.mark.anyio
async def test_restart_after_a_stop_that_canceled_the_stop_re_places_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = rsi_config(tmp_path, cancel=True)
    first = await run_and_look_fed(path)
    assert first.graph is not None
    canceled = [o for o in first.graph.orders.orders()
                if o.order_type is OrderType.STOP_MARKET and o.status == "canceled"]
    assert len(canceled) == 1 and not first.graph.orders.open_orders(strategy_id="rsi")

    with caplog.at_level(logging.INFO):
        second, seen = await run_and_look(path)

    [replaced] = stops(seen)
    assert second.graph is not None
    # The replayed books (at 2,000,000x a live session's fill prices may differ from its
    # replay's: docs/daemon.md, speed), which are what the strategy was told about.
    was = second.graph.orders.order(canceled[0].client_order_id)
    assert was is not None and was.status == "canceled"
    assert replaced.client_order_id != was.client_order_id
    assert replaced.trigger_price == was.trigger_price
    assert replaced.quantity == long_quantity(second) > 0
    messages = [record.getMessage() for record in caplog.records]
    assert any("told on start that the last stop canceled 1" in m for m in messages)
    assert any("re-placed the protective stop" in m for m in messages)


async def run_and_look_fed(path: Path) -> TradingNode:
    """The first session: the whole feed (the strategy buys and rests its stop), then stop."""
    node = make_node(path)
    node.config = msgspec.structs.replace(node.config, stop_when_feeds_finish=True)
    with anyio.fail_after(30):
        assert await node.run() == 0
    assert node.graph is not None
    assert long_quantity(node) > 0, node.graph.orders.orders()  # type: ignore[operator]
    return node


@pytest.mark.anyio
@pytest.mark.parametrize("snapshots", [True, False], ids=["from-snapshot", "full-replay"])
async def test_an_emulated_stop_is_held_again_by_the_next_session(
        tmp_path: Path, snapshots: bool) -> None:
    """The stop is the emulator's, not the venue's: a restart (from the snapshot and the
    journal after it, or from the whole journal) must hold it again, neither lost nor
    sent to the venue."""
    path = rsi_config(tmp_path, cancel=False, emulated=True)
    if not snapshots:
        text = path.read_text()
        path.write_text(re.sub(r"^snapshot_interval_s = .*$", "snapshot_interval_s = 0.0",
                               text, flags=re.MULTILINE))
    first = await run_and_look_fed(path)
    assert first.graph is not None
    [stop_before] = stops(first.graph.orders.open_orders(strategy_id="rsi"))
    assert stop_before.status == "emulated"
    assert [h.command.client_order_id for h in first.graph.emulator.held_orders()] == [
        stop_before.client_order_id]

    second, seen = await run_and_look(path)

    [stop_after] = stops(seen)
    assert (stop_after.client_order_id, stop_after.status) == (
        stop_before.client_order_id, "emulated")
    assert second.graph is not None
    [held] = second.graph.emulator.held_orders()
    assert held.command.client_order_id == stop_before.client_order_id
    assert held.command.trigger_price == stop_before.trigger_price
    venue = second.graph.actor("venue_sim")
    assert venue is not None
    assert stop_before.client_order_id not in venue.working_order_ids()  # type: ignore[attr-defined]
