"""The daemon in process: config errors, health, fault isolation, a torn journal, overflow.

A daemon here is the `TradingNode` that `api.compose.build_node` makes from a daemon file.

Sessions here replay a few hundred sample bars at a speed that makes them take a
fraction of a second, and stop when the feed is done; the subprocess tests (kill -9,
signals) are in tests/e2e.
"""

from __future__ import annotations

import re
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest

from adapters.data import CsvBarSource
from adapters.sim import SimVenueConfig
from api.cli import main as cli_main
from api.compose import (
    DEFAULT_DAEMON_CONFIG,
    VenueContext,
    build_node,
    default_registry,
    load_daemon_config,
)
from api.compose.replay import ReplayFeedBinding
from api.compose.sim import SimVenueBinding, make_sim_venue
from api.http import ApiServer
from engine.domain.enums import OrderSide, OrderStatus, OrderType
from engine.domain.reports import OrderStatusReport
from engine.errors import ConfigError, JournalDamaged
from engine.events.system import ActorFaulted
from engine.persistence import JournalReader, JournalRecord, repair_journal, verify_journal
from engine.runtime import AdapterTask, RunnerState, TradingNode
from engine.testing import BAR_TYPE, ScriptedExecutionClient

SAMPLE = Path(__file__).resolve().parents[4] / "adapters" / "data" / "sample" / "btcusdt_1m.csv"
PAPER_TEXT = DEFAULT_DAEMON_CONFIG.read_text()
FREE_API_PORT = {"TRADEBUS__API__PORT": "0"}
"""The environment the daemons of these tests load: an OS-chosen API port (8000 may be
taken, by a daemon running beside the tests)."""

RAISING_MODULE = '''
"""A strategy that raises in every handler (written by the test, imported by the daemon)."""

from engine.events.market import BarType
from engine.strategy import Strategy


class Raising(Strategy):
    def on_start(self):
        self.subscribe_bars(BarType(instrument_id="BTC/USDT.SIM", timeframe="1m"))

    def on_bar(self, bar):
        raise RuntimeError("raising on a bar")

    def on_timer(self, event):
        raise RuntimeError("raising on a timer")

    def on_order_event(self, event):
        raise RuntimeError("raising on an order event")

    def on_stop(self):
        raise RuntimeError("raising on stop")
'''


def edit(text: str, old: str, new: str) -> str:
    if old not in text:
        raise ValueError(f"edit {old!r}: not in the config")
    return text.replace(old, new, 1)


def write_sample(folder: Path, bars: int) -> Path:
    """The first `bars` rows of the sample, as a CSV of its own."""
    lines = SAMPLE.read_text().splitlines()[: bars + 1]
    path = folder / "bars.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def paper_config(folder: Path, *, bars: int = 300, extra: str = "", **runtime: str) -> Path:
    """The bundled paper config on `bars` sample bars, fast, stopping when they are done.

    `runtime` sets `[runtime]` keys to TOML values (`data_capacity="5"`).
    """
    folder.mkdir(parents=True, exist_ok=True)
    data = write_sample(folder, bars)
    text = edit(PAPER_TEXT, 'path = "sample:btcusdt_1m.csv"', f'path = "{data.name}"')
    values = {"speed": "2_000_000.0", "stop_when_feeds_finish": "true", "record": "false",
              **runtime}
    for key, value in values.items():
        line = re.compile(rf"^{key} = .*$", re.MULTILINE)
        if line.search(text):
            text = line.sub(f"{key} = {value}", text, count=1)
        else:
            text = edit(text, "[runtime]\n", f"[runtime]\n{key} = {value}\n")
    path = folder / "paper.toml"
    path.write_text(text + extra)
    return path


def make_daemon(config_path: Path) -> TradingNode:
    config, file = load_daemon_config(config_path, environ=FREE_API_PORT)
    return build_node(config, file=file, cwd=config_path.parent)


async def run_session(config_path: Path) -> TradingNode:
    daemon = make_daemon(config_path)
    with anyio.fail_after(30):
        assert await daemon.run() == 0
    return daemon


def journal_of(folder: Path) -> list[JournalRecord]:
    reader = JournalReader(folder / "tradebus-data" / "journal.sqlite")
    records = list(reader.records())
    assert reader.corruption is None
    return records


