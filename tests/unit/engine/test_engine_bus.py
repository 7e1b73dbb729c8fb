"""The message bus: routing, wildcards, FIFO without re-entrance, endpoints, errors."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

from engine.bus import MessageBus
from engine.errors import UnknownEndpoint
from engine.topics import matches


def recorder(log: list[Any], label: str) -> Any:
    """Return a handler that appends (label, message) to `log`."""

    def handle(message: Any) -> None:
        log.append((label, message))

    return handle


# -- topics.matches -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("data.bars.sim.btc", "data.bars.sim.btc", True),
        ("data.bars.sim.btc", "data.bars.sim.eth", False),
        ("data.*.sim", "data.bars.sim", True),
        ("data.*.sim", "data.bars.quotes.sim", False),
        ("data.*", "data", False),
        ("*", "data", True),
        ("*", "data.bars", False),
        ("data.#", "data", True),
        ("data.#", "data.bars.sim.btc.1m", True),
        ("data.#", "database", False),
        ("#", "anything.at.all", True),
        ("data.*.#", "data.bars", True),
        ("data.*.#", "data", False),
        ("data.bars", "data.bars.sim", False),
    ],
)
def test_matches_pattern_and_topic_gives_expected(pattern: str, topic: str, expected: bool) -> None:
    assert matches(pattern, topic) is expected


def test_matches_hash_not_at_end_raises_even_when_first_segment_differs() -> None:
    with pytest.raises(ValueError, match="only allowed at the end"):
        matches("a.#.b", "x.y")


def test_subscribe_hash_not_at_end_raises_at_subscription() -> None:
    bus = MessageBus()
    with pytest.raises(ValueError, match="only allowed at the end"):
        bus.subscribe("data.#.bars", print)
    bus.publish("data.x", 1)  # no broken subscription was left behind
    assert bus.statistics().topics == {"data.x": 1}


# -- routing -------------------------------------------------------------------------


def test_publish_exact_and_wildcard_subscribers_receive_matching_topics_only() -> None:
    bus = MessageBus()
    log: list[Any] = []
    bus.subscribe("data.bars.sim", recorder(log, "exact"))
    bus.subscribe("data.*.sim", recorder(log, "star"))
    bus.subscribe("data.#", recorder(log, "hash"))
    bus.publish("data.bars.sim", 1)
    bus.publish("data.quotes.sim", 2)
    bus.publish("data.bars.sim.btc", 3)
    bus.publish("events.order.s1", 4)
    assert log == [
        ("exact", 1), ("star", 1), ("hash", 1),
        ("star", 2), ("hash", 2),
        ("hash", 3),
    ]


def test_subscribe_same_pattern_and_handler_twice_delivers_once() -> None:
    bus = MessageBus()
    log: list[Any] = []
    handler = recorder(log, "h")
    bus.subscribe("t.#", handler)
    bus.subscribe("t.#", handler)
    bus.publish("t.a", 1)
    assert log == [("h", 1)]


def test_subscribe_one_handler_through_two_matching_patterns_delivers_per_subscription() -> None:
    # Delivery is per subscription: two patterns that both match give two deliveries.
    bus = MessageBus()
    log: list[Any] = []
    handler = recorder(log, "h")
    bus.subscribe("t.#", handler)
    bus.subscribe("t.*", handler)
    bus.publish("t.a", 1)
    bus.publish("t.a.b", 2)
    assert log == [("h", 1), ("h", 1), ("h", 2)]


def test_unsubscribe_handler_stops_receiving() -> None:
    bus = MessageBus()
    log: list[Any] = []
    handler = recorder(log, "h")
    bus.subscribe("t", handler)
    bus.publish("t", 1)
    bus.unsubscribe("t", handler)
    bus.publish("t", 2)
    assert log == [("h", 1)]


def test_subscribe_after_topic_cached_receives_later_messages() -> None:
    bus = MessageBus()
    log: list[Any] = []
    bus.publish("t", 1)
    bus.subscribe("t", recorder(log, "late"))
    bus.publish("t", 2)
    assert log == [("late", 2)]


# -- FIFO and no re-entrance -------------------------------------------------------------


def test_publish_from_handler_delivers_after_handler_returns() -> None:
    bus = MessageBus()
    log: list[str] = []

    def first(message: str) -> None:
        log.append(f"enter {message}")
        if message == "a":
            bus.publish("t", "b")
            log.append("published b")
        log.append(f"leave {message}")

    bus.subscribe("t", first)
    bus.publish("t", "a")
    assert log == ["enter a", "published b", "leave a", "enter b", "leave b"]


def test_publish_send_deliver_from_handler_keep_fifo_order() -> None:
    bus = MessageBus()
    log: list[Any] = []
    direct = recorder(log, "direct")
    bus.register_endpoint("svc.do", recorder(log, "endpoint"))
    bus.subscribe("follow", recorder(log, "topic"))

    def origin(message: Any) -> None:
        log.append(("origin", message))
        bus.send("svc.do", 1)
        bus.publish("follow", 2)
        bus.deliver(direct, 3)
        bus.send("svc.do", 4)

    bus.subscribe("start", origin)
    bus.publish("start", 0)
    assert log == [("origin", 0), ("endpoint", 1), ("topic", 2), ("direct", 3), ("endpoint", 4)]


def test_publish_nested_follow_ups_are_breadth_first() -> None:
    bus = MessageBus()
    log: list[str] = []

    def handle(message: str) -> None:
        log.append(message)
        if len(message) < 3:
            bus.publish("t", message + "x")
            bus.publish("t", message + "y")

    bus.subscribe("t", handle)
    bus.publish("t", "a")
    assert log == ["a", "ax", "ay", "axx", "axy", "ayx", "ayy"]
    assert bus.is_idle


# -- endpoints and request/response ----------------------------------------------------------


def test_send_unknown_endpoint_raises() -> None:
    bus = MessageBus()
    with pytest.raises(UnknownEndpoint) as caught:
        bus.send("nobody.home", 1)
    assert caught.value.endpoint == "nobody.home"


def test_request_unknown_endpoint_raises() -> None:
    with pytest.raises(UnknownEndpoint):
        MessageBus().request("nobody.home", 1, print)


def test_register_endpoint_twice_raises() -> None:
    bus = MessageBus()
    bus.register_endpoint("svc.do", print)
    with pytest.raises(ValueError, match="already registered"):
        bus.register_endpoint("svc.do", print)


def test_deregister_endpoint_then_send_raises() -> None:
    bus = MessageBus()
    bus.register_endpoint("svc.do", print)
    assert bus.has_endpoint("svc.do")
    bus.deregister_endpoint("svc.do")
    assert not bus.has_endpoint("svc.do")
    with pytest.raises(UnknownEndpoint):
        bus.send("svc.do", 1)


def test_request_reply_arrives_after_messages_already_queued() -> None:
    bus = MessageBus()
    log: list[Any] = []
    bus.register_endpoint("svc.double", lambda value: value * 2)
    bus.subscribe("t", recorder(log, "topic"))

    def origin(message: Any) -> None:
        bus.publish("t", "before")
        bus.request("svc.double", 21, recorder(log, "reply"))
        bus.publish("t", "after")

    bus.subscribe("start", origin)
    bus.publish("start", None)
    # The reply is queued when the request is handled, i.e. after "after" was queued.
    assert log == [("topic", "before"), ("topic", "after"), ("reply", 42)]


def test_request_outside_handler_replies_at_once() -> None:
    bus = MessageBus()
    replies: list[int] = []
    bus.register_endpoint("svc.double", lambda value: value * 2)
    bus.request("svc.double", 5, replies.append)
    assert replies == [10]


# -- statistics -------------------------------------------------------------------------------


def test_statistics_count_per_topic_and_endpoint() -> None:
    bus = MessageBus()
    bus.subscribe("t.#", lambda message: None)
    bus.register_endpoint("svc.do", lambda message: None)
    bus.publish("t.a", 1)
    bus.publish("t.a", 2)
    bus.publish("t.b", 3)
    bus.publish("nobody.listens", 4)
    bus.send("svc.do", 5)
    stats = bus.statistics()
    assert stats.topics == {"nobody.listens": 1, "t.a": 2, "t.b": 1}
    assert stats.endpoints == {"svc.do": 1}
    assert stats.messages_published == 5
    assert stats.messages_handled == 4  # the unheard message is never queued
    assert stats.handler_errors == 0
    assert stats.queue_depth == 0


# -- owners ---------------------------------------------------------------------------------


def test_remove_owner_drops_subscriptions_and_endpoints() -> None:
    bus = MessageBus()
    log: list[Any] = []
    bus.subscribe("t", recorder(log, "a"), owner="a")
    bus.register_endpoint("a.do", recorder(log, "a-endpoint"), owner="a")
    bus.subscribe("t", recorder(log, "b"), owner="b")
    bus.remove_owner("a")
    bus.publish("t", 1)
    assert log == [("b", 1)]
    assert not bus.has_endpoint("a.do")


def test_remove_owner_in_handler_purges_queued_deliveries_and_keeps_draining() -> None:
    bus = MessageBus()
    log: list[Any] = []

    def stopper(message: int) -> None:
        log.append(("a", message))
        if message == 1:
            bus.publish("t", 2)  # queued for a and b
            bus.remove_owner("b")
            bus.publish("t", 3)  # queued for a only

    bus.subscribe("t", stopper, owner="a")
    bus.subscribe("t", recorder(log, "b"), owner="b")
    bus.publish("t", 1)
    # b's share of message 1 was still in flight when it was removed: it is skipped too.
    assert log == [("a", 1), ("a", 2), ("a", 3)]
    assert bus.is_idle
    assert bus.statistics().queue_depth == 0


def test_remove_owner_purges_deliveries_queued_for_it() -> None:
    bus = MessageBus()
    log: list[Any] = []
    b_handler = recorder(log, "b")
    bus.subscribe("t", b_handler, owner="b")

    def origin(message: Any) -> None:
        bus.deliver(b_handler, "direct")
        bus.publish("t", "topic")
        bus.remove_owner("b")

    bus.subscribe("start", origin)
    bus.publish("start", None)
    assert log == []


def test_remove_owner_then_resubscribe_in_same_drain_receives_new_messages() -> None:
    bus = MessageBus()
    log: list[Any] = []
    b_handler = recorder(log, "b")
    bus.subscribe("t", b_handler, owner="b")

    def restart(message: Any) -> None:
        bus.remove_owner("b")
        bus.subscribe("t", b_handler, owner="b")
        bus.publish("t", "after restart")

    bus.subscribe("start", restart)
    bus.publish("start", None)
    assert log == [("b", "after restart")]


# -- errors ---------------------------------------------------------------------------------


def test_handler_error_without_error_handler_propagates() -> None:
    bus = MessageBus()

    def broken(message: Any) -> None:
        raise RuntimeError("boom")

    bus.subscribe("t", broken)
    with pytest.raises(RuntimeError, match="boom"):
        bus.publish("t", 1)
    assert bus.statistics().handler_errors == 1


def test_handler_error_with_isolating_error_handler_later_messages_flow() -> None:
    errors: list[tuple[str | None, Any, str]] = []

    def isolate(owner: str | None, message: Any, error: Exception) -> None:
        errors.append((owner, message, str(error)))
        bus.remove_owner(owner or "")

    bus = MessageBus(error_handler=isolate)
    log: list[Any] = []

    def broken(message: int) -> None:
        bus.publish("t", message + 100)  # queued before it raises
        raise RuntimeError(f"boom {message}")

    bus.subscribe("t", broken, owner="bad")
    bus.subscribe("t", recorder(log, "good"), owner="good")
    bus.publish("t", 1)
    bus.publish("t", 2)
    assert errors == [("bad", 1, "boom 1")]
    assert log == [("good", 1), ("good", 101), ("good", 2)]
    stats = bus.statistics()
    assert stats.handler_errors == 1
    assert bus.is_idle


def test_handler_error_with_error_handler_that_keeps_owner_counts_each_error() -> None:
    seen: list[Any] = []
    bus = MessageBus(error_handler=lambda owner, message, error: seen.append(message))

    def broken(message: Any) -> None:
        raise ValueError("bad input")

    bus.subscribe("t", broken, owner="x")
    bus.publish("t", 1)
    bus.publish("t", 2)
    assert seen == [1, 2]
    assert bus.statistics().handler_errors == 2


# -- observers ----------------------------------------------------------------------------------


def test_observer_sees_every_message_in_delivery_order() -> None:
    bus = MessageBus()
    observed: list[tuple[str, Any]] = []
    delivered: list[Any] = []
    bus.add_observer(lambda name, message: observed.append((name, message)))
    bus.register_endpoint("svc.do", delivered.append)
    direct = delivered.append

    def origin(message: Any) -> None:
        delivered.append(message)
        bus.send("svc.do", "sent")
        bus.publish("t", "published")
        bus.deliver(direct, "delivered")

    bus.subscribe("start", origin)
    bus.subscribe("t", delivered.append)
    bus.publish("start", "first")
    bus.publish("unheard", "nobody")
    assert observed == [
        ("start", "first"),
        ("svc.do", "sent"),
        ("t", "published"),
        ("direct", "delivered"),
        ("unheard", "nobody"),
    ]
    assert delivered == ["first", "sent", "published", "delivered"]


def test_an_observer_added_after_a_topic_was_used_sees_it_once_in_order() -> None:
    # The topic took the in-place path before (one handler); observed, it goes queued.
    bus = MessageBus()
    delivered: list[Any] = []
    observed: list[Any] = []
    bus.subscribe("t", delivered.append)
    bus.publish("t", 1)
    bus.add_observer(lambda name, message: observed.append(message))
    bus.publish("t", 2)
    bus.publish("new", 3)  # a topic first seen once observed
    bus.publish("t", 4)

    assert delivered == [1, 2, 4]
    assert observed == [2, 3, 4]
    statistics = bus.statistics()
    assert (statistics.messages_published, statistics.messages_handled) == (4, 3)
    assert statistics.topics == {"t": 3, "new": 1}


def test_request_completed_releases_reply_handler() -> None:
    bus = MessageBus()
    bus.register_endpoint("svc.echo", lambda value: value, owner="svc")
    replies: list[Any] = []

    def reply(value: Any) -> None:
        replies.append(value)

    reference = weakref.ref(reply)
    bus.request("svc.echo", 1, reply)
    del reply
    gc.collect()
    assert replies == [1]
    assert reference() is None  # nothing in the bus holds on to a finished request


def test_request_handler_error_is_attributed_to_endpoint_owner() -> None:
    owners: list[str | None] = []
    bus = MessageBus(error_handler=lambda owner, message, error: owners.append(owner))

    def broken(value: Any) -> Any:
        raise RuntimeError("no")

    bus.register_endpoint("svc.broken", broken, owner="svc")
    replies: list[Any] = []
    bus.request("svc.broken", 1, replies.append)
    assert owners == ["svc"]
    assert replies == []
