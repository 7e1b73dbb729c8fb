"""What a trading node needs of its edges: venue and feed bindings, and a session recorder.

The node (`engine.runtime.node`) runs the same lifecycle in every mode and imports no
concrete adapter. The composition root turns each `[[venues]]` and `[[feeds]]` entry
of a config into one of these bindings and hands them over; the node only speaks the
protocols below. A simulated venue is a binding whose actor lives wholly in the graph
and that has no tasks; a live execution adapter adds the tasks that hold its
connection. A replay feed and a live market data feed are both a `FeedBinding`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import anyio
from anyio.abc import TaskStatus

from engine.actor import Actor
from engine.events.base import Event
from engine.events.market import BarType
from engine.ports import ExecutionClient, MarketData
from engine.runtime.execution import ExecutionBridge

__all__ = (
    "AdapterTask",
    "BridgedVenueBinding",
    "Deliver",
    "FeedBinding",
    "FeedClock",
    "RecordingSink",
    "SessionRecorder",
    "VenueBinding",
    "first_event_time",
)

Deliver = Callable[[MarketData], None]
"""Hand one item to the node's inbox; never blocks (a full lane drops by its policy)."""


class AdapterTask(Protocol):
    """An adapter's long-running task (a venue connection), run in the node's task group.

    It calls `task_status.started()` once connected and subscribed: the node waits for
    that before the strategies are released. It runs until cancelled (the node's stop).
    """

    async def __call__(self, *, task_status: TaskStatus[None] = ...) -> None: ...


class VenueBinding(Protocol):
    """One venue the node trades at.

    `actor` is the in-graph actor registered at `venue_endpoint(venue)`: it takes the
    order commands and answers with order events (the simulated venue fills them itself;
    a live adapter's actor is an `ExecutionBridge`, which the node attaches to its send
    gate, inbox and durable outbox and runs). `tasks` are started in the node's task
    group after the journal is open.
    """

    @property
    def venue(self) -> str: ...

    @property
    def actor(self) -> Actor: ...

    @property
    def tasks(self) -> Sequence[AdapterTask]: ...

    def execution_client(self) -> ExecutionClient | None:
        """The venue's execution client, which reconciliation asks (None: nothing to ask).

        The node compares its reports with the books recovery rebuilt, after recovery
        and (for a live adapter, whose `ExecutionBridge` tells the node) after every
        reconnect.
        """
        ...


class BridgedVenueBinding:
    """A live venue as a `VenueBinding`: one execution client behind an `ExecutionBridge`.

    The bridge is the in-graph actor; the client's `run` is the one task. The client is
    built before the node attaches its inbox to the bridge, so a subclass builds it with
    `self._deliver` as its event sink (it reaches whatever sink the node attached last),
    `self._now_ns` as its clock (the graph's, once the bridge is in the graph) and
    `self._reconnected` to await after each reconnect (the node reconciles the venue
    before anything is sent again), then sets `self._client` and `self._bridge`.
    """

    _client: ExecutionClient
    _bridge: ExecutionBridge

    @property
    def venue(self) -> str:
        return self._client.venue

    @property
    def actor(self) -> Actor:
        return self._bridge

    @property
    def bridge(self) -> ExecutionBridge:
        return self._bridge

    @property
    def tasks(self) -> Sequence[AdapterTask]:
        return (self._client.run,)

    def execution_client(self) -> ExecutionClient:
        return self._client

    def _deliver(self, event: Event) -> None:
        self._bridge.deliver(event)

    def _now_ns(self) -> int:
        return self._bridge.clock.timestamp_ns()

    async def _reconnected(self) -> None:
        await self._bridge.reconnected()


class FeedClock(Protocol):
    """The engine time a feed stamps (`ts_init`) and, when it replays, paces by."""

    def timestamp_ns(self) -> int: ...

    async def sleep_until(self, ts_ns: int) -> None: ...


class FeedBinding(Protocol):
    """One source of market data for one instrument.

    The node resumes a feed after the last item of `instrument_id` its journal holds
    (`resume_after`: that item's `ts_event` and how many journaled items have it), so
    one instrument has one feed. `bar_type` is the bars the feed carries, declared to
    the graph as a bar source (so they are not also aggregated from finer data); None
    when it carries something else or a mix (trades, quotes, a recording).
    """

    @property
    def instrument_id(self) -> str: ...

    @property
    def bar_type(self) -> BarType | None: ...

    @property
    def finished(self) -> anyio.Event:
        """Set once the feed has delivered its last item (a live feed never finishes)."""
        ...

    def first_event_time(self) -> int | None:
        """The `ts_event` of its first item, if known before it runs (a data-origin clock
        starts there); None for a live feed or an empty one."""
        ...

    async def run(
        self, *, clock: FeedClock, deliver: Deliver, resume_after: tuple[int, int] | None
    ) -> None:
        """Deliver items until done (then set `finished`) or cancelled."""
        ...


class RecordingSink(Protocol):
    """Where one session's handled market data is written (see `SessionRecorder`)."""

    def append(self, item: MarketData) -> None:
        """Queue an item; called from the runner for each item the graph handled."""
        ...

    async def run(self, *, task_status: TaskStatus[None] = ...) -> None:
        """Write what is queued, until cancelled."""
        ...

    async def flush(self) -> None:
        """Write everything queued so far (the node's stop awaits this)."""
        ...


class SessionRecorder(Protocol):
    """Record what a session's graph handled, so it can be replayed as a backtest (parity).

    The recording is as crash-safe as the journal: it is written behind it, so a kill -9
    can leave it short of (or ahead of) what the journal holds, and `open` first makes it
    the journal's market data inputs again (`journaled`), so a backtest of it decides
    what the journal says the sessions decided, after any number of crashes.
    """

    def open(
        self, started_ns: int, journaled: Iterable[MarketData]
    ) -> AbstractAsyncContextManager[RecordingSink]:
        """Open the recording for a new session starting at engine time `started_ns`,
        once aligned with `journaled` (the journal's market data inputs, in order; read
        lazily, and only as far as needed).

        Closed by the node after every task that writes to it has ended.
        """
        ...


def first_event_time(feeds: Iterable[FeedBinding]) -> int | None:
    """The earliest first `ts_event` of the feeds that know theirs (a data-origin clock's start)."""
    times = [ts for ts in (feed.first_event_time() for feed in feeds) if ts is not None]
    return min(times) if times else None
