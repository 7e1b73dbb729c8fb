"""Bus properties: each subscriber gets exactly its matching messages, FIFO, never re-entered;
taps see each matching publish once and change no delivery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given, strategies as st

from engine.bus import MessageBus
from engine.taps import TapPolicy

segments = st.sampled_from(["a", "b", "c"])
topics = st.lists(segments, min_size=1, max_size=3).map(".".join)
pattern_heads = st.lists(st.sampled_from(["a", "b", "*"]), min_size=0, max_size=3)
patterns = st.tuples(pattern_heads, st.booleans()).map(
    lambda parts: ".".join([*parts[0], "#"] if parts[1] or not parts[0] else parts[0])
)
subscribers = st.lists(st.lists(patterns, min_size=1, max_size=3), min_size=1, max_size=4)


def reference_matches(pattern: str, topic: str) -> bool:
    """An independent statement of the wildcard rules, to check `topics.matches` against."""
    pattern_parts, topic_parts = pattern.split("."), topic.split(".")
    if pattern_parts[-1] == "#":
        head = pattern_parts[:-1]
        return len(topic_parts) >= len(head) and all(
            p in ("*", t) for p, t in zip(head, topic_parts, strict=False)
        )
    return len(pattern_parts) == len(topic_parts) and all(
        p in ("*", t) for p, t in zip(pattern_parts, topic_parts, strict=True)
    )


def expected_for(subscriber_patterns: list[str], published: list[tuple[int, str]]) -> list[int]:
    """Ids a subscriber should see: once per distinct matching pattern, in publish order."""
    distinct = list(dict.fromkeys(subscriber_patterns))
    return [
        message_id
        for message_id, topic in published
        for pattern in distinct
        if reference_matches(pattern, topic)
    ]


@given(subscriptions=subscribers, sequence=st.lists(topics, max_size=12))
def test_bus_each_subscriber_gets_its_matching_messages_in_publish_order(
    subscriptions: list[list[str]], sequence: list[str]
) -> None:
    bus = MessageBus()
    received: list[list[int]] = [[] for _ in subscriptions]
    for index, subscriber_patterns in enumerate(subscriptions):
        handler = received[index].append
        for pattern in subscriber_patterns:
            bus.subscribe(pattern, handler)
    published = list(enumerate(sequence))
    for message_id, topic in published:
        bus.publish(topic, message_id)
    for index, subscriber_patterns in enumerate(subscriptions):
        assert received[index] == expected_for(subscriber_patterns, published)
    assert bus.statistics().messages_published == len(sequence)
    assert bus.is_idle


@given(
    subscriptions=subscribers,
    relays=st.lists(st.one_of(st.none(), topics), min_size=4, max_size=4),
    sequence=st.lists(topics, min_size=1, max_size=6),
)
def test_bus_follow_ups_keep_fifo_and_are_never_reentrant(
    subscriptions: list[list[str]], relays: list[str | None], sequence: list[str]
) -> None:
    bus = MessageBus()
    published: list[tuple[int, str]] = []
    deliveries: list[int] = []  # every delivery's message id, in delivery order
    received: list[list[int]] = [[] for _ in subscriptions]
    running = [False]

    def publish(topic: str, depth: int) -> None:
        message_id = len(published)
        published.append((message_id, topic))
        bus.publish(topic, (message_id, depth))

    def make_handler(index: int) -> Any:
        follow_up = relays[index]

        def handle(message: tuple[int, int]) -> None:
            assert not running[0], "a handler was entered while another was running"
            running[0] = True
            try:
                message_id, depth = message
                deliveries.append(message_id)
                received[index].append(message_id)
                if follow_up is not None and depth < 2:
                    publish(follow_up, depth + 1)
            finally:
                running[0] = False

        return handle

    for index, subscriber_patterns in enumerate(subscriptions):
        handler = make_handler(index)
        for pattern in subscriber_patterns:
            bus.subscribe(pattern, handler)
    for topic in sequence:
        publish(topic, 0)

    assert deliveries == sorted(deliveries), "messages were delivered out of publish order"
    for index, subscriber_patterns in enumerate(subscriptions):
        assert received[index] == expected_for(subscriber_patterns, published)
    assert bus.is_idle


# -- taps ------------------------------------------------------------------------------------

tap_specs = st.lists(
    st.tuples(patterns, st.integers(min_value=1, max_value=6), st.sampled_from(list(TapPolicy))),
    max_size=3,
)


def run_relays(
    bus: MessageBus,
    subscriptions: list[list[str]],
    relays: list[str | None],
    sequence: list[str],
    on_delivery: Callable[[int], None] = lambda count: None,
) -> tuple[list[tuple[int, str]], list[list[tuple[int, int]]]]:
    """Publish `sequence` through relaying subscribers; return what was published and
    what each subscriber handled (message id and depth), in order."""
    published: list[tuple[int, str]] = []
    received: list[list[tuple[int, int]]] = [[] for _ in subscriptions]
    deliveries = [0]

    def publish(topic: str, depth: int) -> None:
        message_id = len(published)
        published.append((message_id, topic))
        bus.publish(topic, (message_id, depth))

    def make_handler(index: int) -> Any:
        follow_up = relays[index]

        def handle(message: tuple[int, int]) -> None:
            received[index].append(message)
            deliveries[0] += 1
            on_delivery(deliveries[0])
            if follow_up is not None and message[1] < 2:
                publish(follow_up, message[1] + 1)

        return handle

    for index, subscriber_patterns in enumerate(subscriptions):
        handler = make_handler(index)
        for pattern in subscriber_patterns:
            bus.subscribe(pattern, handler)
    for topic in sequence:
        publish(topic, 0)
    return published, received


@given(
    subscriptions=subscribers,
    relays=st.lists(st.one_of(st.none(), topics), min_size=4, max_size=4),
    sequence=st.lists(topics, min_size=1, max_size=6),
    taps=tap_specs,
)
def test_bus_taps_change_no_delivery_and_keep_each_matching_publish_once(
    subscriptions: list[list[str]],
    relays: list[str | None],
    sequence: list[str],
    taps: list[tuple[str, int, TapPolicy]],
) -> None:
    plain_published, plain_received = run_relays(MessageBus(), subscriptions, relays, sequence)
    bus = MessageBus()
    attached = [bus.add_tap(pattern, capacity=capacity, policy=policy)
                for pattern, capacity, policy in taps]
    unbounded = bus.add_tap("#", capacity=10_000)

    published, received = run_relays(bus, subscriptions, relays, sequence)

    assert (published, received) == (plain_published, plain_received)
    assert [(topic, message[0]) for topic, message in unbounded.drain()] == [
        (topic, message_id) for message_id, topic in published
    ]
    for tap, (pattern, capacity, policy) in zip(attached, taps, strict=True):
        expected = [message_id for message_id, topic in published
                    if reference_matches(pattern, topic)]
        kept = expected[-capacity:] if policy is TapPolicy.DROP_OLDEST else expected[:capacity]
        assert [message[0] for _, message in tap.drain()] == kept
        assert tap.statistics().dropped == len(expected) - len(kept)


@given(
    subscriptions=subscribers,
    relays=st.lists(st.one_of(st.none(), topics), min_size=4, max_size=4),
    sequence=st.lists(topics, min_size=1, max_size=6),
    remove_after=st.integers(min_value=0, max_value=12),
)
def test_bus_tap_removed_mid_delivery_keeps_what_was_published_before(
    subscriptions: list[list[str]],
    relays: list[str | None],
    sequence: list[str],
    remove_after: int,
) -> None:
    plain = run_relays(MessageBus(), subscriptions, relays, sequence)
    bus = MessageBus()
    tap = bus.add_tap("#")
    seen_at_removal: list[int] = []

    def maybe_remove(deliveries: int) -> None:
        if deliveries == remove_after:
            seen_at_removal.append(tap.statistics().received)
            bus.remove_tap(tap)

    published, received = run_relays(bus, subscriptions, relays, sequence, maybe_remove)

    assert (published, received) == plain
    cut = seen_at_removal[0] if seen_at_removal else len(published)
    assert [message[0] for _, message in tap.drain()] == [i for i, _ in published[:cut]]
    assert bus.is_idle