def state_of(daemon: TradingNode) -> dict[str, Any]:
    graph = daemon.graph
    assert graph is not None
    return {
        "balances": graph.portfolio.balances(),
        "positions": [(p.instrument_id, p.side, p.quantity, p.average_entry_price,
                       p.realized_pnl, p.fees) for p in graph.portfolio.positions()],
        "orders": [(o.client_order_id, o.side, o.quantity, o.status, o.filled_quantity)
                   for o in graph.orders.orders()],
        "open": [o.client_order_id for o in graph.orders.open_orders()],
    }


# -- config ----------------------------------------------------------------------------------


def test_daemon_config_live_mode_without_a_live_venue_is_refused_naming_mode(
    tmp_path: Path,
) -> None:
    path = tmp_path / "live.toml"
    path.write_text(edit(PAPER_TEXT, 'mode = "paper"', 'mode = "live"'))
    with pytest.raises(ConfigError) as caught:
        load_daemon_config(path, environ={})
    assert caught.value.path == "$.mode"
    assert "paper" in caught.value.reason and str(path) in str(caught.value)


def test_daemon_config_feed_of_unknown_instrument_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "paper.toml"
    path.write_text(edit(PAPER_TEXT, 'instrument_id = "BTC/USDT.SIM"\ntimeframe',
                         'instrument_id = "ETH/USDT.SIM"\ntimeframe'))
    with pytest.raises(ConfigError) as caught:
        load_daemon_config(path, environ={})
    assert caught.value.path == "$.feeds[0].instrument_id"
    assert "ETH/USDT.SIM" in caught.value.reason


def test_daemon_config_without_feeds_is_refused(tmp_path: Path) -> None:
    text = PAPER_TEXT[: PAPER_TEXT.index("[[feeds]]")] + PAPER_TEXT[
        PAPER_TEXT.index("[[strategies]]"):]
    path = tmp_path / "paper.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_daemon_config(path, environ={})
    assert caught.value.path == "$.feeds"


def test_daemon_config_environment_overrides_the_file() -> None:
    config, _ = load_daemon_config(None, environ={"TRADEBUS__RUNTIME__SPEED": "20000"})
    assert config.runtime.speed == 20_000


def test_daemon_cli_run_bad_config_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "live.toml"
    path.write_text(edit(PAPER_TEXT, 'mode = "paper"', 'mode = "live"'))
    assert cli_main(["run", str(path)]) == 2
    assert "$.mode" in capsys.readouterr().err


# -- venues and feeds by kind ----------------------------------------------------------------


@pytest.mark.anyio
async def test_daemon_sim_venue_and_replay_feed_by_kind_trade_and_journal_one_session(
    tmp_path: Path,
) -> None:
    config = paper_config(tmp_path, bars=300)
    assert 'kind = "sim"' in config.read_text() and 'kind = "replay"' in config.read_text()

    daemon = await run_session(config)

    [venue], [feed] = daemon.venues, daemon.feeds
    assert isinstance(venue, SimVenueBinding) and isinstance(feed, ReplayFeedBinding)
    graph = daemon.graph
    assert graph is not None
    fills = graph.orders.statistics().fills
    assert fills > 0  # the SMA cross traded at the simulated venue
    assert venue.actor.statistics().fills == fills
    records = journal_of(tmp_path)
    assert {record.session for record in records} == {1}
    assert sum(1 for record in records if record.kind == "bar") == 300
    assert [record.kind for record in records if record.is_input
            and record.kind.startswith("system.session")] == [
        "system.session_started", "system.session_stopping"]
    assert sum(1 for r in records if r.kind == "order.filled" and r.topic == "orders.process") == (
        fills)
    [report] = daemon.reconciliations
    assert report.venue == "SIM" and report.agrees
    assert daemon.state is RunnerState.STOPPED


class ConnectedSimEntry(SimVenueConfig, tag_field="kind", tag="connected-sim", frozen=True,
                        kw_only=True, forbid_unknown_fields=True):
    """A venue kind a test adds: the simulated venue plus a connection task."""


