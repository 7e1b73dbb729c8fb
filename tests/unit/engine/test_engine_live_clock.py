"""LiveClock: scaled engine time, hold/release for recovery, journaled firings, pacing sleeps.

Durations are never asserted against the wall clock: engine time is checked against the
monotonic readings taken around it (`speed` x elapsed lies between the inner and the
outer pair), and waits are checked by what happened, not by how long they took.
"""

from __future__ import annotations

import time

import anyio
import anyio.lowlevel
import pytest

from engine.clock import LiveClock
from engine.events.system import TimerFired

pytestmark = pytest.mark.anyio

SECOND = 1_000_000_000


def fired(name: str, owner: str, at: int) -> TimerFired:
    return TimerFired(name=name, owner=owner, ts_event=at, ts_init=at)


# -- time --------------------------------------------------------------------------------


def test_live_clock_speed_not_positive_raises() -> None:
    with pytest.raises(ValueError, match="speed"):
        LiveClock(speed=0)


async def test_live_clock_speed_scales_elapsed_monotonic_time() -> None:
    speed = 1_000.0
    clock = LiveClock(origin_ns=0, speed=speed)
    outer_start = time.monotonic_ns()
    first = clock.timestamp_ns()
    inner_start = time.monotonic_ns()
    await anyio.sleep(0.01)
    inner_end = time.monotonic_ns()
    second = clock.timestamp_ns()
    outer_end = time.monotonic_ns()
    engine_elapsed = second - first
    assert speed * (inner_end - inner_start) - 2 <= engine_elapsed
    assert engine_elapsed <= speed * (outer_end - outer_start) + 2


def test_live_clock_origin_starts_engine_time_there() -> None:
    origin = 1_672_531_200 * SECOND
    before = time.monotonic_ns()
    clock = LiveClock(origin_ns=origin, speed=60.0)
    now = clock.timestamp_ns()
    elapsed = time.monotonic_ns() - before
    assert origin <= now <= origin + 60 * elapsed + 1


async def test_live_clock_faster_clock_runs_further_in_the_same_time() -> None:
    slow = LiveClock(origin_ns=0, speed=1.0)
    fast = LiveClock(origin_ns=0, speed=100.0)
    await anyio.sleep(0.01)
    slow_elapsed, fast_elapsed = slow.timestamp_ns(), fast.timestamp_ns()
    assert fast_elapsed > 10 * slow_elapsed > 0


# -- hold and release --------------------------------------------------------------------


async def test_live_clock_hold_stops_time_until_release() -> None:
    clock = LiveClock(origin_ns=0, speed=1_000.0)
    clock.hold(5 * SECOND)
    assert clock.is_held
    await anyio.sleep(0.005)
    assert clock.timestamp_ns() == 5 * SECOND
    clock.hold(7 * SECOND)  # recovery moves the held time forward, input by input
    assert clock.timestamp_ns() == 7 * SECOND
    clock.release()
    assert not clock.is_held
    await anyio.sleep(0.005)
    assert clock.timestamp_ns() > 7 * SECOND


def test_live_clock_hold_before_held_time_raises() -> None:
    clock = LiveClock(origin_ns=0)
    clock.hold(10)
    with pytest.raises(ValueError, match="before the held time"):
        clock.hold(9)


def test_live_clock_release_with_origin_resumes_from_it() -> None:
    clock = LiveClock(origin_ns=0, speed=1.0)
    clock.hold(10)
    clock.release(100 * SECOND)
    assert 100 * SECOND <= clock.timestamp_ns() < 101 * SECOND


