"""Crash recovery: rebuild the graph's state by replaying the journal's inputs.

The graph is deterministic, so the inputs a session handled (market data, venue events,
operator commands, timer firings, session markers), replayed in journal order through a
fresh graph with the clock held at each input's time, rebuild every order, position,
balance, risk counter, simulated-venue order and strategy state exactly as they were:
nothing needs a snapshot format of its own. Derived records are not replayed (they are
made again); only their count is reported.

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
from collections.abc import Iterable
from typing import Any

import msgspec

from engine.clock import LiveClock
from engine.events.base import Command
from engine.events.system import SessionStarted, SessionStopping, TimerFired
from engine.graph import TradingGraph

__all__ = ("PoisonInput", "RecoveryReport", "replay_inputs")

logger = logging.getLogger(__name__)

_MARKET_DATA_KINDS = frozenset({"bar", "trade_tick", "quote_tick", "book_delta"})


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
    read = inputs = derived = stopped = missing = 0
    by_topic: dict[str, int] = {}
    first_ts: int | None = None
    last_ts: int | None = None
    last_seq = 0
    poison: PoisonInput | None = None
    for record in records:
        read += 1
        last_seq = record.seq
        if first_ts is None:
            first_ts = record.ts_init
            clock.hold(first_ts)
            if start:
                graph.start()
        ts = max(record.ts_init, last_ts or record.ts_init)
        last_ts = ts
        if not record.is_input:
            derived += 1
            continue
        inputs += 1
        clock.hold(ts)
        try:
            message = record.message
            kind = record.kind
            if kind in _MARKET_DATA_KINDS:
                by_topic[record.topic] = by_topic.get(record.topic, 0) + 1
                graph.process(message, record.topic)
            elif type(message) is TimerFired:
                if not clock.replay_fired(message):
                    missing += 1
                    logger.warning("recovery: timer %s of %s is not set; its firing is skipped",
                                   message.name, message.owner)
            elif type(message) is SessionStopping:
                stopped += 1
                graph.stop_strategies(cancel_open_orders=message.cancel_open_orders)
            elif type(message) is SessionStarted:
                graph.begin_session(message)
            elif isinstance(message, Command) or graph.bus.has_endpoint(record.topic):
                graph.bus.send(record.topic, message)
            else:
                graph.bus.publish(record.topic, message)
        except Exception as error:
            inputs -= 1  # not replayed: it is the report's poison
            poison = PoisonInput.of(record.seq, record.kind, record.topic, error)
            logger.error("recovery: journaled %s; the replay stops there", poison.describe(),
                         exc_info=error)
            break
    if first_ts is None and start:
        graph.start()
    return RecoveryReport(
        records_read=read,
        inputs_replayed=inputs,
        derived_records=derived,
        data_by_topic=dict(sorted(by_topic.items())),
        first_ts=first_ts,
        last_ts=last_ts,
        last_seq=last_seq,
        sessions_stopped=stopped,
        timers_missing=missing,
        poison=poison,
    )