class ConnectedSimBinding(SimVenueBinding):
    """The simulated venue with a connection task, working one order the journal lacks."""

    def __init__(self, inner: SimVenueBinding) -> None:
        super().__init__(inner.actor, inner.venue)
        self.log: list[str] = []

    @property
    def tasks(self) -> list[AdapterTask]:
        return [self.connection]

    async def connection(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        # Started after recovery: the graph is built and its venue actor running.
        self.log.append(f"connected, venue actor {self.actor.state}")
        task_status.started()
        try:
            await anyio.sleep_forever()
        finally:
            self.log.append("disconnected")

    def execution_client(self) -> ScriptedExecutionClient:
        # A venue working one order the journal does not know of.
        client = ScriptedExecutionClient("SIM")
        client.open = [OrderStatusReport(
            venue="SIM", instrument_id="BTC/USDT.SIM", client_order_id=None,
            venue_order_id="ghost-1", side=OrderSide.SELL, order_type=OrderType.LIMIT,
            quantity=Decimal("0.5"), status=OrderStatus.ACCEPTED, price=Decimal("99999"))]
        return client


def make_connected_sim(config: ConnectedSimEntry, context: VenueContext) -> ConnectedSimBinding:
    return ConnectedSimBinding(make_sim_venue(config, context))


@pytest.mark.anyio
async def test_daemon_venue_kind_added_by_a_registry_entry_runs_its_task_and_reconciles(
    tmp_path: Path,
) -> None:
    registry = default_registry()
    registry.register_venue("connected-sim", ConnectedSimEntry, make_connected_sim)
    path = paper_config(tmp_path, bars=50)
    path.write_text(edit(path.read_text(), 'kind = "sim"', 'kind = "connected-sim"'))
    config, file = load_daemon_config(path, environ=FREE_API_PORT, registry=registry)

    daemon = build_node(config, file=file, cwd=tmp_path, registry=registry)
    with anyio.fail_after(30):
        assert await daemon.run() == 0

    [venue] = daemon.venues
    assert isinstance(venue, ConnectedSimBinding)
    assert venue.log == ["connected, venue actor running", "disconnected"]
    [report] = daemon.reconciliations
    assert (report.venue, report.external_orders, report.agrees) == ("SIM", 1, False)
    graph = daemon.graph
    assert graph is not None and graph.orders.order_by_venue_id("ghost-1") is not None
    assert daemon.health().venue_agrees is False
    assert sum(1 for record in journal_of(tmp_path) if record.kind == "bar") == 50


# -- health ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_daemon_health_follows_the_run(tmp_path: Path) -> None:
    daemon = make_daemon(paper_config(tmp_path, bars=200, speed="600.0",
                                      stop_when_feeds_finish="false"))
    before = daemon.health()
    assert (before.live, before.ready, before.state, before.session) == (
        True, False, "starting", 0)
    seen: list[Any] = []

    async def watch() -> None:
        while daemon.state.value != "running":  # noqa: ASYNC110 - the daemon has no event
            await anyio.sleep(0.005)
        seen.append(daemon.health())
        daemon.request_stop()

    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            group.start_soon(watch)
            assert await daemon.run() == 0
    running = seen[0]
    assert (running.live, running.ready, running.state, running.session) == (
        True, True, "running", 1)
    assert running.engine_ts > 0
    after = daemon.health()
    assert (after.live, after.ready, after.state) == (False, False, "stopped")
    restarted = make_daemon(tmp_path / "paper.toml")
    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            group.start_soon(stop_when_running, restarted)
            await restarted.run()
    assert restarted.health().recovered_inputs > 0
    assert restarted.session == 2


async def stop_when_running(daemon: TradingNode) -> None:
    while daemon.state.value != "running":  # noqa: ASYNC110 - the daemon has no event
        await anyio.sleep(0.005)
    daemon.request_stop()


# -- fault isolation ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_daemon_raising_strategy_is_faulted_and_others_trade_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "raising_strategy.py").write_text(RAISING_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    extra = '\n[[strategies]]\nid = "raiser"\nclass = "raising_strategy:Raising"\n'
    daemon = await run_session(paper_config(tmp_path / "session", bars=600, extra=extra))
    records = journal_of(tmp_path / "session")
    faults = [record for record in records if type(record.message) is ActorFaulted]
    assert [(f.message.actor_id, f.message.error_type) for f in faults] == [
        ("raiser", "RuntimeError")]
    fault_seq = faults[0].seq
    fills = [record for record in records if record.kind == "order.filled"
             and record.topic.endswith("sma-cross")]
    assert fills and fills[-1].seq > fault_seq  # the SMA cross kept trading after the fault
    bars_after_fault = [r for r in records if r.kind == "bar" and r.seq > fault_seq]
    assert len(bars_after_fault) >= 590  # it faulted on the first bar, the rest still ran
    graph = daemon.graph
    assert graph is not None and graph.faults == 1
    assert graph.orders.statistics().fills == sum(
        1 for r in records if r.kind == "order.filled" and r.topic.endswith("sma-cross"))


# -- a torn journal tail -----------------------------------------------------------------------


def corrupt(journal: Path, seq: int) -> None:
    """Cut record `seq`'s payload in half, as a torn write would leave it."""
    connection = sqlite3.connect(journal)
    with connection:
        connection.execute(
            "UPDATE journal SET payload = substr(payload, 1, length(payload) / 2) WHERE seq = ?",
            (seq,))
    connection.close()


@pytest.mark.anyio
@pytest.mark.parametrize("which", ["last record", "last bar"])
async def test_daemon_torn_journal_is_refused_until_repaired_then_recovery_goes_on(
    tmp_path: Path, which: str
) -> None:
    # Was: the daemon cut the tail itself and went on (issue 7: committed records went
    # without the operator's word). Now it refuses; the operator's repair cuts it.
    folder = tmp_path / "torn"
    await run_session(paper_config(folder, bars=400))
    journal = folder / "tradebus-data" / "journal.sqlite"
    records = journal_of(folder)
    bad = records[-1] if which == "last record" else [r for r in records if r.kind == "bar"][-1]
    corrupt(journal, bad.seq)

    with pytest.raises(JournalDamaged, match=rf"damaged at seq {bad.seq} \(crc mismatch\): "
                       rf"{len(records) - bad.seq + 1} committed records"):
        await make_daemon(folder / "paper.toml").run()
    assert JournalReader(journal).count() == len(records)  # nothing deleted by the refusal

    repair_journal(journal, verify_journal(journal), now_ns=1)
    repaired = await run_session(folder / "paper.toml")

    assert repaired.recovery is not None
    assert repaired.recovery.last_seq == bad.seq - 1
    after = journal_of(folder)
    assert after[bad.seq - 1].session == 2  # the new session continues the kept prefix
    assert [r.message.ts_event for r in after if r.kind == "bar"] == [
        bar.ts_event for bar in CsvBarSource(folder / "bars.csv", BAR_TYPE)]


def without_timers(records: list[JournalRecord]) -> list[tuple[int, str, str]]:
    return [(r.session, r.kind, r.topic) for r in records if r.kind != "system.timer_fired"]


# -- overflow ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_daemon_inbox_overflow_is_counted_and_restart_does_not_replay_old_bars(
    tmp_path: Path,
) -> None:
    # A feed far ahead of the graph and a lane of five: most bars are dropped, and counted.
    config = paper_config(tmp_path, bars=400, speed="1e8", data_capacity="5")
    daemon = await run_session(config)
    lane = next(iter(v for k, v in daemon.inbox.statistics().lanes.items() if k != "critical"))
    records = journal_of(tmp_path)
    journaled_bars = [r.message.ts_event for r in records if r.kind == "bar"]
    assert lane.received == 400
    assert lane.received == daemon.inbox.statistics().delivered + lane.dropped + lane.depth
    assert daemon.runner is not None
    assert len(journaled_bars) == daemon.runner.statistics().data_handled
    assert len(journaled_bars) == 400 - lane.dropped

    # A restart resumes after the last bar handled; a dropped bar never comes back later.
    await run_session(config)
    after_restart = [r.message.ts_event for r in journal_of(tmp_path) if r.kind == "bar"]
    assert after_restart == sorted(set(after_restart))


def test_daemon_api_reads_candles_from_the_configured_recording(tmp_path: Path) -> None:
    config = paper_config(tmp_path, record="true", recording='"bars-recorded.sqlite"')

    node = make_daemon(config)

    [run_api] = node.services
    server = run_api.__self__  # type: ignore[attr-defined]
    assert isinstance(server, ApiServer)
    assert server.recording == (tmp_path / "tradebus-data" / "bars-recorded.sqlite").resolve()
