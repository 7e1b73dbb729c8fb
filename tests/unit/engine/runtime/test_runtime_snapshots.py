"""Node snapshots: taken at the stop and on the interval, and where a restart begins.

A real node (the kernel, the simulated venue, a trading strategy with `on_save`/`on_load`)
runs a session on a list of bars; its journal is then copied, and the copy restarted with
snapshots on must rebuild what the copy restarted with snapshots off (a full replay)
rebuilds: balances, positions, orders, equity, risk counters, strategy state, where the
feed resumes and the replay's clock. A snapshot that does not check out, or one the
journal damaged before it would skip, falls back to (or ends in) what a full replay does.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest

from adapters.sim import SimVenue, SimVenueConfig
from api.compose.sim import SimVenueBinding
from engine.actor import Actor
from engine.actors.risk import RiskConfig
from engine.cache import MarketCache
from engine.clock import LiveClock
from engine.config import decode_config
from engine.domain.enums import OrderSide
from engine.errors import ConfigError, JournalDamaged
from engine.events.market import Bar
from engine.graph import TradingGraph
from engine.instruments import InstrumentRegistry
from engine.persistence import JournalReader, read_verified
from engine.persistence.snapshots import SnapshotStore
from engine.runtime import (
    Deliver,
    FeedClock,
    JournalAudit,
    JournalAuditStatus,
    NodeConfig,
    NodeSnapshots,
    RunnerState,
    TradingNode,
    snapshot_path,
)
from engine.strategy import Strategy
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    make_bars,
    make_instrument,
    make_portfolio_config,
)

START_NS = 1_700_000_000_000_000_000
MINUTE = 60_000_000_000
CLOSES = [100.0 + (index * 7 % 11) for index in range(40)]
SNAPSHOTS = NodeConfig(speed=1_000_000.0, stop_when_feeds_finish=True, snapshot_interval_s=0.01)
FULL_REPLAY = msgspec.structs.replace(SNAPSHOTS, snapshot_interval_s=0.0)


class Flipper(Strategy):
    """Buy on every 3rd bar, sell on every 5th; `bars` survives a restart via on_save."""

    def on_start(self) -> None:
        self.bars = 0
        self.subscribe_bars(BAR_TYPE)

    def on_save(self) -> dict[str, Any]:
        return {"bars": self.bars}

    def on_load(self, state: dict[str, Any]) -> None:
        self.bars = state["bars"]

    def on_bar(self, bar: Bar) -> None:
        self.bars += 1
        if self.bars % 3 == 0:
            self.market_order(INSTRUMENT_ID, OrderSide.BUY, 1)
        elif self.bars % 5 == 0:
            self.market_order(INSTRUMENT_ID, OrderSide.SELL, 1)


class Bars:
    """A feed of a list of bars, paced by the node's clock, resuming where told."""

    def __init__(self, bars: list[Bar]) -> None:
        self.bars = bars
        self.finished = anyio.Event()
        self.resumed_after: list[tuple[int, int] | None] = []

    @property
    def instrument_id(self) -> str:
        return INSTRUMENT_ID

    @property
    def bar_type(self) -> Any:
        return BAR_TYPE

    def first_event_time(self) -> int | None:
        return self.bars[0].ts_event

    async def run(
        self, *, clock: FeedClock, deliver: Deliver, resume_after: tuple[int, int] | None
    ) -> None:
        self.resumed_after.append(resume_after)
        for bar in self.bars:
            if resume_after is None or bar.ts_event > resume_after[0]:
                await clock.sleep_until(bar.ts_event)
                deliver(msgspec.structs.replace(bar, ts_init=clock.timestamp_ns()))
        self.finished.set()


class Stubborn(Actor):
    """An actor without the snapshot protocol: its graph is never snapshotted."""

    def __init__(self) -> None:
        super().__init__("stubborn")


class Broken(Actor):
    """An actor whose snapshot_state raises (a bug in its snapshot code)."""

    snapshot_type = Flipper.snapshot_type

    def __init__(self) -> None:
        super().__init__("broken")

    def snapshot_state(self) -> Any:
        raise KeyError("an order the books hold but the index does not")

    def restore_state(self, state: Any) -> None:
        raise AssertionError("never restored: never snapshotted")


