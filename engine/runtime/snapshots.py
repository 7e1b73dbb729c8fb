"""Node snapshots: taken on an interval while a session runs, and where a restart begins.

A snapshot is the graph's state after journal seq N (`TradingGraph.snapshot`) plus what
the node itself derives from records 1..N when it replays them: the replay's time
there (the largest `ts_init` of those records, which `Replay` holds the clock at) and
where each feed resumes (`feed_progress`). Restoring it and replaying records N+1..
gives the state, clock and feed positions a full replay gives, so a restart replays
at most what one interval journaled, however long the history.

Taking one (`NodeSnapshots.take`): on the event loop, between two inputs (any task
switch is one: handlers are synchronous and the bus drains before they return), the
actors' states are encoded at the journal's last appended seq N (`capture`: a msgpack
encode per actor); once N is committed, a worker thread adds the time and the journal
anchor and writes the row (`engine.persistence.snapshots.SnapshotStore`), so the graph
never waits on the disk. Nothing is taken when nothing was journaled since the last
snapshot, nor while the graph cannot be snapshotted (a live execution bridge, a
strategy without `on_save`/`on_load`, a stopped strategy): counted, logged once.

Starting from one (`NodeSnapshots.latest` then `restore`): the newest row that checks
out (format version, CRC, the graph's fingerprint, the journal record it follows) and
whose parts decode into this graph's actors' Structs is restored; otherwise the node
replays in full, saying why in one log line. The journal records a restart skips are
still checked (`verify_before`): a checksum pass (~3 us a record, no decoding) in a
thread while the loop restores and replays the rest, awaited before the journal is
opened for writing, so a damaged journal is refused as a full replay refuses it. The
pass begins after the records an earlier start checked (`journal_verified`), so a
restart checks what was journaled since, not the whole history again.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol

import anyio
import anyio.to_thread
import msgspec

from engine.clock import LiveClock
from engine.errors import FatalError, JournalDamaged
from engine.graph import GraphSnapshot, TradingGraph
from engine.persistence.journal_reader import DAMAGE_ADVICE
from engine.persistence.journal_scan import ScanOutcome, scan_checksums
from engine.persistence.snapshots import SnapshotStore, journal_anchor, journal_time

__all__ = ("NodeSnapshot", "NodeSnapshots", "RestorePoint", "SnapshotStatistics",
           "snapshot_path")

logger = logging.getLogger(__name__)

FeedProgress = dict[str, tuple[int, int]]
"""Per instrument: (ts_event of its last journaled item, how many share that ts_event)."""

def snapshot_path(journal_path: Path) -> Path:
    """Where a journal's snapshots are kept: `<stem>.snapshots<suffix>` beside it."""
    return journal_path.with_name(f"{journal_path.stem}.snapshots{journal_path.suffix}")


class NodeSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """One stored snapshot's body: the graph's state after a journal seq, and the node's."""

    graph: GraphSnapshot
    last_ts: int
    """The largest `ts_init` of the journal's records up to the seq (a replay's time there)."""
    feed_progress: FeedProgress


class RestorePoint(NamedTuple):
    """Where a restart begins: a snapshot `NodeSnapshots.latest` found usable, after
    journal seq `seq`, with its actors' parts decoded once for the graph it fits."""

    seq: int
    snapshot: NodeSnapshot
    parts: dict[str, msgspec.Struct]


class SnapshotStatistics(msgspec.Struct, frozen=True, kw_only=True):
    taken: int
    skipped_unchanged: int
    """Interval ends with nothing journaled since the last snapshot."""
    skipped_unsnapshottable: int
    failed: int
    """Captures or writes that failed (logged; a snapshot is a cache: the session goes on)."""
    last_seq: int
    """The journal seq of the newest snapshot written (or restored), 0 for none."""
    last_bytes: int
    last_capture_seconds: float
    """How long the newest one held the event loop (its state encoded between inputs)."""
    restored_seq: int
    """The seq of the snapshot this start restored, 0 after a full replay."""


class _CommittedJournal(Protocol):
    """What taking a snapshot needs of the journal writer."""

    @property
    def last_appended_seq(self) -> int: ...

    async def wait_committed(self, seq: int) -> None: ...


@dataclass(frozen=True)
class _Captured:
    """A snapshot encoded on the loop, waiting for its seq to be committed."""

    seq: int
    graph: GraphSnapshot
    feed_progress: FeedProgress