async def test_live_clock_held_timer_waits_for_release() -> None:
    clock = LiveClock(origin_ns=0, speed=1.0)
    clock.hold(SECOND)
    events: list[TimerFired] = []
    done = anyio.Event()

    def callback(event: TimerFired) -> None:
        events.append(event)
        done.set()

    async with anyio.create_task_group() as group:
        await group.start(clock.run)
        clock.set_time_alert("actor", "due", SECOND // 2, callback)  # already in the past
        await anyio.sleep(0.02)
        await anyio.wait_all_tasks_blocked()
        assert events == []  # held: timers do not fire by themselves
        clock.release()
        with anyio.fail_after(5):
            await done.wait()
        group.cancel_scope.cancel()
    assert [(event.name, event.ts_event) for event in events] == [("due", SECOND // 2)]
    assert events[0].ts_init >= SECOND


# -- journaled firings -------------------------------------------------------------------


def test_live_clock_replay_fired_delivers_the_journaled_event() -> None:
    clock = LiveClock(origin_ns=0)
    clock.hold(1_000)
    received: list[TimerFired] = []
    clock.set_timer("portfolio", "equity", 100, received.append)
    event = fired("equity", "portfolio", 1_100)
    clock.hold(1_100)
    assert clock.replay_fired(event) is True
    assert received == [event] and received[0] is event
    assert clock.timer_names("portfolio") == ["equity"]


async def test_live_clock_replay_fired_reschedules_after_the_journaled_time() -> None:
    clock = LiveClock(origin_ns=0, speed=1.0)
    clock.hold(1_000)
    received: list[TimerFired] = []
    next_one = anyio.Event()

    def callback(event: TimerFired) -> None:
        received.append(event)
        if len(received) == 3:
            clock.cancel_timer("portfolio", "equity")
            next_one.set()

    clock.set_timer("portfolio", "equity", 1_000_000, callback)  # 1 ms
    clock.hold(1_001_000)
    assert clock.replay_fired(fired("equity", "portfolio", 1_001_000))
    async with anyio.create_task_group() as group:
        await group.start(clock.run)
        clock.release()
        with anyio.fail_after(5):
            await next_one.wait()
        group.cancel_scope.cancel()
    # The replayed firing counts: the live ones continue one interval after it, once each.
    assert [event.ts_event for event in received] == [1_001_000, 2_001_000, 3_001_000]


def test_live_clock_replay_fired_time_alert_is_retired() -> None:
    clock = LiveClock(origin_ns=0)
    clock.hold(0)
    received: list[TimerFired] = []
    clock.set_time_alert("strategy", "once", 500, received.append)
    clock.hold(500)
    assert clock.replay_fired(fired("once", "strategy", 500))
    assert len(received) == 1
    assert clock.timer_names("strategy") == []


def test_live_clock_replay_fired_unknown_timer_returns_false() -> None:
    clock = LiveClock(origin_ns=0)
    clock.hold(0)
    assert clock.replay_fired(fired("missing", "nobody", 10)) is False


# -- sleep_until ---------------------------------------------------------------------------


async def test_live_clock_sleep_until_returns_once_time_is_reached() -> None:
    clock = LiveClock(origin_ns=0, speed=1_000.0)
    target = 20 * 1_000_000  # 20 ms of engine time: 20 us of real time
    with anyio.fail_after(5):
        await clock.sleep_until(target)
    assert clock.timestamp_ns() >= target


async def test_live_clock_sleep_until_past_time_returns_at_once() -> None:
    clock = LiveClock(origin_ns=10 * SECOND)
    with anyio.fail_after(5):
        await clock.sleep_until(SECOND)
    assert clock.timestamp_ns() >= 10 * SECOND


async def test_live_clock_sleep_until_waits_while_held() -> None:
    clock = LiveClock(origin_ns=0, speed=1.0)
    clock.hold(0)
    woke: list[int] = []

    async def sleeper() -> None:
        await clock.sleep_until(1_000)  # one microsecond after the held time
        woke.append(clock.timestamp_ns())

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(sleeper)
            await anyio.sleep(0.05)
            assert woke == []  # held at 0: time does not reach 1,000 however long we wait
            clock.hold(500)
            await anyio.sleep(0.03)
            assert woke == []
            clock.release()  # the task group waits for the sleeper to wake and finish
    assert woke[0] >= 1_000


def test_live_clock_replay_fired_earlier_than_scheduled_keeps_one_timer() -> None:
    # A journal whose firing precedes the schedule this graph set (it started elsewhere
    # in the interval): the firing is applied and the next one follows it, once.
    clock = LiveClock(origin_ns=0)
    clock.hold(1_000)
    received: list[TimerFired] = []
    clock.set_timer("portfolio", "equity", 100, received.append)  # due at 1,100
    assert clock.replay_fired(fired("equity", "portfolio", 1_000))
    assert clock.replay_fired(fired("equity", "portfolio", 1_100))
    assert [event.ts_event for event in received] == [1_000, 1_100]
    assert clock.timer_names("portfolio") == ["equity"]


async def test_live_clock_pin_reads_the_pinned_time_while_real_time_moves_on() -> None:
    clock = LiveClock(origin_ns=1_000, speed=1_000_000.0)  # a real ms is 1000 engine s
    pinned = clock.pin(2_000)
    await anyio.sleep(0.002)  # real time moves on: engine time by seconds
    assert pinned == 2_000 and clock.timestamp_ns() == 2_000
    clock.unpin()
    assert clock.timestamp_ns() > 1_000_000_000  # the flow of time was not moved


def test_live_clock_pin_never_goes_back() -> None:
    clock = LiveClock(origin_ns=0)
    clock.pin(5_000)
    clock.unpin()
    assert clock.pin(4_000) == 5_000  # an input handled late reads the last pinned time
    assert clock.timestamp_ns() == 5_000
    clock.unpin()
    clock.hold(7_000)
    assert clock.pin(6_000) == 7_000  # nor before a held (recovery) time
    assert clock.pinned_floor == 7_000


def test_live_clock_fire_due_fires_in_time_order_each_pinned_at_its_due_time() -> None:
    clock = LiveClock(origin_ns=0)
    clock.hold(0)
    seen: list[tuple[str, int, int, int]] = []

    def record(event: TimerFired) -> None:
        seen.append((event.name, event.ts_event, event.ts_init, clock.timestamp_ns()))

    clock.set_timer("a", "every", 100, record)
    clock.set_time_alert("a", "once", 150, record)
    assert clock.deadline == 100
    assert clock.fire_due(250) == 3
    assert seen == [("every", 100, 100, 100), ("once", 150, 150, 150),
                    ("every", 200, 200, 200)]
    assert clock.deadline == 300 and clock.timestamp_ns() == 0  # held, not pinned after
    assert clock.fire_due(299) == 0


async def test_live_clock_run_leaves_due_timers_to_the_runner_while_inputs_wait() -> None:
    clock = LiveClock(origin_ns=0, speed=1_000_000.0)
    waiting = [True]
    clock.defer_timers = lambda: waiting[0]
    fired: list[TimerFired] = []
    done = anyio.Event()

    def fire(event: TimerFired) -> None:
        fired.append(event)
        done.set()

    clock.set_time_alert("a", "once", 1_000, fire)
    async with anyio.create_task_group() as group:
        await group.start(clock.run)
        await anyio.sleep(0.02)
        assert fired == []  # due long ago, but inputs wait: the runner fires it first
        waiting[0] = False
        with anyio.fail_after(5):
            await done.wait()
        group.cancel_scope.cancel()
    assert fired[0].ts_event == fired[0].ts_init == 1_000  # at its due time, not later
