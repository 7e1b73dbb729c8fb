"""Latency in the simulated venue: messages held in simulated time on their way.

A real venue is a network away: an order reaches it some time after the strategy sent
it, and its acknowledgement and fills reach the engine some time after the venue made
them. `SimVenueConfig.command_latency_ns` and `event_latency_ns` model both legs with
fixed delays in simulated time, so a backtest sees what live trading sees: the order
acknowledged later, a fill decided on market data the strategy has already moved past,
a cancel that arrives after the order filled.

A `DelayLine` is one leg: messages in the order they were sent, each with the time it
arrives. The delay is fixed, so arrival times never decrease and the line is a FIFO:
the venue arms one engine timer for the head (timers are in the graph's snapshot) and,
when it fires, takes every message due by then. The line's contents are plain values
(`DelayLineState`) in the venue's snapshot, so a restart restores what was in flight.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

import msgspec

__all__ = ("DelayLine", "DelayLineState")

M = TypeVar("M")


class DelayLineState(msgspec.Struct, Generic[M], frozen=True, kw_only=True):
    """What is in flight on one leg: (arrival time, message), in the order sent."""

    in_flight: list[tuple[int, M]] = []


class DelayLine(Generic[M]):
    """Messages on their way, each arriving `delay_ns` after it was sent."""

    __slots__ = ("_in_flight", "delay_ns")

    def __init__(self, delay_ns: int) -> None:
        if delay_ns < 0:
            raise ValueError(f"latency {delay_ns} ns: must be >= 0")
        self.delay_ns = delay_ns
        self._in_flight: deque[tuple[int, M]] = deque()

    def __len__(self) -> int:
        return len(self._in_flight)

    def send(self, message: M, now_ns: int) -> int | None:
        """Put `message` on the line; return its arrival time when it is now the head
        (the caller arms its timer for it), None when an earlier message is ahead."""
        arrives = now_ns + self.delay_ns
        self._in_flight.append((arrives, message))
        return arrives if len(self._in_flight) == 1 else None

    def arrived(self, now_ns: int) -> list[M]:
        """Take every message due by `now_ns`, in the order sent."""
        line = self._in_flight
        due: list[M] = []
        while line and line[0][0] <= now_ns:
            due.append(line.popleft()[1])
        return due

    def next_arrival(self) -> int | None:
        """When the head arrives (None: nothing in flight): the timer to arm next."""
        return self._in_flight[0][0] if self._in_flight else None

    def state(self) -> DelayLineState[M]:
        return DelayLineState(in_flight=list(self._in_flight))

    def restore(self, state: DelayLineState[M]) -> None:
        self._in_flight = deque(state.in_flight)
