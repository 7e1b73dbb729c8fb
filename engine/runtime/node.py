"""TradingNode: one event graph on a live clock, fed by adapters, journaled, restartable.

The same lifecycle runs every mode; only the bindings the composition root hands over
differ (a simulated venue and replay feeds for paper, execution adapters and live feeds
for live). Start-up, in order: read the journal and replay its inputs through a fresh
graph (the clock held at each input's time), refuse a damaged or foreign journal, open the
journal for a new session, start the venues' adapter tasks, reconcile with the venues,
mark the session start (a journal input), release the strategies and the clock, then
start the clock's timers, the runner and the feeds, each feed resuming after the items
the journal already holds. A graceful stop reverses it: feeds stop, the runner stops
taking entries, the stop is marked (an input, so a replay repeats it), strategies stop
(canceling open orders if configured), the core stops, the journal is flushed.

With `snapshot_interval_s` set, recovery begins from the newest snapshot that checks out
and replays only the journal after it, and the running session snapshots its state on
that interval and at a graceful stop (`engine.runtime.snapshots`).

`health()` gives the liveness and readiness the API reports: live while the loop turns
(a heartbeat task), ready once recovery is done and the runner is handling entries.

A poison input (a journaled input the graph raises on during recovery, or a live entry a
core actor raises on) halts the node instead of ending it: the send gate stays (or is)
closed, the risk actor is HALTED, no entry is taken, and `health().poison` names the
record (seq, kind, topic, error) for the API's /ready and /api/v1/status. The API keeps
serving until the operator stops the node and inspects the journal (`tradebus journal`).
"""

from __future__ import annotations

import gc
import itertools
import logging
from collections.abc import (
    AsyncIterator,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Sequence,
)
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import anyio
import anyio.abc
import anyio.lowlevel
import msgspec

from engine.actor import ActorState
from engine.actors.portfolio import Portfolio
from engine.actors.retention import RetentionConfig
from engine.clock import LiveClock
from engine.config import Config
from engine.domain.enums import TradingState
from engine.events.base import Event
from engine.events.market import Bar, BookDelta, FundingRate, QuoteTick, TradeTick
from engine.events.orders import SetTradingState
from engine.events.system import SessionFailed, SessionStarted, SessionStopping
from engine.graph import TradingGraph, instrument_of, topic_for
from engine.persistence import (
    JournalIdentity,
    JournalReader,
    JournalRecord,
    JournalWriter,
    mark_verified,
    prepare_journal,
    refuse_partial_read,
    verify_from,
)
from engine.persistence.snapshots import SnapshotStore
from engine.ports import ExecutionClient, MarketData
from engine.runtime.bindings import (
    Deliver,
    FeedBinding,
    RecordingSink,
    SessionRecorder,
    VenueBinding,
    first_event_time,
)
from engine.runtime.execution import ExecutionBridge, SendGate, venue_event_endpoint
from engine.runtime.inbox import Inbox, OverflowPolicy
from engine.runtime.journal_audit import JournalAudit, JournalAuditStatus
from engine.runtime.outbound import DurableOutbox
from engine.runtime.reconciliation import (
    ReconciliationReport,
    engine_open_orders,
    reconcile,
)
from engine.runtime.recovery import PoisonInput, RecoveryReport, Replay, replay_inputs_async
from engine.runtime.runner import LiveRunner, RunnerState
from engine.runtime.snapshots import NodeSnapshots, snapshot_path
from engine.runtime.statistics import NodeStatistics, SupportsStatistics, node_statistics
from engine.strategy import Strategy
from engine.topics import RISK_EXECUTE, system_topic

__all__ = ("GraphFactory", "NodeConfig", "NodeHealth", "Service", "TradingNode")

logger = logging.getLogger(__name__)

HEARTBEAT_S = 0.5
_MARKET_DATA_TYPES = (Bar, TradeTick, QuoteTick, BookDelta, FundingRate)
_AUDIT_MIN_PERIOD_S = 5.0
"""The journal audit moves the verified mark on at most this often (a child process each)."""

GraphFactory = Callable[[LiveClock], TradingGraph]
"""Make the core graph (bus, core actors, instruments, the cache the venues read) on a clock."""

Service = Callable[..., Coroutine[Any, Any, None]]
"""A task the node runs beside the graph (the HTTP API): `async def run(*, task_status)`,
started once the runner runs, calling `task_status.started()` when it serves, cancelled at
shutdown after the journal is flushed. It observes the graph; it is not part of it."""


