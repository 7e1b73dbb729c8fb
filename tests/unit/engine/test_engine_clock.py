"""SimClock timers at exact times in (time, creation) order; LiveClock runs its timers."""

from __future__ import annotations

import anyio
import pytest

from engine.clock import LiveClock, SimClock, TimerCallback
from engine.events.system import TimerFired


def record(log: list[tuple[str, int, int]], clock: SimClock) -> TimerCallback:
    """Return a timer callback that logs (name, ts_event, clock time when fired)."""

    def callback(event: TimerFired) -> None:
        log.append((event.name, event.ts_event, clock.timestamp_ns()))

    return callback


def test_sim_clock_timer_fires_at_exact_times_with_clock_at_that_time() -> None:
    clock = SimClock(start_ns=1_000)
    log: list[tuple[str, int, int]] = []
    clock.set_timer("a", "tick", 100, record(log, clock))
    clock.advance_to(1_350)
    assert log == [("tick", 1_100, 1_100), ("tick", 1_200, 1_200), ("tick", 1_300, 1_300)]
    assert clock.timestamp_ns() == 1_350


def test_sim_clock_timers_due_together_fire_in_creation_order() -> None:
    clock = SimClock()
    log: list[tuple[str, int, int]] = []
    callback = record(log, clock)
    clock.set_timer("a", "every10", 10, callback)
    clock.set_timer("a", "every20", 20, callback)
    clock.set_time_alert("b", "alert20", 20, callback)
    clock.advance_to(40)
    assert [(name, at) for name, at, _ in log] == [
        ("every10", 10),
        ("every10", 20),  # created first, so first at 20 even after being rescheduled
        ("every20", 20),
        ("alert20", 20),
        ("every10", 30),
        ("every10", 40),
        ("every20", 40),
    ]


def test_sim_clock_timer_with_start_and_stop_fires_until_stop_inclusive() -> None:
    clock = SimClock()
    log: list[tuple[str, int, int]] = []
    clock.set_timer("a", "t", 10, record(log, clock), start_ns=5, stop_ns=35)
    clock.advance_to(100)
    assert [at for _, at, _ in log] == [15, 25, 35]
    assert clock.timer_names("a") == []


def test_sim_clock_time_alert_fires_once_and_is_forgotten() -> None:
    clock = SimClock()
    log: list[tuple[str, int, int]] = []
    clock.set_time_alert("a", "once", 50, record(log, clock))
    assert clock.timer_names("a") == ["once"]
    clock.advance_to(49)
    assert log == []
    clock.advance_to(50)
    clock.advance_to(200)
    assert log == [("once", 50, 50)]
    assert clock.timer_names("a") == []


def test_sim_clock_time_alert_in_the_past_fires_on_next_advance_at_current_time() -> None:
    clock = SimClock(start_ns=500)
    log: list[tuple[str, int, int]] = []
    clock.set_time_alert("a", "late", 100, record(log, clock))
    assert log == []
    clock.advance_to(500)
    assert log == [("late", 500, 500)]


def test_sim_clock_timer_started_in_the_past_never_moves_time_backwards() -> None:
    clock = SimClock(start_ns=100)
    log: list[tuple[str, int, int]] = []
    clock.set_timer("a", "catch-up", 20, record(log, clock), start_ns=50)
    clock.advance_to(130)
    assert log == [
        ("catch-up", 70, 100),
        ("catch-up", 90, 100),
        ("catch-up", 110, 110),
        ("catch-up", 130, 130),
    ]


def test_sim_clock_cancel_timer_stops_firing() -> None:
    clock = SimClock()
    log: list[tuple[str, int, int]] = []
    clock.set_timer("a", "t", 10, record(log, clock))
    clock.advance_to(25)
    clock.cancel_timer("a", "t")
    clock.advance_to(100)
    assert [at for _, at, _ in log] == [10, 20]
    assert clock.next_deadline() is None


def test_sim_clock_cancel_from_own_callback_stops_repeating_timer() -> None:
    clock = SimClock()
    fired: list[int] = []

    def callback(event: TimerFired) -> None:
        fired.append(event.ts_event)
        if len(fired) == 2:
            clock.cancel_timer("a", "t")

    clock.set_timer("a", "t", 10, callback)
    clock.advance_to(100)
    assert fired == [10, 20]


