"""Crash recovery: rebuild the graph's state by replaying the journal's inputs.

The graph is deterministic, so the inputs a session handled (market data, venue events,
operator commands, timer firings, session markers), replayed in journal order through a
fresh graph with the clock held at each input's time, rebuild every order, position,
balance, risk counter, simulated-venue order and strategy state exactly as they were.
Derived records are not replayed (they are made again); only their count is reported.
A restart may begin from a snapshot instead (`engine.runtime.snapshots`) and replay only
the records after it (`Replay.resume_from`): the same state, in a time bounded by the
snapshot interval.

While replaying, the live clock is held: time is each input's `ts_init`, and journaled
timer firings are applied in place instead of timers firing by themselves. Strategies
run their handlers as they did, but everything they send stays inside the process (the
simulated venue is in the graph); a live venue adapter must not send during recovery.

A journaled input that raises while replayed (a poison input: a core actor fails on it;
strategies' faults are isolated) ends the replay there, with the record named in the
report (`PoisonInput`): the graph's state is the journal's up to that record, and the
node halts on it instead of starting a session (engine/runtime/node.py), so a restart
reports the same record again instead of crashing again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import anyio.lowlevel
import msgspec

from engine.clock import LiveClock
from engine.events.base import Command
from engine.events.system import SessionStarted, SessionStopping, TimerFired
from engine.graph import TradingGraph

__all__ = (
    "PoisonInput", "RecoveryReport", "Replay", "replay_inputs", "replay_inputs_async",
)

logger = logging.getLogger(__name__)

_MARKET_DATA_KINDS = frozenset({"bar", "trade_tick", "quote_tick", "book_delta", "funding_rate"})


class PoisonInput(msgspec.Struct, frozen=True, kw_only=True):
    """A journaled input the graph raised on: what an operator needs to find and judge it
    (`tradebus journal export`), in the log, the node's health and the API's status."""

    seq: int
    kind: str
    topic: str
    error_type: str
    error: str

    @classmethod
    def of(cls, seq: int, kind: str, topic: str, error: Exception) -> PoisonInput:
        return cls(seq=seq, kind=kind, topic=topic, error_type=type(error).__name__,
                   error=str(error)[:500])

    def describe(self) -> str:
        return (f"input seq {self.seq} ({self.kind} on {self.topic}) raised "
                f"{self.error_type}: {self.error}")


class RecoveryReport(msgspec.Struct, frozen=True, kw_only=True):
    records_read: int
    inputs_replayed: int
    derived_records: int
    data_by_topic: dict[str, int]
    first_ts: int | None
    last_ts: int | None
    last_seq: int
    sessions_stopped: int
    timers_missing: int
    poison: PoisonInput | None = None
    """The input the replay stopped at because the graph raised on it, if any."""
    stopped_early: bool = False
    """A stop was requested before the replay was done: the graph is part-built."""
    snapshot_seq: int = 0
    """The journal seq of the snapshot the replay started after (0: from the first
    record); the counts above are then those of the records after it."""


REPLAY_CHUNK = 2_000
"""Records replayed between two yields to the event loop: small enough that the node's
heartbeat (every 0.5 s) keeps turning while a long journal is replayed."""


class Replay:
    """Apply journal records to a fresh graph one at a time, counting what was seen.

    One record at a time (`apply`), so the synchronous replay, the chunked asynchronous
    one and a per-record error guard all share the one loop body.
    """

    def __init__(self, graph: TradingGraph, clock: LiveClock, *, start: bool = True,
                 on_market_data: Callable[[Any], None] | None = None) -> None:
        self.graph = graph
        self.clock = clock
        self.start = start
        self.on_market_data = on_market_data
        """Told of each market data input before it is replayed (where the feeds resume)."""
        self.read = self.inputs = self.derived = self.stopped = self.missing = 0
        self.by_topic: dict[str, int] = {}
        self.first_ts: int | None = None
        self.last_ts: int | None = None
        self.last_seq = 0
        self.poison: PoisonInput | None = None
        self.snapshot_seq = 0

    def resume_from(self, *, last_seq: int, last_ts: int) -> None:
        """Continue after a restored snapshot: the graph already runs, time is `last_ts`
        (the largest `ts_init` of the records up to `last_seq`, as a full replay has it)."""
        self.start = False
        self.snapshot_seq = last_seq
        self.first_ts = last_ts
        self.last_ts = last_ts
        self.last_seq = last_seq
        self.clock.hold(last_ts)

    def apply(self, record: Any) -> bool:
        """Replay one journal record (a derived one is only counted); False when the graph
        raised on it: it is the poison input the replay must stop at."""
        graph, clock = self.graph, self.clock
        self.read += 1
        self.last_seq = record.seq
        if self.first_ts is None:
            self.first_ts = record.ts_init
            clock.hold(self.first_ts)
            if self.start:
                graph.start()
        ts = record.ts_init
        last_ts = self.last_ts
        if last_ts and last_ts > ts:
            ts = last_ts  # a replay never goes back
        self.last_ts = ts
        if not record.is_input:
            self.derived += 1
            return True
        self.inputs += 1
        clock.hold(ts)
        try:
            message = record.message
            kind = record.kind
            if kind in _MARKET_DATA_KINDS:
                self.by_topic[record.topic] = self.by_topic.get(record.topic, 0) + 1
                if self.on_market_data is not None:
                    self.on_market_data(message)
                graph.process(message, record.topic)
            elif type(message) is TimerFired:
                if not clock.replay_fired(message):
                    self.missing += 1
                    logger.warning("recovery: timer %s of %s is not set; its firing is skipped",
                                   message.name, message.owner)
            elif type(message) is SessionStopping:
                self.stopped += 1
                graph.stop_strategies(cancel_open_orders=message.cancel_open_orders)
            elif type(message) is SessionStarted:
                graph.begin_session(message)
            elif isinstance(message, Command) or graph.bus.has_endpoint(record.topic):
                graph.bus.send(record.topic, message)
            else:
                graph.bus.publish(record.topic, message)
        except Exception as error:
            self.inputs -= 1  # not replayed: it is the report's poison
            self.poison = PoisonInput.of(record.seq, record.kind, record.topic, error)
            logger.error("recovery: journaled %s; the replay stops there",
                         self.poison.describe(), exc_info=error)
            return False
        return True

    def finish(self, *, stopped_early: bool = False) -> RecoveryReport:
        """Start the graph of an empty journal; report what was replayed."""
        if self.first_ts is None and self.start and not stopped_early:
            self.graph.start()
        return RecoveryReport(
            records_read=self.read,
            inputs_replayed=self.inputs,
            derived_records=self.derived,
            data_by_topic=dict(sorted(self.by_topic.items())),
            first_ts=self.first_ts,
            last_ts=self.last_ts,
            last_seq=self.last_seq,
            sessions_stopped=self.stopped,
            timers_missing=self.missing,
            stopped_early=stopped_early,
            poison=self.poison,
            snapshot_seq=self.snapshot_seq,
        )


def replay_inputs(
    graph: TradingGraph,
    clock: LiveClock,
    records: Iterable[Any],
    *,
    start: bool = True,
) -> RecoveryReport:
    """Start `graph` at the journal's first time and replay every input record after it.

    `records` are journal records in seq order (derived ones are counted and skipped).
    With an empty journal the graph is started at the clock's current time. Leaves the
    clock held at the last record's time: the caller releases it. An input the graph
    raises on ends the replay there (`RecoveryReport.poison`).
    """
    replay = Replay(graph, clock, start=start)
    for record in records:
        if not replay.apply(record):
            break
    return replay.finish()


async def replay_inputs_async(
    replay: Replay,
    records: Iterable[Any],
    *,
    stop_requested: Callable[[], bool] = lambda: False,
    chunk: int = REPLAY_CHUNK,
) -> RecoveryReport:
    """`replay_inputs` for the daemon: yield to the event loop every `chunk` records, so
    its heartbeat and signal handlers keep running, and stop between two chunks once
    `stop_requested()` says so (the report then says `stopped_early`)."""
    count = 0
    for record in records:
        if not replay.apply(record):
            return replay.finish()
        count += 1
        if count % chunk == 0:
            await anyio.lowlevel.checkpoint()
            if stop_requested():
                return replay.finish(stopped_early=True)
    await anyio.lowlevel.checkpoint()
    if stop_requested():
        return replay.finish(stopped_early=True)
    return replay.finish()