MAX_SPEED: Final = 1e8
"""The fastest `speed`: engine time is int64 nanoseconds (until the year 2262), and at
1e8 a session still has more than a minute of real time before it would run out
(at 1e9 it had seven seconds, and a busy machine's session overflowed)."""


class NodeConfig(Config, kw_only=True, frozen=True):
    """How a node runs: its journal's durability, its clock, its inbox lanes, its stop.

    `speed` scales engine time against real time (paper sessions replaying recorded
    data); `clock_origin = "data"` starts engine time at the feeds' first item (and,
    after a restart, where the journal left off), `"wall"` at the real time.
    `data_capacity` and `overflow` bound each feed's inbox lane (market data only:
    order events never drop). `reconcile_lookback_s` is how far before the oldest open
    order (or the journal's end) reconciliation asks a venue for trades.

    `snapshot_interval_s` is in seconds of real time (the event loop's clock, not engine
    time: a paper session at 100,000x journals as much per real second as one at 1x
    that is as busy), 0 for no snapshots. A snapshot is taken between two inputs, after
    the journal's last record is committed, into `<journal stem>.snapshots.sqlite`
    beside the journal; a restart then replays at most about one interval's records.
    """

    journal_synchronous: Literal["normal", "full"] = "normal"
    cancel_open_orders_on_stop: bool = False
    """Open orders stay working across a graceful stop unless this asks otherwise; when
    they are canceled, the next start tells each strategy which (`Strategy.canceled_at_stop`)."""
    stop_when_feeds_finish: bool = False
    speed: Annotated[float, msgspec.Meta(gt=0, le=MAX_SPEED)] = 1.0
    clock_origin: Literal["data", "wall"] = "data"
    data_capacity: Annotated[int, msgspec.Meta(gt=0)] = 10_000
    overflow: OverflowPolicy = OverflowPolicy.DROP_OLDEST
    status_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    reconcile_lookback_s: Annotated[float, msgspec.Meta(ge=0)] = 3600.0
    retention: RetentionConfig = RetentionConfig()  # closed history kept in memory
    snapshot_interval_s: Annotated[float, msgspec.Meta(ge=0)] = 0.0


class NodeHealth(msgspec.Struct, frozen=True, kw_only=True):
    live: bool
    ready: bool
    state: str
    session: int
    recovered_inputs: int
    venue_agrees: bool
    engine_ts: int
    poison: PoisonInput | None = None
    """The input the node halted on (state "halted"), for the operator to inspect."""
    journal_audit: JournalAuditStatus | None = None
    """What the background check of the journal found (None: snapshots are off, so
    every start replays, and checks, every record)."""


