"""Taps: bounded, read-only windows on the bus for observers that run as tasks.

The API's WebSocket streams and the metrics collector must see events without slowing
or changing the graph. A tap gets what is *published* on topics matching its pattern
(endpoint sends and direct deliveries are point-to-point and stay private), with the
topic, in publish order, each message once. The bus hands it over while publishing, so
a tap never delays a handler and never takes part in delivery: the graph computes the
same thing with or without taps.

The buffer is bounded and never blocks the bus. When it is full the policy decides:
`DROP_OLDEST` (the default: a live view wants the freshest events) or `DROP_NEWEST`
(keep the start of a burst). Every drop is counted, so a slow consumer shows up in
`statistics()` instead of in the graph's latency.

Consumers are anyio tasks on the graph's event loop (taps are not thread-safe). They
take items with `get_nowait`/`drain` or wait with `receive`/`receive_batch` (or
`async for topic, message in tap`). The wake-up event is made only when a consumer
waits, so publishing to a tap nobody awaits costs an append and a counter test.

Closing (`tap.close()`, `bus.remove_tap(tap)` or leaving `with tap:`) detaches the tap
at once; items already buffered can still be taken, then `receive` and
`receive_batch` raise `anyio.EndOfStream` (and `async for` ends).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from enum import StrEnum
from types import TracebackType
from typing import Any, Self, TypeAlias

import anyio
import anyio.lowlevel
import msgspec

__all__ = ("Tap", "TapItem", "TapPolicy", "TapStatistics")

TapItem: TypeAlias = tuple[str, Any]
"""What a tap hands out: the topic a message was published on, and the message."""


class TapPolicy(StrEnum):
    """What a full tap does with one more message (values match the inbox's policies)."""

    DROP_OLDEST = "drop_oldest"
    DROP_NEWEST = "drop_newest"


class TapStatistics(msgspec.Struct, frozen=True, kw_only=True):
    """Counters since the tap was made; `received == delivered + buffered + dropped`."""

    name: str
    pattern: str
    policy: str
    capacity: int
    received: int
    delivered: int
    """Items handed to consumers."""
    buffered: int
    dropped: int
    closed: bool


class Tap:
    """A bounded buffer of (topic, message) the bus fills as matching topics are published.

    Made by `MessageBus.add_tap`, which validates the pattern and wires `offer`; a tap
    built by hand receives nothing until a bus offers it messages.
    """

    __slots__ = (
        "_buffer", "_capacity", "_closed", "_delivered", "_detach", "_dropped",
        "_drop_newest", "_name", "_pattern", "_policy", "_waiter",
    )

    def __init__(
        self,
        pattern: str,
        *,
        capacity: int = 1024,
        policy: TapPolicy = TapPolicy.DROP_OLDEST,
        name: str | None = None,
        detach: Callable[[Tap], None] | None = None,
    ) -> None:
        if capacity <= 0:
            raise ValueError(f"tap capacity {capacity}: must be > 0")
        self._pattern = pattern
        self._name = name if name is not None else pattern
        self._policy = TapPolicy(policy)
        self._capacity = capacity
        self._drop_newest = self._policy is TapPolicy.DROP_NEWEST
        # maxlen makes DROP_OLDEST the deque's own behaviour on append.
        self._buffer: deque[TapItem] = deque(maxlen=capacity)
        self._delivered = 0
        self._dropped = 0
        self._closed = False
        self._waiter: anyio.Event | None = None
        self._detach = detach

    # Read-only: the bus resolved the pattern into its routes when the tap was added.
    @property
    def pattern(self) -> str:
        return self._pattern

    @property
    def name(self) -> str:
        return self._name

    @property
    def policy(self) -> TapPolicy:
        return self._policy

    # -- the producer (the bus) ------------------------------------------------------------

    def offer(self, topic: str, message: Any) -> None:
        """Buffer one published message; never blocks. Called by the bus, not by consumers."""
        buffer = self._buffer
        if len(buffer) == self._capacity:
            self._dropped += 1
            if self._drop_newest:
                return
        buffer.append((topic, message))
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()

    # -- consumers -------------------------------------------------------------------------

    def get_nowait(self) -> TapItem:
        """Take the oldest buffered item.

        Raises:
            anyio.WouldBlock: nothing is buffered and the tap is open.
            anyio.EndOfStream: nothing is buffered and the tap is closed.
        """
        if self._buffer:
            self._delivered += 1
            return self._buffer.popleft()
        if self._closed:
            raise anyio.EndOfStream
        raise anyio.WouldBlock

    def drain(self, max_items: int | None = None) -> list[TapItem]:
        """Take up to `max_items` buffered items (all by default), oldest first; never raises.

        An empty list means nothing is buffered now, whether the tap is open or closed.
        """
        if max_items is not None and max_items < 0:
            raise ValueError(f"max_items {max_items}: must be >= 0")
        buffer = self._buffer
        count = len(buffer) if max_items is None else min(max_items, len(buffer))
        if count == len(buffer):
            items = list(buffer)
            buffer.clear()
        else:
            items = [buffer.popleft() for _ in range(count)]
        self._delivered += count
        return items

    async def receive(self) -> TapItem:
        """Wait for and take the oldest item. Always a checkpoint, as anyio's streams are.

        Raises:
            anyio.EndOfStream: the tap is closed and everything buffered was taken.
        """
        await anyio.lowlevel.checkpoint()
        await self._wait_for_items()
        self._delivered += 1
        return self._buffer.popleft()

    async def receive_batch(self, max_items: int = 1024) -> list[TapItem]:
        """Wait until something is buffered, then take up to `max_items` of it (never empty).

        Raises:
            anyio.EndOfStream: the tap is closed and everything buffered was taken.
        """
        if max_items <= 0:
            raise ValueError(f"max_items {max_items}: must be > 0")
        await anyio.lowlevel.checkpoint()
        await self._wait_for_items()
        return self.drain(max_items)

    async def _wait_for_items(self) -> None:
        while not self._buffer:
            if self._closed:
                raise anyio.EndOfStream
            # Shared by every waiting consumer; made here so an unawaited tap never pays.
            waiter = self._waiter
            if waiter is None:
                waiter = self._waiter = anyio.Event()
            await waiter.wait()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> TapItem:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    # -- lifetime --------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Detach from the bus now (safe mid-delivery) and wake waiting consumers.

        Idempotent. Items already buffered stay available to `get_nowait`/`drain`/`receive`.
        """
        if self._closed:
            return
        self._closed = True
        detach, self._detach = self._detach, None
        if detach is not None:
            detach(self)
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.set()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def statistics(self) -> TapStatistics:
        buffered = len(self._buffer)
        return TapStatistics(
            name=self._name,
            pattern=self._pattern,
            policy=str(self._policy),
            capacity=self._capacity,
            received=self._delivered + buffered + self._dropped,
            delivered=self._delivered,
            buffered=buffered,
            dropped=self._dropped,
            closed=self._closed,
        )

    def __repr__(self) -> str:
        return (f"Tap(name={self._name!r}, pattern={self._pattern!r}, "
                f"buffered={len(self._buffer)}, closed={self._closed})")
