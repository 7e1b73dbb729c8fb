"""The inbox: bounded queues between I/O tasks and the graph, with a stated overflow policy.

Adapters run as anyio tasks and hand what they receive to the inbox without blocking the
loop; the runner takes entries out in arrival order and brings them into the graph.
Each source has a *lane* with its own capacity and policy:

- market data lanes are bounded and never block a feed: when full they drop the oldest
  entry (`DROP_OLDEST`, the default: the freshest data wins), refuse the new one
  (`DROP_NEWEST`), or keep only the newest entry per topic (`COALESCE`, for quotes and
  books where only the latest state matters). Every drop is counted.
- the critical lane (venue order events and fills, operator commands) never drops: a
  producer awaits room (`put_critical`), which is backpressure, never loss.

Arrival order across lanes is kept with one sequence number.
"""

from __future__ import annotations

from collections import deque
from enum import StrEnum
from typing import Any, Final

import anyio
import msgspec

__all__ = ("Inbox", "InboxEntry", "InboxStatistics", "LaneStatistics", "OverflowPolicy")

CRITICAL: Final = "critical"


class OverflowPolicy(StrEnum):
    DROP_OLDEST = "drop_oldest"
    DROP_NEWEST = "drop_newest"
    COALESCE = "coalesce"


class InboxEntry:
    """One thing to bring into the graph: a message and where it goes."""

    __slots__ = ("alive", "instrument_id", "lane", "message", "sequence", "target")

    def __init__(
        self, sequence: int, lane: str, message: Any, target: str, instrument_id: str | None
    ) -> None:
        self.sequence = sequence
        self.lane = lane
        self.message = message
        self.target = target  # a topic for market data, an endpoint for critical entries
        self.instrument_id = instrument_id
        self.alive = True


class LaneStatistics(msgspec.Struct, frozen=True, kw_only=True):
    policy: str
    capacity: int
    received: int
    dropped: int
    coalesced: int
    depth: int
    max_depth: int


class InboxStatistics(msgspec.Struct, frozen=True, kw_only=True):
    lanes: dict[str, LaneStatistics]
    delivered: int


class _Lane:
    __slots__ = (
        "capacity", "coalesced", "dropped", "entries", "latest", "live", "max_depth",
        "policy", "received",
    )

    def __init__(self, capacity: int, policy: OverflowPolicy) -> None:
        self.capacity = capacity
        self.policy = policy
        self.entries: deque[InboxEntry] = deque()
        self.latest: dict[str, InboxEntry] = {}
        self.live = 0
        self.received = self.dropped = self.coalesced = self.max_depth = 0

    def head(self) -> InboxEntry | None:
        entries = self.entries
        while entries and not entries[0].alive:
            entries.popleft()
        return entries[0] if entries else None


