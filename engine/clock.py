"""Time for the event graph: a simulated clock for replay, a live clock for real time.

Actors read time only from a `Clock`. The simulated clock is moved by the replay driver;
due timers fire at their exact timestamps, in (time, creation order), before data that
carries the same timestamp. The live clock reads real time and runs its timers in an
anyio task; it is the only place in the engine that reads the wall clock.
"""

from __future__ import annotations

import heapq
import sys
import time
from collections.abc import Callable
from typing import Final, Protocol

import anyio
from anyio.abc import TaskStatus

from engine.events.system import TimerFired

__all__ = ("Clock", "LiveClock", "SimClock", "TimerCallback")

TimerCallback = Callable[[TimerFired], None]


class Clock(Protocol):
    """What actors may ask of time."""

    def timestamp_ns(self) -> int: ...

    def set_timer(
        self,
        owner: str,
        name: str,
        interval_ns: int,
        callback: TimerCallback,
        *,
        start_ns: int | None = None,
        stop_ns: int | None = None,
    ) -> None: ...

    def set_time_alert(
        self, owner: str, name: str, at_ns: int, callback: TimerCallback
    ) -> None: ...

    def cancel_timer(self, owner: str, name: str) -> None: ...

    def timer_names(self, owner: str) -> list[str]: ...


class _Timer:
    __slots__ = (
        "callback", "canceled", "interval_ns", "name", "next_ns", "owner", "sequence", "stop_ns"
    )

    def __init__(
        self,
        owner: str,
        name: str,
        next_ns: int,
        interval_ns: int,
        stop_ns: int | None,
        callback: TimerCallback,
    ) -> None:
        self.owner = owner
        self.name = name
        self.next_ns = next_ns
        self.interval_ns = interval_ns
        self.stop_ns = stop_ns
        self.callback = callback
        self.canceled = False
        self.sequence = 0  # creation order, set by the heap: breaks ties between due times


class _TimerHeap:
    """Timers ordered by (due time, creation sequence); cancellation is lazy."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, _Timer]] = []
        self._by_key: dict[tuple[str, str], _Timer] = {}
        self._sequence = 0

    def add(self, timer: _Timer) -> None:
        key = (timer.owner, timer.name)
        if key in self._by_key:
            raise ValueError(f"timer {timer.name!r} of {timer.owner!r}: already set")
        self._by_key[key] = timer
        self._sequence += 1
        timer.sequence = self._sequence
        self._push(timer)

    def _push(self, timer: _Timer) -> None:
        # Keyed by creation, not by this push: a repeating timer keeps its place in ties.
        heapq.heappush(self._heap, (timer.next_ns, timer.sequence, timer))

    def cancel(self, owner: str, name: str) -> None:
        timer = self._by_key.pop((owner, name), None)
        if timer is not None:
            timer.canceled = True

    def next_deadline(self) -> int | None:
        heap = self._heap
        while heap and heap[0][2].canceled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, now_ns: int) -> _Timer | None:
        """Remove and return the earliest live timer due at or before `now_ns`, rescheduled."""
        deadline = self.next_deadline()
        if deadline is None or deadline > now_ns:
            return None
        _, _, timer = heapq.heappop(self._heap)
        return timer

    def reschedule(self, timer: _Timer) -> int:
        """Queue `timer`'s next firing, or retire it; return the time it fired at."""
        fired_at = timer.next_ns
        if timer.interval_ns > 0 and not timer.canceled:
            timer.next_ns = fired_at + timer.interval_ns
            if timer.stop_ns is None or timer.next_ns <= timer.stop_ns:
                self._push(timer)
                return fired_at
        self._by_key.pop((timer.owner, timer.name), None)
        return fired_at

    def names(self, owner: str) -> list[str]:
        return sorted(name for who, name in self._by_key if who == owner)


def _fired(timer: _Timer, at_ns: int, now_ns: int) -> TimerFired:
    return TimerFired(name=timer.name, owner=timer.owner, ts_event=at_ns, ts_init=now_ns)


NO_DEADLINE: Final = sys.maxsize