def make_node(journal: Path, config: NodeConfig, bars: int, *,
              extra: tuple[Actor, ...] = ()) -> tuple[TradingNode, Bars, Flipper]:
    """A paper node: the kernel and the simulated venue on one cache, `Flipper` trading
    the first `bars` bars (and `extra` actors beside the venue)."""
    instruments = [make_instrument()]
    cache = MarketCache()
    venue = SimVenue(SimVenueConfig(), InstrumentRegistry(instruments), cache=cache)

    def graph_factory(clock: LiveClock) -> TradingGraph:
        graph = TradingGraph(clock=clock, instruments=instruments, cache=cache,
                             portfolio=make_portfolio_config(equity_interval_ns=7 * MINUTE),
                             risk=RiskConfig())
        for actor in extra:
            graph.add_venue(actor)
        return graph

    feed = Bars(make_bars(CLOSES[:bars], start_ns=START_NS))
    strategy = Flipper("flipper")
    node = TradingNode(config, graph_factory=graph_factory, strategies=[strategy],
                       venues=[SimVenueBinding(venue, "SIM")], feeds=[feed],
                       journal_path=journal)
    return node, feed, strategy


async def run(node: TradingNode) -> None:
    with anyio.fail_after(30):
        assert await node.run() == 0


def state_of(node: TradingNode, strategy: Flipper) -> dict[str, Any]:
    graph = node.graph
    assert graph is not None and node.recovery is not None
    return {
        "balances": graph.portfolio.balances(),
        "positions": graph.portfolio.positions(),
        "orders": [(o.client_order_id, o.status, o.filled_quantity)
                   for o in graph.orders.orders()],
        # Equity samples after recovery follow the restarted session's real time.
        "equity": [sample for sample in graph.portfolio.equity_curve()
                   if sample[0] <= (node.recovery.last_ts or 0)],
        "risk": graph.risk.statistics(),
        "bars": strategy.bars,
        "recovered_to": (node.recovery.last_seq, node.recovery.last_ts),
    }


