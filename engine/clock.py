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


TimerState = tuple[str, str, int, int, int | None, int]
"""A timer as plain values: owner, name, next firing, interval (0: once), stop, creation."""


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

    def __lt__(self, other: _Timer) -> bool:
        # Reached only when two heap entries share (due time, sequence): a timer and the
        # stale entry `take` left behind (LiveClock.replay_fired). The live one goes first.
        return other.canceled and not self.canceled


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

    def take(self, owner: str, name: str) -> _Timer | None:
        """Return a live copy of a timer, out of the heap, to fire it by hand (recovery)."""
        timer = self._by_key.get((owner, name))
        if timer is None:
            return None
        timer.canceled = True  # its heap entry is now stale and skipped
        copy = _Timer(owner, name, timer.next_ns, timer.interval_ns, timer.stop_ns, timer.callback)
        copy.sequence = timer.sequence
        self._by_key[(owner, name)] = copy
        return copy

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

    __slots__ = ("_timers", "deadline", "now_ns")

    def __init__(self, start_ns: int = 0) -> None:
        self.now_ns = start_ns
        self._timers = _TimerHeap()
        self.deadline = NO_DEADLINE

    def _refresh_deadline(self) -> None:
        deadline = self._timers.next_deadline()
        self.deadline = NO_DEADLINE if deadline is None else deadline

    def move_to(self, ts_ns: int) -> None:
        """Set the time when the caller has checked `timestamp_ns() <= ts_ns < deadline`.

        (The replay driver's hot loop assigns `now_ns` itself under the same check.)
        """
        self.now_ns = ts_ns

    def timestamp_ns(self) -> int:
        return self.now_ns

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
        start = self.now_ns if start_ns is None else start_ns
        timer = _Timer(owner, name, start + interval_ns, interval_ns, stop_ns, callback)
        self._timers.add(timer)
        self._refresh_deadline()

    def set_time_alert(self, owner: str, name: str, at_ns: int, callback: TimerCallback) -> None:
        """Fire `callback` once at `at_ns` (at once on the next advance if already past)."""
        self._timers.add(_Timer(owner, name, max(at_ns, self.now_ns), 0, None, callback))
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
        if ts_ns < self.now_ns:
            raise ValueError(f"clock time {ts_ns}: before the current time {self.now_ns}")
        timers = self._timers
        while (timer := timers.pop_due(ts_ns)) is not None:
            # A timer started in the past catches up at the current time: never go back.
            self.now_ns = max(self.now_ns, timer.next_ns)
            fired_at = timers.reschedule(timer)
            timer.callback(_fired(timer, fired_at, self.now_ns))
        self.now_ns = ts_ns
        self._refresh_deadline()