def test_sim_clock_cancel_unknown_timer_is_a_no_op() -> None:
    clock = SimClock()
    clock.cancel_timer("a", "missing")
    assert clock.timer_names("a") == []


def test_sim_clock_same_name_twice_raises_and_names_are_per_owner() -> None:
    clock = SimClock()
    clock.set_timer("a", "t", 10, lambda event: None)
    clock.set_timer("b", "t", 10, lambda event: None)
    with pytest.raises(ValueError, match="already set"):
        clock.set_time_alert("a", "t", 5, lambda event: None)
    assert clock.timer_names("a") == ["t"]
    assert clock.timer_names("b") == ["t"]


def test_sim_clock_non_positive_interval_raises() -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        SimClock().set_timer("a", "t", 0, lambda event: None)


def test_sim_clock_advance_backwards_raises() -> None:
    clock = SimClock(start_ns=100)
    with pytest.raises(ValueError, match="before the current time"):
        clock.advance_to(99)
    clock.advance_to(100)  # standing still is fine
    assert clock.timestamp_ns() == 100


def test_sim_clock_timers_interleave_with_advance_steps() -> None:
    clock = SimClock()
    events: list[str] = []

    def callback(event: TimerFired) -> None:
        events.append(f"timer@{event.ts_event}")

    clock.set_timer("a", "t", 10, callback)
    for data_ts in (5, 10, 27, 30):
        clock.advance_to(data_ts)
        events.append(f"data@{data_ts}")
    # A timer due at a data timestamp fires before the data.
    assert events == [
        "data@5", "timer@10", "data@10", "timer@20", "data@27", "timer@30", "data@30",
    ]


def test_sim_clock_timer_set_in_callback_counts_from_fire_time() -> None:
    clock = SimClock()
    log: list[tuple[str, int, int]] = []
    callback = record(log, clock)

    def chain(event: TimerFired) -> None:
        log.append((event.name, event.ts_event, clock.timestamp_ns()))
        clock.set_time_alert("a", "follow", clock.timestamp_ns() + 5, callback)

    clock.set_time_alert("a", "first", 10, chain)
    clock.advance_to(100)
    assert log == [("first", 10, 10), ("follow", 15, 15)]


def test_sim_clock_next_deadline_skips_canceled_timers() -> None:
    clock = SimClock()
    clock.set_time_alert("a", "early", 10, lambda event: None)
    clock.set_time_alert("a", "late", 30, lambda event: None)
    assert clock.next_deadline() == 10
    clock.cancel_timer("a", "early")
    assert clock.next_deadline() == 30


def test_live_clock_timestamp_increases() -> None:
    clock = LiveClock()
    first = clock.timestamp_ns()
    second = clock.timestamp_ns()
    assert second >= first > 0


@pytest.mark.anyio
async def test_live_clock_run_fires_short_time_alert() -> None:
    clock = LiveClock()
    fired = anyio.Event()
    events: list[TimerFired] = []

    def callback(event: TimerFired) -> None:
        events.append(event)
        fired.set()

    async with anyio.create_task_group() as group:
        await group.start(clock.run)
        clock.set_time_alert("a", "soon", clock.timestamp_ns() + 1_000_000, callback)
        with anyio.fail_after(5):
            await fired.wait()
        group.cancel_scope.cancel()
    assert [(e.name, e.owner) for e in events] == [("soon", "a")]
    assert events[0].ts_init >= events[0].ts_event
    assert clock.timer_names("a") == []


@pytest.mark.anyio
async def test_live_clock_run_fires_repeating_timer_until_canceled() -> None:
    clock = LiveClock()
    enough = anyio.Event()
    fired: list[int] = []

    def callback(event: TimerFired) -> None:
        fired.append(event.ts_event)
        if len(fired) == 3:
            clock.cancel_timer("a", "tick")
            enough.set()

    async with anyio.create_task_group() as group:
        await group.start(clock.run)
        clock.set_timer("a", "tick", 1_000_000, callback)
        with anyio.fail_after(5):
            await enough.wait()
        group.cancel_scope.cancel()
    assert len(fired) == 3
    assert fired[1] - fired[0] == 1_000_000 and fired[2] - fired[1] == 1_000_000