class TradingNode:
    """Run one account's strategies, at the bound venues on the bound feeds, until stopped.

    A node runs once: the strategies and venue actors it is given join the one graph
    `run()` builds. Construct a new node (from the same config) to run again.

    Args:
        config: the runtime settings.
        graph_factory: makes the core graph on the node's clock.
        strategies: the configured strategies, not yet in a graph.
        venues: one binding per venue traded at.
        feeds: one binding per instrument's market data.
        journal_path: the journal file; its folder is created if missing.
        recorder: records the market data the graph handled, if given.
        mode: what the log lines call the session ("paper", "live").
        services: tasks run beside the graph from when the runner runs until shutdown.
        journal_identity: the config's identity; a journal of another is refused.
        new_journal: move an existing journal aside (renamed, kept) and start a new one.
    """

    def __init__(
        self,
        config: NodeConfig,
        *,
        graph_factory: GraphFactory,
        strategies: Sequence[Strategy],
        venues: Sequence[VenueBinding],
        feeds: Sequence[FeedBinding],
        journal_path: Path,
        recorder: SessionRecorder | None = None,
        mode: str = "paper",
        services: Sequence[Service] = (),
        journal_identity: JournalIdentity | None = None,
        new_journal: bool = False,
    ) -> None:
        self.config = config
        self.strategies = list(strategies)
        self.venues = list(venues)
        self.feeds = list(feeds)
        self.journal_path = journal_path
        self.mode = mode
        self.services = list(services)
        self.journal_identity = journal_identity
        self.new_journal = new_journal
        self.state = RunnerState.STARTING
        self.session = 0
        self.recovery: RecoveryReport | None = None
        self.reconciliations: list[ReconciliationReport] = []
        self.graph: TradingGraph | None = None
        self.clock: LiveClock | None = None
        self.inbox = Inbox()
        self.runner: LiveRunner | None = None
        self.gate = SendGate()
        """Closed while recovery and reconciliation run: no command leaves for a venue."""
        self._graph_factory = graph_factory
        self._recorder = recorder
        self._stop = anyio.Event()
        self._journal: JournalWriter | None = None
        self._last_beat: float | None = None  # the event loop's time of the last heartbeat
        self._open_at_stop = 0
        self.poison: PoisonInput | None = None
        self.journal_audit: JournalAudit | None = None
        """With snapshots on, once the session runs: `engine.runtime.journal_audit`."""
        self.snapshots = (NodeSnapshots(SnapshotStore(snapshot_path(journal_path)),
                                        journal_path)
                          if config.snapshot_interval_s > 0 else None)
        """Takes the snapshots and finds the one a restart begins from (None: they are off)."""
        self._progress = _FeedProgress()

    # -- control and health ----------------------------------------------------------------

    def request_stop(self) -> None:
        """Begin a graceful stop (the first SIGTERM/SIGINT calls this)."""
        self._stop.set()

    def health(self) -> NodeHealth:
        """Liveness and readiness; call it on the node's event loop (the API does)."""
        return NodeHealth(
            live=self.state is not RunnerState.STOPPED and self._loop_turns(),
            ready=self.state is RunnerState.RUNNING,
            state=str(self.state),
            session=self.session,
            recovered_inputs=self.recovery.inputs_replayed if self.recovery else 0,
            venue_agrees=all(report.agrees for report in self.reconciliations),
            engine_ts=self.clock.timestamp_ns() if self.clock is not None else 0,
            poison=self.poison,
            journal_audit=self.journal_audit.status if self.journal_audit else None,
        )

    def _recovery_beat(self) -> bool:
        """Between two replay chunks: the loop turned (a heartbeat); was a stop requested?"""
        self._last_beat = anyio.current_time()
        return self._stop.is_set()

    def _paced_by_recorded_data(self) -> bool:
        """While recorded feeds still replay, timers fire only from the runner, in time
        order with the data (as a backtest's clock fires them), never at a wall time the
        data has not reached: a replay that lags behind its speed (a slow handler, a busy
        machine) would otherwise see timers fire ahead of the bars, and the session, its
        recovery and a backtest of its recording would order them differently."""
        return len(self.inbox) > 0 or not all(feed.finished.is_set() for feed in self.feeds)

    def _loop_turns(self) -> bool:
        if self._last_beat is None:  # not running yet: nothing is stuck
            return True
        return anyio.current_time() - self._last_beat < HEARTBEAT_S * 10

    # -- the graph ---------------------------------------------------------------------------

    def build_graph(self, clock: LiveClock) -> TradingGraph:
        """Wire the graph: the factory's core, then the venues, bar sources and strategies.

        `run()` calls this once; a test may call it on a fresh node to rebuild a
        journal's state the way recovery does.
        """
        if self.graph is not None:
            raise RuntimeError("node: the graph is already built (a node runs once)")
        graph = self.graph = self._graph_factory(clock)
        for venue in self.venues:
            graph.add_venue(venue.actor, venue.execution_client())
        for feed in self.feeds:
            if feed.bar_type is not None:
                graph.add_bar_source(feed.bar_type)
        for strategy in self.strategies:
            graph.add_strategy(strategy)
        return graph

    # -- the run ---------------------------------------------------------------------------

    async def run(self) -> int:
        """Recover, run until a stop is requested (or the feeds end, if configured), stop."""
        config = self.config
        self.journal_path.parent.mkdir(parents=True, exist_ok=True)
        first_ts = first_event_time(self.feeds)
        origin = first_ts if config.clock_origin == "data" and first_ts is not None else None
        clock = self.clock = LiveClock(origin_ns=origin, speed=config.speed)

        self.state = RunnerState.RECOVERING
        logger.info("recovering from %s", self.journal_path)
        facts = prepare_journal(self.journal_path, self.journal_identity,
                                start_new=self.new_journal, now_ns=_real_time_ns())
        reader = JournalReader(self.journal_path)
        progress = self._progress
        records = reader.records()
        first = next(records, None)
        # Held from here on, at the journal's first time (a replay never goes back), or
        # for a first session at the origin, where the graph then starts.
        clock.hold(first.ts_init if first is not None
                   else origin if origin is not None else clock.timestamp_ns())
        graph = self.build_graph(clock)
        bridges = [v.actor for v in self.venues if isinstance(v.actor, ExecutionBridge)]
        for bridge in bridges:
            # What the replay makes strategies send left in the session replayed (or was
            # lost with the crash, which reconciliation settles): nothing is sent again.
            bridge.replaying = True
        replay = Replay(graph, clock, on_market_data=progress.count)
        inputs: Iterable[JournalRecord] = (
            itertools.chain([first], records) if first is not None else ())
        begin = None
        trusted_through = 0
        if self.snapshots is not None:
            self.snapshots.bind(graph)
            if first is not None:
                begin = await self.snapshots.latest(graph)
        if self.snapshots is not None and begin is not None:
            seq, snapshot = begin.seq, begin.snapshot
            records.close()
            check_from = verify_from(self.journal_path, facts.journal_id)
            self.snapshots.restore(graph, clock, begin, check_from=check_from)
            trusted_through = check_from - 1  # checked again once the session runs
            progress.resume_after.clear()
            progress.resume_after.update(snapshot.feed_progress)
            inputs = records = reader.records(from_seq=seq + 1)
            replay.resume_from(last_seq=seq, last_ts=snapshot.last_ts)
        # In chunks, yielding to the loop between them: the heartbeat keeps turning and a
        # stop requested meanwhile ends the run before anything is written.
        report = self.recovery = await replay_inputs_async(
            replay, inputs, stop_requested=self._recovery_beat)
        for bridge in bridges:
            bridge.replaying = False
        if report.stopped_early:  # a signal during recovery: end before anything is written
            records.close()
            logger.warning("stopped during recovery (%d records of %s read): the session does "
                           "not start and the journal is unchanged; the next start replays "
                           "again", report.records_read, self.journal_path)
            self.state = RunnerState.STOPPED
            return 0
        if self.snapshots is not None and report.snapshot_seq:
            # Every record checked from seq 1 (the skipped ones too): the first bad one is
            # named as a full replay names it, before the tail read's view of it.
            await self.snapshots.verify_before(report.snapshot_seq)
        refuse_partial_read(reader)  # a damaged journal waits for the operator
        # Every record up to here was checked: the next start checks only what follows.
        mark_verified(self.journal_path, facts.journal_id, report.last_seq)
        if report.records_read or report.snapshot_seq:
            after = (f" after the snapshot at seq {report.snapshot_seq}"
                     if report.snapshot_seq else "")
            logger.info("recovered %d inputs (%d records) from %s%s", report.inputs_replayed,
                        report.records_read, self.journal_path, after)
        if self.snapshots is not None:
            self.snapshots.begin(last_seq=report.last_seq, last_ts=report.last_ts)
        if report.poison is not None:
            return await self._serve_halted(graph, report.poison)
        # What start-up and recovery built lives as long as the node: keep the cyclic
        # collector from walking it on every full collection (measured by the bench's
        # tick-to-order: the worst case fell from ~1.5 ms to under 0.5 ms).
        gc.freeze()
        resume_at = max(clock.timestamp_ns(), report.last_ts or 0)
        if config.clock_origin == "wall":
            resume_at = max(resume_at, _real_time_ns())  # real time again after a restart

        async with (
            JournalWriter(self.journal_path, synchronous=config.journal_synchronous,
                          identity=self.journal_identity) as journal,
            AsyncExitStack() as resources,  # closed after the tasks using them have ended
        ):
            self._journal = journal
            runner = self.runner = LiveRunner(graph, self.inbox)
            runner.on_poison = partial(self.halt, graph)
            if self.feeds and all(feed.first_event_time() is not None for feed in self.feeds):
                clock.defer_timers = self._paced_by_recorded_data
            graph.bus.add_observer(runner.journal_observer(journal))
            self.session = journal.statistics().session
            async with self._fatal_marked(journal), anyio.create_task_group() as group:
                await group.start(journal.run)
                sink = (await self._start_recorder(self._recorder, group, resources)
                        if self._recorder is not None else None)
                runner.on_data = self._data_observer(sink)
                for bridge in bridges:
                    # Commands leave only once journaled, and only through the gate, which
                    # stays closed until reconciliation is done.
                    bridge.attach(gate=self.gate, deliver=self._venue_event_sink,
                                  outbox=DurableOutbox(journal),
                                  on_reconnect=self.reconcile_venue)
                    await group.start(bridge.run)
                for venue in self.venues:
                    for task in venue.tasks:
                        await group.start(task)
                self.reconciliations = await self.reconcile(graph)
                self.gate.open()
                # Marked while the clock is still held where the graph started (or where the
                # journal ended): a replay starts the graph at the first record's time, so the
                # timers it sets then are the ones this run set.
                clock.hold(resume_at)
                # Client order ids of this session: prefixed by a wall time later than any
                # earlier session's, so no id a venue has seen is ever made again, even
                # after the journal was lost (`engine.domain.ids.session_order_prefix`).
                epoch_ms = max(_real_time_ns() // 1_000_000, graph.session_epoch_ms + 1)
                started = SessionStarted(session=self.session, order_id_epoch_ms=epoch_ms,
                                         ts_event=resume_at, ts_init=resume_at)
                runner.publish_input(system_topic("session"), started)
                graph.begin_session(started)
                await group.start(clock.run)
                await group.start(runner.run)
                for service in self.services:
                    await group.start(service)
                group.start_soon(self._heartbeat_loop)
                group.start_soon(self._status_loop)
                if (snapshots := self.snapshots) is not None:
                    group.start_soon(self._snapshot_loop, graph, journal, snapshots)
                    if journal.journal_id is not None:
                        audit = self.journal_audit = JournalAudit(
                            self.journal_path, journal.journal_id,
                            trusted_through=trusted_through,
                            verified_through=report.last_seq,
                            latest=lambda: snapshots.statistics().last_seq,
                            period_s=max(config.snapshot_interval_s, _AUDIT_MIN_PERIOD_S))
                        group.start_soon(audit.run)
                # Time flows from here, as the feeds start, not before the services: the
                # API server's start-up (~90 ms) at 50,000x was 75 minutes of engine time
                # a replay then delivered as one burst. On the wall clock it flows from
                # real time, not from before reconciliation and start-up.
                clock.release(max(resume_at, _real_time_ns())
                              if config.clock_origin == "wall" else None)
                async with anyio.create_task_group() as feeds_group:
                    self._start_feeds(feeds_group, clock, progress)
                    if self.poison is None:  # a poison entry may have halted it already
                        self.state = RunnerState.RUNNING
                    logger.info("session %d running (%s mode, speed %sx)", self.session,
                                self.mode, config.speed)
                    if config.stop_when_feeds_finish:
                        feeds_group.start_soon(self._stop_when_feeds_finish)
                    await self._stop.wait()
                    feeds_group.cancel_scope.cancel()
                await self._shutdown(graph, runner, journal)
                if sink is not None:
                    await sink.flush()
                group.cancel_scope.cancel()
        self.state = RunnerState.STOPPED
        logger.info("session %d stopped", self.session)
        logger.info("session %d summary: %s", self.session, self.session_summary())
        return 0

    def halt(self, graph: TradingGraph, poison: PoisonInput) -> None:
        """Stop trading on a poison input: gate closed, risk HALTED, the record reported.

        The node stays up (the API serves, a stop request ends it as usual); no order
        leaves until an operator has looked at the record and restarted.
        """
        self.poison = poison
        self.state = RunnerState.HALTED
        self.gate.close()
        now = self._require_clock().timestamp_ns()
        reason = f"poison input: {poison.describe()}"
        try:
            graph.bus.send(RISK_EXECUTE, SetTradingState(state=TradingState.HALTED,
                                                         reason=reason[:500],
                                                         ts_event=now, ts_init=now))
        except Exception as error:  # the graph may be what is broken: the gate holds
            logger.error("halt: the risk actor could not be set HALTED: %s", error)
        logger.error("HALTED on %s; no order leaves. Inspect it with `tradebus journal "
                     "export` and fix or remove it before restarting", poison.describe())

    async def _serve_halted(self, graph: TradingGraph, poison: PoisonInput) -> int:
        """Recovery stopped at a poison input: serve the API, trade nothing, until stopped.

        No session starts and the journal is not opened for writing, so it stays as it
        was for the operator (and the next start reports the same record again).
        """
        self.halt(graph, poison)
        async with anyio.create_task_group() as group:
            for service in self.services:
                await group.start(service)
            group.start_soon(self._heartbeat_loop)
            await self._stop.wait()
            group.cancel_scope.cancel()
        self.state = RunnerState.STOPPED
        logger.info("halted node stopped (poison input seq %d)", poison.seq)
        return 0

    async def reconcile(self, graph: TradingGraph) -> list[ReconciliationReport]:
        """Make the books recovery rebuilt match what each venue says, before trading.

        Runs once the journal is open and the venues' tasks are connected, with the send
        gate closed, before the strategies are released: each venue's reports are
        compared with the books and every difference is brought in as a journaled input
        (`engine.runtime.reconciliation`). A venue with no execution client is skipped.
        """
        reports: list[ReconciliationReport] = []
        for venue in self.venues:
            client = venue.execution_client()
            if client is not None:
                reports.append(await self._reconcile_with(client, graph))
        return reports

    async def reconcile_venue(self, venue: str) -> ReconciliationReport | None:
        """Reconcile one venue mid-session (after its client reconnected): the gate is
        closed meanwhile, so no command leaves until the books match the venue again."""
        graph = self.graph
        binding = next((v for v in self.venues if v.venue == venue), None)
        client = binding.execution_client() if binding is not None else None
        if graph is None or client is None:
            return None
        self.gate.close()
        try:
            report = await self._reconcile_with(client, graph)
        finally:
            self.gate.open()
        self.reconciliations = [r for r in self.reconciliations if r.venue != venue]
        self.reconciliations.append(report)
        return report

    async def _reconcile_with(
        self, client: ExecutionClient, graph: TradingGraph
    ) -> ReconciliationReport:
        runner = self.runner
        if runner is None:
            raise RuntimeError("node: reconciliation needs the runner (made in run())")
        now = self._require_clock().timestamp_ns()
        # Trades since the oldest order the books hold open there, or since the journal's
        # last time, less a margin for venue and engine clocks that disagree.
        open_since = [o.ts_created for o in engine_open_orders(graph, client.venue)]
        last = self.recovery.last_ts if self.recovery is not None else None
        since = min([*open_since, last if last is not None else now])
        since -= int(self.config.reconcile_lookback_s * 1e9)
        unsent = frozenset().union(*(
            v.actor.unsent_order_ids() for v in self.venues
            if v.venue == client.venue and isinstance(v.actor, ExecutionBridge)))
        return await reconcile(client, graph, since_ns=since, now_ns=now,
                               inject=runner.inject, unsent=unsent)

    def _start_feeds(
        self, group: anyio.abc.TaskGroup, clock: LiveClock, progress: _FeedProgress
    ) -> None:
        for index, feed in enumerate(self.feeds):
            lane = f"feed-{index}-{feed.instrument_id}"
            self.inbox.add_lane(lane, capacity=self.config.data_capacity,
                                policy=self.config.overflow)
            group.start_soon(partial(feed.run, clock=clock, deliver=self._deliverer(lane),
                                     resume_after=progress.resume_after.get(feed.instrument_id)))

    @asynccontextmanager
    async def _fatal_marked(self, journal: JournalWriter) -> AsyncIterator[None]:
        """Journal a fatal error that ends the session as its last record (not an input:
        a replay does not repeat it), so the journal says the session failed, not that it
        was killed; the writer commits it as it closes."""
        try:
            yield
        except Exception as error:
            self.gate.close()  # a fatal error stops trading: no command leaves from here on
            cause = _first_cause(error)
            now = self._require_clock().timestamp_ns()
            try:
                journal.append(system_topic("session"), SessionFailed(
                    session=self.session, error_type=type(cause).__name__,
                    error=str(cause)[:500], ts_event=now, ts_init=now))
            except Exception as marker_error:  # the journal itself may be what failed
                logger.error("the fatal error could not be journaled: %s", marker_error)
            raise

    def _data_observer(self, sink: RecordingSink | None) -> Callable[[Any], None] | None:
        """What the runner calls with each market data item the graph handled (and the
        journal holds as an input): the recording, and, with snapshots, the feeds'
        progress, which a snapshot carries as the replay of the same records counts it."""
        record = sink.append if sink is not None else None
        if self.snapshots is None:
            return record
        count = self._progress.count

        def observe(message: Any) -> None:
            count(message)
            if record is not None:
                record(message)

        return observe

    async def _snapshot_loop(
        self, graph: TradingGraph, journal: JournalWriter, snapshots: NodeSnapshots
    ) -> None:
        """Snapshot every `snapshot_interval_s` while the session runs; never after a poison
        input (a restart must reach that record again and halt on it)."""
        interval = self.config.snapshot_interval_s
        while True:
            await anyio.sleep(interval)
            if self.state is RunnerState.RUNNING and self.poison is None:
                await snapshots.take(graph, journal, self._progress.resume_after)

    def _venue_event_sink(self, event: Event) -> None:
        """Where venue adapters (and bridges) deliver order events and account states."""
        self.inbox.put_critical_nowait(event, venue_event_endpoint(event))

    def statistics(self) -> NodeStatistics:
        """One snapshot of the whole node (bus, actors, inbox, journal, venues, feeds)."""
        graph = self.graph
        if graph is None:
            raise RuntimeError("node: statistics exist once run() has built the graph")
        return node_statistics(
            graph, inbox=self.inbox, runner=self.runner, journal=self._journal,
            snapshots=self.snapshots.statistics() if self.snapshots is not None else None,
            venues=[(v.venue, v.actor) for v in self.venues
                    if isinstance(v.actor, SupportsStatistics)],
            feeds=[(f"{index}-{feed.instrument_id}", feed) for index, feed
                   in enumerate(self.feeds) if isinstance(feed, SupportsStatistics)],
        )

    def _deliverer(self, lane: str) -> Deliver:
        inbox = self.inbox

        def deliver(item: MarketData) -> None:
            inbox.put_data(lane, item, topic_for(item), instrument_of(item))

        return deliver

    async def _start_recorder(
        self,
        recorder: SessionRecorder,
        group: anyio.abc.TaskGroup,
        resources: AsyncExitStack,
    ) -> RecordingSink:
        # Entered on the exit stack, not in a task: the recording must be closed after the
        # task writing to it has ended (an open aiosqlite thread keeps the process alive).
        started = self._require_clock().timestamp_ns()
        sink = await resources.enter_async_context(
            recorder.open(started, _journaled_market_data(self.journal_path)))
        await group.start(sink.run)
        return sink

    async def _stop_when_feeds_finish(self) -> None:
        for feed in self.feeds:
            await feed.finished.wait()
        await self.inbox.wait_empty()  # the runner takes what the feeds delivered last
        self.request_stop()

    async def _shutdown(
        self, graph: TradingGraph, runner: LiveRunner, journal: JournalWriter
    ) -> None:
        self.state = RunnerState.STOPPING
        runner.stop_accepting()
        now = self._require_clock().timestamp_ns()
        cancel = self.config.cancel_open_orders_on_stop
        working = self._open_at_stop = len(graph.orders.open_orders())
        if working:
            logger.warning(
                "stop: %d open orders %s", working,
                "are canceled (cancel_open_orders_on_stop = true); each strategy is told "
                "which on the next start" if cancel else "stay working at the venues "
                "(cancel_open_orders_on_stop = false)")
        # The stop's snapshot is the state before the stop marker: a restart from it
        # replays the marker (strategies stop and save) like any other input.
        snapshots = self.snapshots
        captured = (snapshots.capture(graph, journal.last_appended_seq,
                                      self._progress.resume_after)
                    if snapshots is not None and self.poison is None else None)
        runner.publish_input(system_topic("session"),
                             SessionStopping(session=self.session, cancel_open_orders=cancel,
                                             ts_event=now, ts_init=now))
        graph.stop_strategies(cancel_open_orders=cancel)
        graph.stop()
        with anyio.CancelScope(shield=True):
            await journal.flush()
            if snapshots is not None and captured is not None:
                await snapshots.write(captured)

    def _require_clock(self) -> LiveClock:
        if self.clock is None:
            raise RuntimeError("node: the clock is made in run()")
        return self.clock

    async def _heartbeat_loop(self) -> None:
        while True:
            self._last_beat = anyio.current_time()
            await anyio.sleep(HEARTBEAT_S)

    async def _status_loop(self) -> None:
        while True:
            await anyio.sleep(self.config.status_interval_s)
            if self.graph is not None:
                logger.info("status: %s", self.status_line())

    def status_line(self) -> str:
        """What the periodic status log line says: money, positions, orders, the feeds
        (items delivered, how far behind their data they run), the inbox, faults.

        `behind` is the largest lag of a feed's last item (engine time at delivery less
        its own time) and `inbox depth` what waits to be handled: a paper session
        replaying faster than the graph keeps up shows in them before anything is dropped.
        """
        graph = self.graph
        if graph is None:
            return "not running"
        portfolio = graph.portfolio
        inbox = self.inbox.statistics()
        feeds = self._feed_counters()
        delivered = sum(counters.get("delivered", 0) for counters in feeds)
        behind_ns = max((counters.get("lag_ns", 0) for counters in feeds), default=0)
        faulted = [s.id for s in graph.strategies if s.state is ActorState.FAULTED]
        return (
            f"equity {portfolio.equity()}, pnl {self._pnl(portfolio)}, "
            f"positions {len([p for p in portfolio.positions() if p.quantity])}, "
            f"open orders {len(graph.orders.open_orders())}, "
            f"fills {graph.orders.statistics().fills}, "
            f"feed delivered {delivered} (behind {behind_ns / 1e9:.1f} s engine time), "
            f"faulted strategies {', '.join(faulted) if faulted else 'none'}, "
            f"inbox depth {sum(lane.depth for lane in inbox.lanes.values())}, "
            f"delivered {inbox.delivered}, "
            f"dropped {sum(lane.dropped for lane in inbox.lanes.values())}"
        )

    def session_summary(self) -> str:
        """The stop's one-line account of the session: what was handled and what is left."""
        graph = self.graph
        if graph is None:
            return "nothing ran"
        runner = self.runner.statistics() if self.runner is not None else None
        portfolio = graph.portfolio
        faulted = [s.id for s in graph.strategies if s.state is ActorState.FAULTED]
        recovered = self.recovery.inputs_replayed if self.recovery is not None else 0
        return (
            f"{runner.data_handled if runner else 0} market data items handled "
            f"(after {recovered} recovered inputs), "
            f"fills {graph.orders.statistics().fills} in all, equity {portfolio.equity()}, "
            f"pnl {self._pnl(portfolio)}, "
            f"open positions {len([p for p in portfolio.positions() if p.quantity])}, "
            f"open orders at the stop {self._open_at_stop} "
            f"({'canceled' if self.config.cancel_open_orders_on_stop else 'left working'}), "
            f"faulted strategies {', '.join(faulted) if faulted else 'none'}"
        )

    @staticmethod
    def _pnl(portfolio: Portfolio) -> str:
        """Realized plus unrealized, less fees (quote currencies summed, as the portfolio's)."""
        return str(portfolio.realized_pnl() + portfolio.unrealized_pnl() - portfolio.total_fees())

    def _feed_counters(self) -> list[dict[str, int]]:
        counters: list[dict[str, int]] = []
        for feed in self.feeds:
            if isinstance(feed, SupportsStatistics):
                snapshot = feed.statistics()
                if snapshot is not None:
                    counters.append(msgspec.to_builtins(snapshot))
        return counters


def _first_cause(error: BaseException) -> BaseException:
    """The first leaf of an exception group (what a task group raises), or `error`."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def _real_time_ns() -> int:
    """Real time now: an unscaled live clock's time (only engine/clock.py reads the wall)."""
    return LiveClock().timestamp_ns()


def _journaled_market_data(path: Path) -> Iterator[MarketData]:
    """The journal's market data inputs, in journal order (what the recording must hold)."""
    for record in JournalReader(path).records():
        message = record.message
        if record.is_input and isinstance(message, _MARKET_DATA_TYPES):
            yield message


class _FeedProgress:
    """Where each feed resumes: after the last item of it the journal holds.

    `resume_after[instrument]` is (that item's ts_event, how many journaled items of the
    instrument have that ts_event). Not a count of items: those the inbox dropped were
    never journaled, so a count would resume too early and replay them late. Keyed by
    instrument (one feed per instrument), not by topic: a recording feed carries trades,
    quotes or bars of any timeframe, each on its own topic.
    """

    def __init__(self) -> None:
        self.resume_after: dict[str, tuple[int, int]] = {}

    def count(self, message: MarketData) -> None:
        """One more journaled market data input (replayed, or handled live)."""
        instrument = instrument_of(message)
        ts_event = message.ts_event
        last = self.resume_after.get(instrument)
        same = last[1] + 1 if last is not None and last[0] == ts_event else 1
        self.resume_after[instrument] = (ts_event, same)
