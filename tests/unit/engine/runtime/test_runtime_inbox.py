"""The inbox: overflow policies per lane, a critical lane that never drops, arrival order.

The property test drives random interleavings of puts and gets against a plain model of
the policies and checks every entry taken, plus the per-lane accounting identity
received == delivered + dropped + coalesced + depth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from hypothesis import given, strategies as st

from engine.runtime import Inbox, InboxEntry, OverflowPolicy
from engine.topics import ORDERS_PROCESS, bars_topic, quotes_topic

CRITICAL_LANE = "critical"
BARS = bars_topic("BTC/USDT.SIM", "1m")
QUOTES = quotes_topic("BTC/USDT.SIM")


def take_all(inbox: Inbox) -> list[InboxEntry]:
    entries: list[InboxEntry] = []
    while (entry := inbox.get_nowait()) is not None:
        entries.append(entry)
    return entries


def messages(entries: list[InboxEntry]) -> list[Any]:
    return [entry.message for entry in entries]


def inbox_with(policy: OverflowPolicy, capacity: int = 3) -> Inbox:
    inbox = Inbox()
    inbox.add_lane("feed", capacity=capacity, policy=policy)
    return inbox


# -- overflow policies ---------------------------------------------------------------------


def test_inbox_drop_oldest_full_lane_keeps_newest_and_counts_drops() -> None:
    inbox = inbox_with(OverflowPolicy.DROP_OLDEST)
    accepted = [inbox.put_data("feed", index, "bars", "X") for index in range(5)]
    assert accepted == [True] * 5
    assert messages(take_all(inbox)) == [2, 3, 4]
    lane = inbox.statistics().lanes["feed"]
    assert (lane.received, lane.dropped, lane.coalesced, lane.depth) == (5, 2, 0, 0)
    assert lane.max_depth == 3
    assert inbox.statistics().delivered == 3


def test_inbox_drop_newest_full_lane_refuses_new_entries() -> None:
    inbox = inbox_with(OverflowPolicy.DROP_NEWEST)
    accepted = [inbox.put_data("feed", index, "bars", "X") for index in range(5)]
    assert accepted == [True, True, True, False, False]
    assert messages(take_all(inbox)) == [0, 1, 2]
    lane = inbox.statistics().lanes["feed"]
    assert (lane.received, lane.dropped, lane.depth) == (5, 2, 0)


def test_inbox_drop_newest_takes_entries_again_once_there_is_room() -> None:
    inbox = inbox_with(OverflowPolicy.DROP_NEWEST, capacity=1)
    assert inbox.put_data("feed", "a", "bars", "X")
    assert not inbox.put_data("feed", "b", "bars", "X")
    assert messages(take_all(inbox)) == ["a"]
    assert inbox.put_data("feed", "c", "bars", "X")
    assert messages(take_all(inbox)) == ["c"]


def test_inbox_coalesce_keeps_latest_per_topic_in_arrival_order() -> None:
    inbox = inbox_with(OverflowPolicy.COALESCE, capacity=10)
    for message, topic in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("a3", "a"), ("c1", "c")]:
        assert inbox.put_data("feed", message, topic, "X")
    assert messages(take_all(inbox)) == ["b1", "a3", "c1"]
    lane = inbox.statistics().lanes["feed"]
    assert (lane.received, lane.coalesced, lane.dropped, lane.depth) == (5, 2, 0, 0)


def test_inbox_coalesce_full_of_distinct_topics_drops_oldest() -> None:
    inbox = inbox_with(OverflowPolicy.COALESCE, capacity=2)
    for message, topic in [("a1", "a"), ("b1", "b"), ("c1", "c"), ("b2", "b")]:
        inbox.put_data("feed", message, topic, "X")
    assert messages(take_all(inbox)) == ["c1", "b2"]
    lane = inbox.statistics().lanes["feed"]
    assert (lane.dropped, lane.coalesced) == (1, 1)


def test_inbox_coalesce_after_get_queues_the_topic_again() -> None:
    inbox = inbox_with(OverflowPolicy.COALESCE)
    inbox.put_data("feed", "a1", "a", "X")
    assert messages(take_all(inbox)) == ["a1"]
    inbox.put_data("feed", "a2", "a", "X")
    assert messages(take_all(inbox)) == ["a2"]
    assert inbox.statistics().lanes["feed"].coalesced == 0


# -- the critical lane ---------------------------------------------------------------------


def test_inbox_critical_nowait_full_raises_would_block() -> None:
    inbox = Inbox(critical_capacity=2)
    inbox.put_critical_nowait("fill-1", ORDERS_PROCESS)
    inbox.put_critical_nowait("fill-2", ORDERS_PROCESS)
    with pytest.raises(anyio.WouldBlock):
        inbox.put_critical_nowait("fill-3", ORDERS_PROCESS)
    lane = inbox.statistics().lanes[CRITICAL_LANE]
    assert (lane.received, lane.dropped, lane.depth) == (2, 0, 2)


@pytest.mark.anyio
async def test_inbox_put_critical_full_waits_for_the_consumer() -> None:
    inbox = Inbox(critical_capacity=2)
    await inbox.put_critical("fill-1", ORDERS_PROCESS)
    await inbox.put_critical("fill-2", ORDERS_PROCESS)
    finished: list[str] = []

    async def producer() -> None:
        await inbox.put_critical("fill-3", ORDERS_PROCESS)
        finished.append("fill-3")

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(producer)
            await anyio.wait_all_tasks_blocked()
            assert finished == []  # backpressure: waiting, not dropped
            first = inbox.get_nowait()
            assert first is not None and first.message == "fill-1"
    assert finished == ["fill-3"]  # the room the consumer made let it in
    assert messages(take_all(inbox)) == ["fill-2", "fill-3"]
    lane = inbox.statistics().lanes[CRITICAL_LANE]
    assert (lane.received, lane.dropped, lane.max_depth) == (3, 0, 2)


def test_inbox_entries_across_lanes_come_out_in_arrival_order() -> None:
    inbox = Inbox()
    inbox.add_lane("bars", capacity=10)
    inbox.add_lane("quotes", capacity=10, policy=OverflowPolicy.COALESCE)
    inbox.put_data("bars", "bar-1", BARS, "X")
    inbox.put_critical_nowait("fill-1", ORDERS_PROCESS)
    inbox.put_data("quotes", "quote-1", QUOTES, "X")
    inbox.put_data("bars", "bar-2", BARS, "X")
    inbox.put_critical_nowait("fill-2", ORDERS_PROCESS)
    entries = take_all(inbox)
    assert messages(entries) == ["bar-1", "fill-1", "quote-1", "bar-2", "fill-2"]
    assert [entry.lane for entry in entries] == ["bars", "critical", "quotes", "bars", "critical"]
    assert [entry.target for entry in entries][:2] == [BARS, ORDERS_PROCESS]
    assert entries[0].instrument_id == "X" and entries[1].instrument_id is None
    sequences = [entry.sequence for entry in entries]
    assert sequences == sorted(sequences)


# -- waiting -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_inbox_get_waits_for_a_put() -> None:
    inbox = inbox_with(OverflowPolicy.DROP_OLDEST)
    taken: list[Any] = []

    async def consumer() -> None:
        taken.append((await inbox.get()).message)

    async with anyio.create_task_group() as group:
        group.start_soon(consumer)
        await anyio.wait_all_tasks_blocked()
        assert taken == []
        inbox.put_data("feed", "bar", "bars", "X")
    assert taken == ["bar"]


@pytest.mark.anyio
async def test_inbox_wait_empty_returns_once_consumer_took_everything() -> None:
    inbox = inbox_with(OverflowPolicy.DROP_OLDEST)
    for index in range(3):
        inbox.put_data("feed", index, "bars", "X")
    emptied: list[int] = []

    async def waiter() -> None:
        await inbox.wait_empty()
        emptied.append(len(inbox))

    async with anyio.create_task_group() as group:
        group.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        assert emptied == []
        inbox.get_nowait()
        inbox.get_nowait()
        await anyio.wait_all_tasks_blocked()
        assert emptied == []
        inbox.get_nowait()
    assert emptied == [0]


@pytest.mark.anyio
async def test_inbox_wait_empty_on_empty_inbox_returns_at_once() -> None:
    with anyio.fail_after(5):
        await Inbox().wait_empty()


# -- configuration and statistics ----------------------------------------------------------


def test_inbox_lane_errors_are_refused() -> None:
    inbox = Inbox()
    inbox.add_lane("feed", capacity=1)
    with pytest.raises(ValueError, match="already exists"):
        inbox.add_lane("feed", capacity=1)
    with pytest.raises(ValueError, match="capacity 0"):
        inbox.add_lane("other", capacity=0)
    with pytest.raises(ValueError, match="critical_capacity 0"):
        Inbox(critical_capacity=0)


def test_inbox_statistics_names_every_lane_with_its_policy() -> None:
    inbox = Inbox(critical_capacity=7)
    inbox.add_lane("b-quotes", capacity=4, policy=OverflowPolicy.COALESCE)
    inbox.add_lane("a-bars", capacity=5)
    inbox.put_data("a-bars", "bar", "bars", "X")
    statistics = inbox.statistics()
    assert list(statistics.lanes) == ["a-bars", "b-quotes", "critical"]
    assert statistics.lanes["a-bars"].policy == "drop_oldest"
    assert statistics.lanes["b-quotes"].policy == "coalesce"
    assert statistics.lanes["critical"].capacity == 7
    assert (statistics.lanes["a-bars"].depth, len(inbox), statistics.delivered) == (1, 1, 0)


# -- the property --------------------------------------------------------------------------


@dataclass
class ModelLane:
    policy: OverflowPolicy
    capacity: int
    live: list[tuple[int, str, int]] = field(default_factory=list)  # (sequence, topic, payload)
    delivered: int = 0


LANE_POLICIES = {
    "oldest": OverflowPolicy.DROP_OLDEST,
    "newest": OverflowPolicy.DROP_NEWEST,
    "coalesce": OverflowPolicy.COALESCE,
}

operations = st.lists(
    st.one_of(
        st.tuples(st.just("data"), st.sampled_from(sorted(LANE_POLICIES)),
                  st.sampled_from(["t1", "t2", "t3"])),
        st.tuples(st.just("critical"), st.just(""), st.just("")),
        st.tuples(st.just("get"), st.just(""), st.just("")),
    ),
    max_size=120,
)


@given(operations=operations, capacity=st.integers(min_value=1, max_value=4))
def test_inbox_random_interleavings_keep_order_and_accounting(
    operations: list[tuple[str, str, str]], capacity: int
) -> None:
    critical_capacity = 5
    inbox = Inbox(critical_capacity=critical_capacity)
    model = {name: ModelLane(policy, capacity) for name, policy in LANE_POLICIES.items()}
    model[CRITICAL_LANE] = ModelLane(OverflowPolicy.DROP_NEWEST, critical_capacity)
    for name, policy in LANE_POLICIES.items():
        inbox.add_lane(name, capacity=capacity, policy=policy)
    sequence = 0
    last_taken = 0
    for payload, (operation, lane_name, topic) in enumerate(operations):
        if operation == "data":
            lane = model[lane_name]
            if lane.policy is OverflowPolicy.COALESCE:
                lane.live = [entry for entry in lane.live if entry[1] != topic]
            accepted = True
            if len(lane.live) >= capacity:
                if lane.policy is OverflowPolicy.DROP_NEWEST:
                    accepted = False
                else:
                    lane.live.pop(0)
            if accepted:
                sequence += 1
                lane.live.append((sequence, topic, payload))
            assert inbox.put_data(lane_name, payload, topic, "X") is accepted
        elif operation == "critical":
            lane = model[CRITICAL_LANE]
            if len(lane.live) >= critical_capacity:
                with pytest.raises(anyio.WouldBlock):
                    inbox.put_critical_nowait(payload, ORDERS_PROCESS)
            else:
                sequence += 1
                lane.live.append((sequence, ORDERS_PROCESS, payload))
                inbox.put_critical_nowait(payload, ORDERS_PROCESS)
        else:
            heads = [(lane.live[0][0], name) for name, lane in model.items() if lane.live]
            entry = inbox.get_nowait()
            if not heads:
                assert entry is None
                continue
            _, name = min(heads)
            expected_sequence, expected_topic, expected_payload = model[name].live.pop(0)
            model[name].delivered += 1
            assert entry is not None
            assert (entry.lane, entry.target, entry.message) == (
                name, expected_topic, expected_payload)
            assert entry.sequence > last_taken  # arrival order, across lanes
            last_taken = entry.sequence
    statistics = inbox.statistics()
    assert statistics.delivered == sum(lane.delivered for lane in model.values())
    assert len(inbox) == sum(len(lane.live) for lane in model.values())
    for name, lane in model.items():
        counted = statistics.lanes[name]
        assert counted.depth == len(lane.live)
        assert counted.received == (
            lane.delivered + counted.dropped + counted.coalesced + counted.depth
        ), name