class Inbox:
    """Lanes of pending entries, taken out in arrival order by one consumer."""

    def __init__(self, *, critical_capacity: int = 100_000) -> None:
        if critical_capacity <= 0:
            raise ValueError(f"critical_capacity {critical_capacity}: must be > 0")
        self._lanes: dict[str, _Lane] = {
            CRITICAL: _Lane(critical_capacity, OverflowPolicy.DROP_NEWEST)
        }
        self._sequence = 0
        self._delivered = 0
        self._ready: anyio.Event | None = None
        self._room: anyio.Event | None = None
        self._empty: anyio.Event | None = None

    def add_lane(
        self, name: str, *, capacity: int, policy: OverflowPolicy = OverflowPolicy.DROP_OLDEST
    ) -> None:
        """Add a market data lane (one per feed)."""
        if name in self._lanes:
            raise ValueError(f"inbox lane {name!r}: already exists")
        if capacity <= 0:
            raise ValueError(f"inbox lane {name!r} capacity {capacity}: must be > 0")
        self._lanes[name] = _Lane(capacity, policy)

    # -- producers ---------------------------------------------------------------------

    def put_data(self, lane_name: str, message: Any, topic: str, instrument_id: str) -> bool:
        """Queue market data without blocking; returns False if the lane's policy dropped it."""
        lane = self._lanes[lane_name]
        lane.received += 1
        if lane.policy is OverflowPolicy.COALESCE:
            previous = lane.latest.get(topic)
            if previous is not None and previous.alive:
                previous.alive = False
                lane.live -= 1
                lane.coalesced += 1
        if lane.live >= lane.capacity:
            if lane.policy is OverflowPolicy.DROP_NEWEST:
                lane.dropped += 1
                return False
            oldest = lane.head()
            if oldest is not None:  # DROP_OLDEST, or COALESCE over distinct topics
                oldest.alive = False
                lane.entries.popleft()
                lane.live -= 1
                lane.dropped += 1
        entry = self._append(lane_name, lane, message, topic, instrument_id)
        if lane.policy is OverflowPolicy.COALESCE:
            lane.latest[topic] = entry
        return True

    async def put_critical(self, message: Any, endpoint: str) -> None:
        """Queue an order event or command; waits for room rather than dropping it."""
        lane = self._lanes[CRITICAL]
        while lane.live >= lane.capacity:
            room = self._room = self._room or anyio.Event()
            await room.wait()
        lane.received += 1
        self._append(CRITICAL, lane, message, endpoint, None)

    def put_critical_nowait(self, message: Any, endpoint: str) -> None:
        """Queue a critical entry from sync code; raises anyio.WouldBlock when full."""
        lane = self._lanes[CRITICAL]
        if lane.live >= lane.capacity:
            raise anyio.WouldBlock
        lane.received += 1
        self._append(CRITICAL, lane, message, endpoint, None)

    def _append(
        self, name: str, lane: _Lane, message: Any, target: str, instrument_id: str | None
    ) -> InboxEntry:
        self._sequence += 1
        entry = InboxEntry(self._sequence, name, message, target, instrument_id)
        lane.entries.append(entry)
        lane.live += 1
        if lane.live > lane.max_depth:
            lane.max_depth = lane.live
        if self._ready is not None:
            self._ready.set()
        return entry

    # -- the consumer ----------------------------------------------------------------------

    def get_nowait(self) -> InboxEntry | None:
        """The oldest pending entry across lanes, or None."""
        best: _Lane | None = None
        best_entry: InboxEntry | None = None
        for lane in self._lanes.values():
            head = lane.head()
            if head is not None and (best_entry is None or head.sequence < best_entry.sequence):
                best, best_entry = lane, head
        if best is None or best_entry is None:
            return None
        best.entries.popleft()
        best.live -= 1
        latest = best.latest
        if latest and latest.get(best_entry.target) is best_entry:
            del latest[best_entry.target]
        if best_entry.lane == CRITICAL and self._room is not None:
            self._room.set()
            self._room = None
        self._delivered += 1
        if self._empty is not None and not len(self):
            self._empty.set()
            self._empty = None
        return best_entry

    async def get(self) -> InboxEntry:
        """Wait for and return the oldest pending entry."""
        while True:
            entry = self.get_nowait()
            if entry is not None:
                return entry
            ready = self._ready = anyio.Event()
            await ready.wait()

    async def wait_empty(self) -> None:
        """Return once every pending entry has been taken (a shutdown waits for this)."""
        while len(self):
            empty = self._empty = self._empty or anyio.Event()
            await empty.wait()

    def __len__(self) -> int:
        return sum(lane.live for lane in self._lanes.values())

    def statistics(self) -> InboxStatistics:
        return InboxStatistics(
            lanes={
                name: LaneStatistics(
                    policy=str(lane.policy),
                    capacity=lane.capacity,
                    received=lane.received,
                    dropped=lane.dropped,
                    coalesced=lane.coalesced,
                    depth=lane.live,
                    max_depth=lane.max_depth,
                )
                for name, lane in sorted(self._lanes.items())
            },
            delivered=self._delivered,
        )