class LiveClock:
    """Engine time that flows with real time, optionally scaled; timers fire in `run()`.

    Engine time is `origin_ns + elapsed monotonic time × speed`. With the defaults it is
    real time (the origin is read from the wall clock once, then only the monotonic clock
    is used, so engine time never jumps back when the system clock is adjusted). A paper
    session replaying recorded data sets the origin to the data's start and a speed
    factor, so recorded bars arrive when engine time reaches them.

    During crash recovery the clock is *held*: time is whatever the journal replay sets
    (`hold`), timers do not fire by themselves, and the journaled firings are applied
    with `replay_fired`. `release` then lets time flow again.

    Engine time is an input: while the runner handles an input, the clock is *pinned* at
    that input's time (`pin`/`unpin`, two attribute writes, time keeps flowing beneath),
    so a handler reads the same time live, in recovery and in a backtest, whatever the
    handling lag. A pin never goes back: it is at least the last pinned (or held) time.
    Timers fire through `fire_due`, each pinned at its due time: the runner fires those
    due at or before an input's time first (as `SimClock.advance_to` does), and `run()`
    fires them when engine time reaches them while no input waits (`defer_timers`).
    """

    def __init__(self, *, origin_ns: int | None = None, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ValueError(f"clock speed {speed}: must be > 0")
        self._speed = speed
        self._origin = time.time_ns() if origin_ns is None else origin_ns
        self._monotonic_start = time.monotonic_ns()
        self._held: int | None = None
        self._pinned: int | None = None
        self._floor = 0  # the last pinned or held time: a pin never goes below it
        self._timers = _TimerHeap()
        self._changed: anyio.Event | None = None  # made in run(): an Event needs a loop
        self.deadline = NO_DEADLINE
        """The earliest time a timer may be due (`NO_DEADLINE`: none), kept current, so the
        runner checks an input against it with one comparison."""
        self.defer_timers: Callable[[], bool] | None = None
        """While this says True (inputs wait in the runner's inbox), `run()` leaves due
        timers to the runner, which fires them in time order with those inputs."""

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def is_held(self) -> bool:
        return self._held is not None

    @property
    def pinned_floor(self) -> int:
        """The last pinned (or held) time: the earliest time the next pin can give."""
        return self._floor

    def timestamp_ns(self) -> int:
        if self._pinned is not None:
            return self._pinned
        if self._held is not None:
            return self._held
        elapsed = time.monotonic_ns() - self._monotonic_start
        if self._speed == 1.0:
            return self._origin + elapsed
        return self._origin + int(elapsed * self._speed)

    def hold(self, ts_ns: int) -> None:
        """Stop time at `ts_ns` (recovery replay): timers wait for `release`."""
        if self._held is not None and ts_ns < self._held:
            raise ValueError(f"clock time {ts_ns}: before the held time {self._held}")
        self._held = ts_ns
        if ts_ns > self._floor:
            self._floor = ts_ns

    def pin(self, ts_ns: int) -> int:
        """Read `ts_ns` (or the last pinned time, if later) until `unpin`; return it.

        Unlike `hold`, time keeps flowing underneath: `unpin` gives the flowing time
        again, and timers still wait for it (or for the runner's `fire_due`).
        """
        if ts_ns < self._floor:
            ts_ns = self._floor
        self._pinned = self._floor = ts_ns
        return ts_ns

    def unpin(self) -> None:
        """End the pin: the clock reads the flowing (or held) time again."""
        self._pinned = None

    def fire_due(self, until_ns: int) -> int:
        """Fire every timer due at or before `until_ns`, in (due time, creation) order,
        each with the clock pinned at its due time (never before the last pin), as one
        input; return how many fired. A callback's `TimerFired` has `ts_init` = that pin.
        """
        timers = self._timers
        fired = 0
        while (timer := timers.pop_due(until_ns)) is not None:
            fired_at = timers.reschedule(timer)
            self._refresh_deadline()
            now = self.pin(fired_at)
            try:
                timer.callback(_fired(timer, fired_at, now))
            finally:
                self._pinned = None
            fired += 1
        self._refresh_deadline()
        if fired:
            self._wake()
        return fired

    def _refresh_deadline(self) -> None:
        deadline = self._timers.next_deadline()
        self.deadline = NO_DEADLINE if deadline is None else deadline

    def release(self, origin_ns: int | None = None) -> None:
        """Let time flow again from `origin_ns` (default: where it was held)."""
        start = origin_ns if origin_ns is not None else self._held
        self._origin = start if start is not None else self.timestamp_ns()
        if self._origin > self._floor:
            self._floor = self._origin
        self._monotonic_start = time.monotonic_ns()
        self._held = None
        self._wake()

    def replay_fired(self, event: TimerFired) -> bool:
        """Apply a journaled timer firing: deliver it and reschedule the timer as it was.

        Returns False when no such timer is set (the journal and the code disagree).
        """
        timer = self._timers.take(event.owner, event.name)
        if timer is None:
            return False
        timer.next_ns = event.ts_event
        self._timers.reschedule(timer)
        self._refresh_deadline()
        timer.callback(event)
        return True

    async def sleep_until(self, ts_ns: int) -> None:
        """Sleep until engine time reaches `ts_ns` (scaled by the speed; waits while held)."""
        while self._held is not None or self.timestamp_ns() < ts_ns:
            if self._held is not None:
                await anyio.sleep(0.01)
                continue
            await anyio.sleep(max(ts_ns - self.timestamp_ns(), 0) / 1e9 / self._speed)

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
        self._refresh_deadline()
        self._wake()

    def set_time_alert(self, owner: str, name: str, at_ns: int, callback: TimerCallback) -> None:
        self._timers.add(_Timer(owner, name, at_ns, 0, None, callback))
        self._refresh_deadline()
        self._wake()

    def cancel_timer(self, owner: str, name: str) -> None:
        self._timers.cancel(owner, name)
        self._refresh_deadline()
        self._wake()

    def timer_names(self, owner: str) -> list[str]:
        return self._timers.names(owner)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Fire timers as engine time reaches them while no input waits, until cancelled.

        While inputs wait (`defer_timers`), the runner fires due timers before the first
        input whose time is at or past theirs; this task looks again a millisecond later.
        Any input delivered after it fires carries a time at or past the timer's, so the
        order is the time order either way.
        """
        task_status.started()
        while True:
            changed = self._changed = anyio.Event()
            wait: float | None = None
            if self._held is None:
                now = self.timestamp_ns()
                if self.deadline <= now:
                    defer = self.defer_timers
                    if defer is not None and defer():
                        wait = 0.001
                    else:
                        self.fire_due(now)
                if wait is None and self.deadline != NO_DEADLINE:
                    wait = max(self.deadline - self.timestamp_ns(), 0) / 1e9 / self._speed
            with anyio.move_on_after(wait):
                await changed.wait()

    # -- snapshots (engine.snapshot; added for issue 7's snapshots) --------------------------

    def timer_states(self) -> tuple[list[TimerState], int]:
        """The timers set, in creation order, and the heap's creation counter."""
        heap = self._timers
        live = sorted(heap._by_key.values(), key=lambda timer: timer.sequence)
        return ([(t.owner, t.name, t.next_ns, t.interval_ns, t.stop_ns, t.sequence)
                 for t in live], heap._sequence)

    def restore_timers(
        self, states: list[TimerState], sequence: int, callback_of: Callable[[str], TimerCallback]
    ) -> None:
        """Replace every timer with those `timer_states` returned, delivered by `callback_of`
        their owner (the ones start-up set are dropped: the snapshot's are later)."""
        heap = self._timers = _TimerHeap()
        for owner, name, next_ns, interval_ns, stop_ns, created in states:
            timer = _Timer(owner, name, next_ns, interval_ns, stop_ns, callback_of(owner))
            timer.sequence = created
            heap._by_key[(owner, name)] = timer
            heap._push(timer)
        heap._sequence = sequence
        self._refresh_deadline()  # the runner compares each input with it: it must be theirs
        self._wake()
