"""The durable outbox: an order command leaves the process only once it is journaled.

A live venue adapter receives commands in a synchronous handler (the bus delivers them)
and sends them from an anyio task. Between the two sits this outbox: `put` notes the
journal's highest appended seq at that moment (the bus observer journaled the command
when it was sent, before delivering it, so the command is at or below that seq), and
`get` returns the command only after the journal has committed that seq. A crash after
the send therefore always finds the command in the journal, and recovery knows it left.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol

import anyio
import msgspec

__all__ = ("DurableOutbox", "JournalBarrier", "OutboxStatistics")


class JournalBarrier(Protocol):
    """What the outbox needs of the journal writer."""

    @property
    def last_appended_seq(self) -> int: ...

    async def wait_committed(self, seq: int) -> None: ...


class OutboxStatistics(msgspec.Struct, frozen=True, kw_only=True):
    queued: int
    released: int
    pending: int


class DurableOutbox:
    """Commands in order, each released once the journal holds it."""

    def __init__(self, journal: JournalBarrier) -> None:
        self._journal = journal
        self._pending: deque[tuple[int, Any]] = deque()
        self._ready: anyio.Event | None = None
        self._queued = 0
        self._released = 0

    def put(self, command: Any) -> None:
        """Queue a command from a bus handler (sync, never blocks)."""
        self._pending.append((self._journal.last_appended_seq, command))
        self._queued += 1
        if self._ready is not None:
            self._ready.set()

    async def get(self) -> Any:
        """The next command, once it is durable in the journal."""
        while not self._pending:
            ready = self._ready = anyio.Event()
            await ready.wait()
        barrier, command = self._pending[0]
        await self._journal.wait_committed(barrier)
        self._pending.popleft()
        self._released += 1
        return command

    def statistics(self) -> OutboxStatistics:
        return OutboxStatistics(
            queued=self._queued, released=self._released, pending=len(self._pending)
        )
