"""The live runner: brings inbox entries into the graph as they arrive, on the event loop.

Only what can block is async: adapters (feeds, venue connections) and the journal
flusher are tasks; the runner awaits the inbox and then handles each entry
synchronously, so a handler never waits and the order entries are handled in is the
order they arrived. Timers fire from the live clock's task on the same loop.

The runner also decides what the journal calls an *input*: the messages it brings in
from outside (market data, venue events, operator commands) and timer firings. Replaying
exactly the inputs through a fresh graph rebuilds everything else (see `recovery.py`).

Engine time is an input too. While an input is handled the live clock is pinned at the
input's `ts_init` (never before the last pin: an input that would go back is restamped
with the last pinned time before it is handled, so the journal holds the time it was
handled at), and the timers due at or before that time fire first, each a journaled
input at its due time, as a backtest's `SimClock.advance_to` fires them. So the session,
its recovery (which holds the clock at each input's `ts_init`) and a backtest of its
recording read the same times and decide the same, however late an input is handled.

An entry a core actor raises on (a poison input; strategies' faults are isolated in the
graph) does not end the process: the runner makes sure the entry is journaled as an
input (so the journal holds what the graph saw, and a recovery stops at the same record
with the same report), stops taking entries, and hands the record to `on_poison` (the
node halts trading and reports it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Protocol

import anyio
import msgspec
from anyio.abc import TaskStatus

from engine.bus import Observer
from engine.clock import LiveClock
from engine.events.codec import TAGS
from engine.events.system import TimerFired
from engine.graph import TradingGraph
from engine.runtime.inbox import CRITICAL, Inbox, InboxEntry
from engine.runtime.recovery import PoisonInput

__all__ = ("JournalPort", "LiveRunner", "RunnerState", "RunnerStatistics")

logger = logging.getLogger(__name__)


class JournalPort(Protocol):
    """What the runner needs of the journal."""

    def append(self, topic: str, message: Any, *, is_input: bool = False) -> int: ...


class RunnerState(StrEnum):
    STARTING = "starting"
    RECOVERING = "recovering"
    RUNNING = "running"
    HALTED = "halted"
    """A poison input stopped recovery or the runner: no order leaves, the API serves."""
    STOPPING = "stopping"
    STOPPED = "stopped"


class RunnerStatistics(msgspec.Struct, frozen=True, kw_only=True):
    state: str
    entries_handled: int
    data_handled: int
    critical_handled: int


class LiveRunner:
    """Take entries from the inbox and bring them into the graph."""

    def __init__(self, graph: TradingGraph, inbox: Inbox) -> None:
        self.graph = graph
        self.inbox = inbox
        self.state = RunnerState.STARTING
        self._input: Any = None
        self._handled = 0
        self._data = 0
        self._critical = 0
        self._accepting = True
        self._append: Callable[..., int] | None = None
        self._input_seq = 0  # the journal seq of the last input journaled
        self.poison: PoisonInput | None = None
        """The entry the graph raised on, once it did: the runner takes no more entries."""
        self.on_poison: Callable[[PoisonInput], None] | None = None
        """Told of the poison entry (the node halts trading)."""
        self.on_data: Callable[[Any], None] | None = None
        """Called with each market data item the graph handled (the session recorder)."""
        self._data_watchers: tuple[Callable[[Any], None], ...] = ()
        clock = graph.clock
        self._clock = clock if isinstance(clock, LiveClock) else None
        """The clock pinned at each input's time (None: a graph on a simulated clock)."""
        if self._clock is not None:
            # The clock task fires due timers by itself only while nothing waits here.
            self._clock.defer_timers = self._inputs_wait

    def journal_observer(self, journal: JournalPort) -> Observer:
        """A bus observer that journals every message, marking the runner's inputs."""
        append = self._append = journal.append

        def observe(topic: str, message: Any) -> None:
            # Only the first sighting is the input: actors forward the same object (risk
            # to the order manager to the venue; the order manager republishes venue
            # events), and replaying those copies too would apply them twice.
            is_input = message is self._input
            if is_input:
                self._input = None
            seq = append(topic, message, is_input=is_input or type(message) is TimerFired)
            if is_input:
                self._input_seq = seq

        return observe

    def handle(self, entry: InboxEntry) -> None:
        """Bring one entry into the graph (synchronously, all its effects included),
        after the timers due by its time, with the clock pinned at its time."""
        message = self._enter(entry.message)
        try:
            if entry.lane == CRITICAL:
                self._critical += 1
                self.graph.bus.send(entry.target, message)
            else:
                self._data += 1
                self.graph.process(message, entry.target)
                if self.on_data is not None:
                    self.on_data(message)
        except Exception as error:
            self._poisoned(entry, message, error)
            return
        finally:
            self._leave()
        self._handled += 1
        if self._data_watchers and entry.lane != CRITICAL:
            self._show_watchers(message)

    def watch_data(self, watcher: Callable[[Any], None]) -> None:
        """Show `watcher` each entry of the data lane once the graph handled it, from now
        on (the metrics collector's feed latency). It only looks: one that raises is
        logged and dropped, never taken for a poison input that halts trading."""
        self._data_watchers = (*self._data_watchers, watcher)

    def _show_watchers(self, message: Any) -> None:
        for watcher in self._data_watchers:
            try:
                watcher(message)
            except Exception:
                logger.exception("runner: data watcher %r raised; dropped", watcher)
                self._data_watchers = tuple(w for w in self._data_watchers
                                            if w is not watcher)

    def _poisoned(self, entry: InboxEntry, message: Any, error: Exception) -> None:
        """A core actor raised on `entry`: journal it if the graph had not yet, stop, report."""
        seq = self._input_seq
        if self._input is message and self._append is not None:
            # It raised before the bus saw it (the cache, a venue's matching): journaled
            # now, so a recovery replays it and stops at it as this session did.
            seq = self._append(entry.target, message, is_input=True)
        self._input = None
        self._accepting = False
        kind = TAGS.get(type(message)) or type(message).__name__
        poison = self.poison = PoisonInput.of(seq, kind, entry.target, error)
        logger.error("runner: %s; trading halts, no more entries are taken", poison.describe(),
                     exc_info=error)
        if self.on_poison is not None:
            self.on_poison(poison)

    def _inputs_wait(self) -> bool:
        return len(self.inbox) > 0

    def _enter(self, message: Any) -> Any:
        """Make `message` the input: fire the timers due by its time, pin the clock there.

        Returns the message to handle: itself, or (rare: an entry of another lane was
        handled at a later time first) a copy stamped with the last pinned time.
        """
        clock = self._clock
        if clock is not None:
            ts = message.ts_init
            if ts < clock.pinned_floor:
                ts = clock.pinned_floor
                message = msgspec.structs.replace(message, ts_init=ts)
            if ts >= clock.deadline:
                clock.fire_due(ts)  # each firing its own input, journaled before this one
            clock.pin(ts)
        self._input = message
        return message

    def _leave(self) -> None:
        self._input = None
        if self._clock is not None:
            self._clock.unpin()

    def inject(self, message: Any, endpoint: str) -> None:
        """Bring an operator command in now (the API calls this from the loop)."""
        message = self._enter(message)
        try:
            self.graph.bus.send(endpoint, message)
        finally:
            self._leave()

    def publish_input(self, topic: str, message: Any) -> None:
        """Publish a message that comes from outside the graph (a session marker) as an input."""
        message = self._enter(message)
        try:
            self.graph.bus.publish(topic, message)
        finally:
            self._leave()

    def stop_accepting(self) -> None:
        """Stop taking entries (shutdown): what is left in the inbox is not handled."""
        self._accepting = False

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Handle entries until cancelled or told to stop accepting."""
        self.state = RunnerState.RUNNING
        task_status.started()
        inbox = self.inbox
        while self._accepting:
            entry = await inbox.get()
            if not self._accepting:
                break
            self.handle(entry)
            # Drain what is already queued without awaiting, but let other tasks run
            # every so often so a burst cannot starve the clock or the journal.
            for _ in range(256):
                pending = inbox.get_nowait()
                if pending is None or not self._accepting:
                    break
                self.handle(pending)
            await anyio.lowlevel.checkpoint()

    def statistics(self) -> RunnerStatistics:
        return RunnerStatistics(
            state=str(self.state),
            entries_handled=self._handled,
            data_handled=self._data,
            critical_handled=self._critical,
        )