class NodeSnapshots:
    """Take a node's snapshots and find the one a restart begins from.

    Args:
        store: where they are kept.
        journal_path: the journal they follow (read for anchors and times).
    """

    def __init__(self, store: SnapshotStore, journal_path: Path) -> None:
        self.store = store
        self.journal_path = journal_path
        self._fingerprint: str | None = None
        self._base_seq = 0  # the latest seq whose replay time is known ...
        self._base_ts: int | None = None  # ... and that time
        self._lock: anyio.Lock | None = None
        self._unsnapshottable: str | None = None
        self._retired = False  # set aside: no start may use this store again, nor this run
        self._scan_outcome: list[ScanOutcome | Exception] | None = None
        self._taken = self._unchanged = self._refused = self._failed = 0
        self._last_seq = self._last_bytes = self._restored_seq = 0
        self._capture_seconds = 0.0
        self._capture_error: str | None = None  # the last capture failure, logged once

    # -- restoring ----------------------------------------------------------------------------

    def bind(self, graph: TradingGraph) -> str:
        """Take snapshots of `graph` (built): its fingerprint goes with each one."""
        fingerprint = self._fingerprint = graph.fingerprint()
        return fingerprint

    async def latest(self, graph: TradingGraph) -> RestorePoint | None:
        """The newest snapshot `graph` (built, not started) can be restored from, with its
        seq and its parts decoded for `graph`; None after one log line saying why the
        journal is replayed in full."""
        fingerprint = self.bind(graph)
        row, why = await anyio.to_thread.run_sync(self.store.latest, self.journal_path,
                                                  fingerprint)
        if row is None:
            level = logging.INFO if why.startswith("no snapshot") else logging.WARNING
            logger.log(level, "recovery: no usable snapshot (%s); the whole journal is "
                       "replayed", why)
            return None
        seq = row.anchor.seq
        try:
            snapshot = msgspec.msgpack.decode(row.body, type=NodeSnapshot)
            parts = graph.decode_parts(snapshot.graph)
        except (msgspec.DecodeError, ValueError) as error:
            logger.warning("recovery: the snapshot at seq %d does not fit this graph (%s); "
                           "the whole journal is replayed", seq, error)
            return None
        if why:
            logger.warning("recovery: newer snapshots skipped: %s", why)
        return RestorePoint(seq, snapshot, parts)

    def restore(self, graph: TradingGraph, clock: LiveClock, point: RestorePoint, *,
                check_from: int = 1) -> None:
        """Start `graph` from the snapshot `latest` found, the clock held at the replay's
        time there, and start checking the records recovery skips from `check_from`
        (those before it were checked at an earlier start: `journal_verified.verify_from`).

        Raises:
            FatalError: the graph refused it once started (its wiring differs): the
                strategies have run `on_start`, so no full replay can follow on them.
                The file is set aside first: the next start replays in full.
        """
        seq, snapshot = point.seq, point.snapshot
        clock.hold(snapshot.last_ts)
        try:
            graph.restore(snapshot.graph, point.parts)
        except ValueError as error:
            where = self._set_aside("rejected")
            raise FatalError(
                f"snapshot at seq {seq} does not fit the graph it was restored into: "
                f"{error}; the snapshots were moved aside to {where}",
                advice="start again: the journal is then replayed in full") from error
        self._restored_seq = self._last_seq = seq
        self._start_scan(check_from, seq)  # what recovery skips: checked meanwhile
        logger.info("recovery: from the snapshot at seq %d of %s; the journal is replayed "
                    "after it", seq, self.store.path)

    def begin(self, *, last_seq: int, last_ts: int | None) -> None:
        """Recovery ended at `last_seq`, its clock at `last_ts`: snapshots follow on from
        there (the next one's time is the largest of this and the records after it)."""
        self._base_seq, self._base_ts = last_seq, last_ts

    def _start_scan(self, from_seq: int, through_seq: int) -> None:
        """Check the checksums of records `from_seq`..`through_seq` in a thread of its own
        (no record is decoded), while the loop restores the snapshot and replays the
        records after it (which that replay checks as it reads them).

        A daemon thread, not a worker: a stop during recovery must not wait for a scan
        of the whole history (it only reads), and a worker thread is joined at exit."""
        outcome = self._scan_outcome = []
        if from_seq > through_seq:  # an earlier start checked them all
            outcome.append(ScanOutcome(from_seq=from_seq, through_seq=through_seq,
                                       checked_through=through_seq))
            return

        def scan() -> None:
            try:
                outcome.append(scan_checksums(self.journal_path, from_seq, through_seq))
            except Exception as error:  # a bug: raised on the loop, not lost in a thread
                outcome.append(error)

        threading.Thread(target=scan, name="journal verify", daemon=True).start()

    async def verify_before(self, seq: int) -> None:
        """Wait for the checksum pass `restore` started (recovery skipped the records up
        to `seq`); raise on the first bad record, before the journal is opened for writing.

        Raises:
            JournalDamaged: naming the record, as a full replay would. Nothing in the data
                dir is changed (each start checks again); once `tradebus journal repair`
                cut the journal, snapshots after the cut no longer match it.
        """
        outcome = self._scan_outcome
        if outcome is None:
            raise RuntimeError("snapshots: no scan was started (`restore` starts it)")
        while not outcome:  # noqa: ASYNC110 (a thread's result: polled every 5 ms)
            await anyio.sleep(0.005)
        scanned = outcome[0]
        if isinstance(scanned, Exception):
            raise scanned
        if scanned.error is not None:
            raise JournalDamaged(scanned.error, advice=DAMAGE_ADVICE)
        corruption = scanned.corruption
        if corruption is None:
            logger.info("journal %s: records up to the snapshot at seq %d verified (%d "
                        "checked now, %d at an earlier start)", self.journal_path, seq,
                        max(seq - scanned.from_seq + 1, 0), scanned.from_seq - 1)
            return
        raise JournalDamaged(
            f"journal {self.journal_path}: damaged at seq {corruption.seq} "
            f"({corruption.reason}): {corruption.skipped} committed records from there on "
            f"cannot be replayed (found checking the records before the snapshot at seq "
            f"{seq})", advice=DAMAGE_ADVICE)

    def _set_aside(self, label: str) -> Path | None:
        self._retired = True
        return self.store.set_aside(label)

    # -- taking --------------------------------------------------------------------------------

    def capture(self, graph: TradingGraph, seq: int,
                feed_progress: FeedProgress) -> _Captured | None:
        """Encode the graph's state after journal seq `seq` (the last appended), on the
        loop between two inputs; None when there is nothing new or it cannot be taken."""
        if self._retired:
            return None
        if seq <= self._last_seq:
            self._unchanged += 1
            return None
        reason = graph.unsnapshottable()
        if reason is not None:
            self._refused += 1
            if reason != self._unsnapshottable:
                logger.info("snapshots: none is taken while %s", reason)
            self._unsnapshottable = reason
            return None
        self._unsnapshottable = None
        started = anyio.current_time()
        try:
            state = graph.snapshot()
        except Exception as error:  # an actor's snapshot_state is broken: a cache, not fatal
            self._failed += 1
            message = f"{type(error).__name__}: {error}"
            if message != self._capture_error:
                logger.error("snapshot at seq %d: not taken, an actor's state could not be "
                             "captured (%s); the session goes on, a restart replays more",
                             seq, message, exc_info=error)
            self._capture_error = message
            return None
        self._capture_error = None
        self._capture_seconds = anyio.current_time() - started
        return _Captured(seq=seq, graph=state, feed_progress=dict(feed_progress))

    async def write(self, captured: _Captured) -> None:
        """Store `captured` (its seq must be committed): in a worker thread, one at a time.
        A failure is logged and counted, never raised: a snapshot is only a cache."""
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            if self._retired:
                return
            started = anyio.current_time()
            try:
                size = await anyio.to_thread.run_sync(self._store, captured)
            except (OSError, ValueError, msgspec.EncodeError) as error:
                self._failed += 1
                logger.warning("snapshot at seq %d: not written: %s", captured.seq, error)
                return
            except Exception as error:  # sqlite3.Error and kin: still only a cache
                self._failed += 1
                logger.warning("snapshot at seq %d: not written: %s: %s", captured.seq,
                               type(error).__name__, error)
                return
        self._taken += 1
        self._last_seq, self._last_bytes = captured.seq, size
        logger.debug("snapshot at seq %d: %d bytes, %.3f s on the loop, written in %.3f s",
                     captured.seq, size, self._capture_seconds,
                     anyio.current_time() - started)

    def _store(self, captured: _Captured) -> int:
        seq = captured.seq
        anchor = journal_anchor(self.journal_path, seq)
        if anchor is None:
            raise ValueError(f"the journal holds no record at seq {seq}")
        newest = journal_time(self.journal_path, self._base_seq, seq)
        times = [t for t in (self._base_ts, newest) if t is not None]
        if not times:
            raise ValueError(f"no journal time up to seq {seq}")
        last_ts = max(times)
        body = msgspec.msgpack.encode(NodeSnapshot(
            graph=captured.graph, last_ts=last_ts, feed_progress=captured.feed_progress))
        fingerprint = self._fingerprint
        if fingerprint is None:
            raise ValueError("no fingerprint: `bind` was not called")
        self.store.write(anchor, fingerprint, body)
        self._base_seq, self._base_ts = seq, last_ts
        return len(body)

    async def take(self, graph: TradingGraph, journal: _CommittedJournal,
                   feed_progress: FeedProgress) -> None:
        """Capture now (on the loop), then write once the seq is committed."""
        captured = self.capture(graph, journal.last_appended_seq, feed_progress)
        if captured is not None:
            await journal.wait_committed(captured.seq)
            await self.write(captured)

    def statistics(self) -> SnapshotStatistics:
        return SnapshotStatistics(
            taken=self._taken, skipped_unchanged=self._unchanged,
            skipped_unsnapshottable=self._refused, failed=self._failed,
            last_seq=self._last_seq, last_bytes=self._last_bytes,
            last_capture_seconds=round(self._capture_seconds, 6),
            restored_seq=self._restored_seq,
        )