def copy_data(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target / "journal.sqlite"


async def two_sessions(tmp_path: Path) -> Path:
    """A session on 25 bars, then a restart that trades 15 more: two stop snapshots."""
    journal = tmp_path / "data" / "journal.sqlite"
    first, _, _ = make_node(journal, SNAPSHOTS, 25)
    await run(first)
    second, _, _ = make_node(journal, SNAPSHOTS, 40)
    await run(second)
    assert second.snapshots is not None and second.snapshots.statistics().taken >= 1
    return journal


async def restart_both_ways(
    tmp_path: Path, journal: Path
) -> tuple[tuple[TradingNode, Bars, Flipper], tuple[TradingNode, Bars, Flipper]]:
    """Restart copies of `journal` with snapshots on and off (the feed has nothing new)."""
    with_snapshot = make_node(copy_data(journal.parent, tmp_path / "on"), SNAPSHOTS, 40)
    full_replay = make_node(copy_data(journal.parent, tmp_path / "off"), FULL_REPLAY, 40)
    await run(with_snapshot[0])
    await run(full_replay[0])
    return with_snapshot, full_replay


@pytest.mark.anyio
async def test_a_restart_from_the_stop_snapshot_equals_a_full_replay(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    journal = await two_sessions(tmp_path)
    stored = SnapshotStore(snapshot_path(journal)).seqs()

    with caplog.at_level(logging.INFO):
        (node, feed, strategy), (full, full_feed, full_strategy) = await restart_both_ways(
            tmp_path, journal)

    assert node.recovery is not None and node.recovery.snapshot_seq == stored[-1]
    # Only the stop's marker (what it made, a timer due meanwhile) followed the snapshot.
    assert node.recovery.sessions_stopped == 1 and node.recovery.data_by_topic == {}
    assert node.recovery.records_read == node.recovery.last_seq - stored[-1]
    assert f"recovery: from the snapshot at seq {stored[-1]}" in caplog.text
    assert full.recovery is not None and full.recovery.snapshot_seq == 0
    assert state_of(node, strategy) == state_of(full, full_strategy)
    assert feed.resumed_after == full_feed.resumed_after != [None]
    assert full_strategy.bars == 40 and len(full.graph.orders.orders()) > 5  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_a_restart_from_an_older_snapshot_replays_the_rest_to_the_same_state(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    journal = await two_sessions(tmp_path)
    store = SnapshotStore(snapshot_path(journal))
    older, newest = store.seqs()[-2:]
    with sqlite3.connect(store.path) as connection:  # as if killed before the stop's
        connection.execute("DELETE FROM snapshots WHERE seq = ?", (newest,))

    with caplog.at_level(logging.INFO):
        (node, feed, strategy), (full, full_feed, full_strategy) = await restart_both_ways(
            tmp_path, journal)

    assert node.recovery is not None and node.recovery.snapshot_seq == older
    assert node.recovery.records_read == node.recovery.last_seq - older > newest - older
    assert node.recovery.sessions_stopped == 2  # the second session's whole life replayed
    assert state_of(node, strategy) == state_of(full, full_strategy)
    assert feed.resumed_after == full_feed.resumed_after
    assert "records up to the snapshot at seq" in caplog.text  # the skipped part verified


@pytest.mark.anyio
@pytest.mark.parametrize("damage", ["checksum", "fingerprint", "anchor"])
async def test_a_snapshot_that_does_not_check_out_falls_back_to_a_full_replay(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str,
) -> None:
    journal = await two_sessions(tmp_path)
    store = SnapshotStore(snapshot_path(journal))
    statement = {
        "checksum": "UPDATE snapshots SET crc = crc + 1",
        "fingerprint": "UPDATE snapshots SET fingerprint = 'another graph'",
        "anchor": "UPDATE snapshots SET anchor_crc = anchor_crc + 1",
    }[damage]
    with sqlite3.connect(store.path) as connection:
        connection.execute(statement)

    with caplog.at_level(logging.INFO):
        (node, feed, strategy), (full, full_feed, full_strategy) = await restart_both_ways(
            tmp_path, journal)

    assert node.recovery is not None and node.recovery.snapshot_seq == 0
    assert "recovery: no usable snapshot (snapshot at seq" in caplog.text
    assert state_of(node, strategy) == state_of(full, full_strategy)
    assert feed.resumed_after == full_feed.resumed_after


@pytest.mark.anyio
async def test_a_journal_damaged_before_the_snapshot_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    journal = await two_sessions(tmp_path)
    verified = read_verified(journal)  # what the second start checked: the first session
    assert verified is not None
    damaged = verified.seq + 5  # a record of the second session, before its stop snapshot
    with sqlite3.connect(journal) as connection:  # a record the snapshot lets recovery skip
        connection.execute(f"UPDATE journal SET payload = payload || x'00' WHERE seq = {damaged}")
    last_seq = JournalReader(journal).last_seq()
    node, _, _ = make_node(journal, SNAPSHOTS, 40)

    with pytest.raises(JournalDamaged, match=f"damaged at seq {damaged}"), anyio.fail_after(30):
        await node.run()  # refused before the journal is opened: nothing written

    assert node.recovery is not None and node.recovery.snapshot_seq > damaged
    assert JournalReader(journal).last_seq() == last_seq
    assert snapshot_path(journal).exists()  # left as it was: the next start checks again
    assert read_verified(journal) == verified  # and from where it did
    again, _, _ = make_node(journal, SNAPSHOTS, 40)
    with pytest.raises(JournalDamaged, match=f"damaged at seq {damaged}"):  # before trading
        await again.run()


async def run_until_audit(node: TradingNode, done: Callable[[JournalAudit], bool]) -> None:
    """Run `node` until its journal audit (made by run(), on the loop) is `done`, then
    stop it."""
    async def stop_when_done() -> None:
        while node.journal_audit is None or not done(node.journal_audit):  # noqa: ASYNC110
            await anyio.sleep(0.005)
        node.request_stop()

    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            group.start_soon(stop_when_done)
            assert await node.run() == 0


def rechecked(audit: JournalAudit) -> bool:
    return audit.rechecked.is_set()


KEEP_RUNNING = msgspec.structs.replace(SNAPSHOTS, stop_when_feeds_finish=False)


@pytest.mark.anyio
async def test_a_restart_checks_only_what_was_journaled_since_an_earlier_start_checked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    journal = await two_sessions(tmp_path)
    verified = read_verified(journal)
    assert verified is not None and verified.seq > 1
    node, _, _ = make_node(journal, KEEP_RUNNING, 40)

    with caplog.at_level(logging.INFO):
        await run_until_audit(node, rechecked)

    assert node.recovery is not None and node.recovery.snapshot_seq > verified.seq
    assert (f"{verified.seq} at an earlier start" in caplog.text)  # the rest checked now
    # The trusted records were checked again, in a child process, once the session ran.
    assert node.journal_audit is not None
    assert node.journal_audit.status == JournalAuditStatus(
        state="clean", trusted_through=verified.seq, passes=1,
        verified_through=node.recovery.last_seq)
    assert node.health().journal_audit == node.journal_audit.status
    assert f"records 1..{verified.seq} (checked at an earlier start) checked again" in (
        caplog.text)
    # This start checked everything up to where its recovery ended.
    now = read_verified(journal)
    assert now is not None and now.seq == node.recovery.last_seq


@pytest.mark.anyio
async def test_damage_to_records_an_earlier_start_checked_is_reported_once_the_session_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    # A restart from a snapshot never reads them (its state does not depend on them), so
    # it trades on; the audit finds the damage and says so; a full replay refuses.
    journal = await two_sessions(tmp_path)
    verified = read_verified(journal)
    assert verified is not None and verified.seq > 5
    with sqlite3.connect(journal) as connection:
        connection.execute("UPDATE journal SET payload = payload || x'00' WHERE seq = 5")
    node, _, _ = make_node(journal, KEEP_RUNNING, 40)

    with caplog.at_level(logging.INFO):
        await run_until_audit(node, rechecked)

    assert node.recovery is not None and node.recovery.snapshot_seq > 5
    audit = node.health().journal_audit
    assert audit is not None and audit.state == "damaged"
    assert audit.problem == "damaged at seq 5 (crc mismatch)"
    assert (f"damaged at seq 5 (crc mismatch), found checking records 1..{verified.seq} (an "
            "earlier start had checked them)") in caplog.text
    full, _, _ = make_node(journal, FULL_REPLAY, 40)
    with pytest.raises(JournalDamaged, match="damaged at seq 5"), anyio.fail_after(30):
        await full.run()


@pytest.mark.anyio
async def test_a_stop_requested_during_a_restart_from_a_snapshot_writes_nothing(
    tmp_path: Path,
) -> None:
    journal = await two_sessions(tmp_path)
    records = len(list(JournalReader(journal).records()))
    node, _, _ = make_node(journal, SNAPSHOTS, 40)
    node.request_stop()

    await run(node)

    assert node.state is RunnerState.STOPPED
    assert node.recovery is not None and node.recovery.stopped_early
    assert len(list(JournalReader(journal).records())) == records


@pytest.mark.anyio
async def test_snapshots_skip_an_unchanged_journal_and_an_unsnapshottable_graph(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    node, _, _ = make_node(tmp_path / "journal.sqlite", SNAPSHOTS, 3, extra=(Stubborn(),))

    with caplog.at_level(logging.INFO):
        await run(node)

    snapshots = node.snapshots
    assert snapshots is not None
    statistics = snapshots.statistics()
    assert statistics.taken == 0 and statistics.skipped_unsnapshottable >= 1
    assert caplog.text.count("snapshots: none is taken while actor stubborn") == 1
    assert not snapshot_path(tmp_path / "journal.sqlite").exists()
    assert node.statistics().snapshots == statistics


@pytest.mark.anyio
async def test_capture_is_skipped_when_nothing_was_journaled_since_the_last(
    tmp_path: Path,
) -> None:
    journal = await two_sessions(tmp_path)
    node, _, _ = make_node(journal, SNAPSHOTS, 40)
    await run(node)
    snapshots = node.snapshots
    graph = node.graph
    assert snapshots is not None and graph is not None
    last = snapshots.statistics().last_seq

    captured = snapshots.capture(graph, last, {})

    assert captured is None and snapshots.statistics().skipped_unchanged >= 1


def test_the_snapshot_interval_is_checked_and_named_in_the_error() -> None:
    with pytest.raises(ConfigError, match="snapshot_interval_s"):
        decode_config("snapshot_interval_s = -1.0", NodeConfig)
    assert decode_config("snapshot_interval_s = 30", NodeConfig).snapshot_interval_s == 30.0
    assert NodeConfig().snapshot_interval_s == 0.0  # off unless asked for


def test_snapshots_are_kept_beside_the_journal() -> None:
    assert snapshot_path(Path("/data/journal.sqlite")) == Path("/data/journal.snapshots.sqlite")
    assert isinstance(NodeSnapshots(SnapshotStore(Path("x")), Path("y")).statistics().taken, int)


@pytest.mark.anyio
async def test_an_actor_whose_snapshot_raises_costs_the_snapshot_not_the_session(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    node, feed, strategy = make_node(tmp_path / "journal.sqlite", SNAPSHOTS, 10,
                                     extra=(Broken(),))

    with caplog.at_level(logging.INFO):
        await run(node)

    assert node.snapshots is not None
    statistics = node.snapshots.statistics()
    assert statistics.failed >= 1 and statistics.taken == 0
    assert caplog.text.count("an actor's state could not be captured") == 1
    assert strategy.bars == 10 and node.state is RunnerState.STOPPED


@pytest.mark.anyio
async def test_the_verified_mark_follows_the_snapshots_while_the_session_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # So that a restart after a long session checks about one interval, not the session.
    monkeypatch.setattr("engine.runtime.node._AUDIT_MIN_PERIOD_S", 0.01)
    journal = tmp_path / "data" / "journal.sqlite"
    node, _, _ = make_node(journal, KEEP_RUNNING, 40)

    await run_until_audit(node, lambda audit: audit.status.verified_through > 0)  # moved once

    assert node.journal_audit is not None and node.journal_audit.status.passes >= 1
    marked = read_verified(journal)
    assert marked is not None and marked.seq == node.journal_audit.status.verified_through
    restarted, _, _ = make_node(journal, SNAPSHOTS, 40)
    with caplog.at_level(logging.INFO):
        await run(restarted)
    assert restarted.recovery is not None and restarted.recovery.snapshot_seq >= marked.seq
    assert f"{marked.seq} at an earlier start" in caplog.text
