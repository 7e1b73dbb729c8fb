"""Bus properties: each subscriber gets exactly its matching messages, FIFO, never re-entered."""

from __future__ import annotations

from typing import Any

from hypothesis import given, strategies as st

from engine.bus import MessageBus

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