class SimClock:
    """A clock the replay driver moves; time never goes backwards.

    `deadline` is the earliest time a timer may be due (`NO_DEADLINE` when none is set),
    kept current on every change, so the replay driver can move time with one comparison
    on the items no timer is due before, the vast majority.
    """

    __slots__ = ("_now", "_timers", "deadline")

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns
        self._timers = _TimerHeap()
        self.deadline = NO_DEADLINE

    def _refresh_deadline(self) -> None:
        deadline = self._timers.next_deadline()
        self.deadline = NO_DEADLINE if deadline is None else deadline

    def move_to(self, ts_ns: int) -> None:
        """Set the time when the caller has checked `timestamp_ns() <= ts_ns < deadline`."""
        self._now = ts_ns

    def timestamp_ns(self) -> int:
        return self._now

    def set_timer(
        self,
        owner: str,
        name: str,
        interval_ns: int,
        callback: TimerCallback,
        *,
        start_ns: int | None = None,
        stop_ns: int | None = None,
    ) -> None:
        """Fire `callback` every `interval_ns`, first at `start_ns + interval_ns`."""
        if interval_ns <= 0:
            raise ValueError(f"timer interval_ns {interval_ns}: must be > 0")
        start = self._now if start_ns is None else start_ns
        timer = _Timer(owner, name, start + interval_ns, interval_ns, stop_ns, callback)
        self._timers.add(timer)
        self._refresh_deadline()

    def set_time_alert(self, owner: str, name: str, at_ns: int, callback: TimerCallback) -> None:
        """Fire `callback` once at `at_ns` (at once on the next advance if already past)."""
        self._timers.add(_Timer(owner, name, max(at_ns, self._now), 0, None, callback))
        self._refresh_deadline()

    def cancel_timer(self, owner: str, name: str) -> None:
        self._timers.cancel(owner, name)
        self._refresh_deadline()

    def timer_names(self, owner: str) -> list[str]:
        return self._timers.names(owner)

    def next_deadline(self) -> int | None:
        return self._timers.next_deadline()

    def advance_to(self, ts_ns: int) -> None:
        """Move time to `ts_ns`, firing every timer due on the way at its own time."""
        if ts_ns < self._now:
            raise ValueError(f"clock time {ts_ns}: before the current time {self._now}")
        timers = self._timers
        while (timer := timers.pop_due(ts_ns)) is not None:
            # A timer started in the past catches up at the current time: never go back.
            self._now = max(self._now, timer.next_ns)
            fired_at = timers.reschedule(timer)
            timer.callback(_fired(timer, fired_at, self._now))
        self._now = ts_ns
        self._refresh_deadline()


class LiveClock:
    """Real time; timers run in `run()`, an anyio task the graph starts in its task group."""

    def __init__(self) -> None:
        self._timers = _TimerHeap()
        self._changed: anyio.Event | None = None  # made in run(): an Event needs a loop

    def timestamp_ns(self) -> int:
        return time.time_ns()

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()

    def set_timer(
        self,
        owner: str,
        name: str,
        interval_ns: int,
        callback: TimerCallback,
        *,
        start_ns: int | None = None,
        stop_ns: int | None = None,
    ) -> None:
        if interval_ns <= 0:
            raise ValueError(f"timer interval_ns {interval_ns}: must be > 0")
        start = self.timestamp_ns() if start_ns is None else start_ns
        self._timers.add(_Timer(owner, name, start + interval_ns, interval_ns, stop_ns, callback))
        self._wake()

    def set_time_alert(self, owner: str, name: str, at_ns: int, callback: TimerCallback) -> None:
        self._timers.add(_Timer(owner, name, at_ns, 0, None, callback))
        self._wake()

    def cancel_timer(self, owner: str, name: str) -> None:
        self._timers.cancel(owner, name)
        self._wake()

    def timer_names(self, owner: str) -> list[str]:
        return self._timers.names(owner)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Fire timers as real time reaches them, until cancelled."""
        task_status.started()
        while True:
            now = self.timestamp_ns()
            while (timer := self._timers.pop_due(now)) is not None:
                fired_at = self._timers.reschedule(timer)
                timer.callback(_fired(timer, fired_at, now))
            deadline = self._timers.next_deadline()
            changed = self._changed = anyio.Event()
            wait = None if deadline is None else max(deadline - self.timestamp_ns(), 0) / 1e9
            with anyio.move_on_after(wait):
                await changed.wait()
