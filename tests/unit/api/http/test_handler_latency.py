"""The metrics probe on a real MessageBus: what it times, what it never changes."""

from __future__ import annotations

from typing import Any

import pytest

from api.http.handler_latency import UNOWNED, GraphProbe, Histogram
from engine.bus import MessageBus


def counts(probe: GraphProbe) -> dict[str, int]:
    return {labels[0]: sum(buckets) for labels, (buckets, _) in probe.histogram.series.items()}


def test_probe_times_every_delivery_of_one_drain_in_n() -> None:
    bus = MessageBus()
    seen: list[tuple[str, int]] = []
    bus.subscribe("data.a", lambda m: seen.append(("first", m)), owner="first")
    bus.subscribe("data.a", lambda m: seen.append(("second", m)), owner="second")
    probe = GraphProbe(sample_every=3)
    bus.set_probe(probe)

    for number in range(9):
        bus.publish("data.a", number)

    assert counts(probe) == {"first": 3, "second": 3}  # drains 3, 6 and 9
    assert seen == [(who, n) for n in range(9) for who in ("first", "second")]


def test_probe_sees_single_handler_topics_the_fast_path_would_deliver_in_place() -> None:
    bus = MessageBus()
    seen: list[int] = []
    bus.subscribe("data.one", seen.append, owner="only")
    bus.set_probe(probe := GraphProbe(sample_every=1))

    bus.publish("data.one", 1)
    bus.publish("data.one", 2)

    assert seen == [1, 2]
    assert counts(probe) == {"only": 2}


def test_in_place_deliveries_count_towards_the_sample_and_the_due_one_is_timed_whole() -> None:
    # An input on a single-handler topic is delivered in place unless its drain is the
    # one due: then it goes the queued way, and what its handler publishes is timed too.
    bus = MessageBus()
    order: list[tuple[str, int]] = []

    def bars(message: int) -> None:
        order.append(("bars", message))
        if message % 2:
            bus.publish("data.follow", message)

    bus.subscribe("data.bars", bars, owner="bars")
    bus.subscribe("data.follow", lambda m: order.append(("follow", m)), owner="follow")
    bus.set_probe(probe := GraphProbe(sample_every=4))

    for number in range(1, 13):
        bus.publish("data.bars", number)

    # Timed: inputs 4, 8 and 12 (even: nothing follows), one drain in four.
    assert counts(probe) == {"bars": 3}
    assert order == [item for n in range(1, 13)
                     for item in [("bars", n), *([("follow", n)] if n % 2 else [])]]

    bus.set_probe(probe := GraphProbe(sample_every=3))
    for number in range(1, 4):  # input 3's drain is due: it and its follower are timed
        bus.publish("data.bars", number)
    assert counts(probe) == {"bars": 1, "follow": 1}


def test_a_probe_with_sample_every_below_one_is_refused_by_the_bus() -> None:
    class Broken:
        sample_every = 0

        def call(self, owner: str | None, handler: Any, message: Any) -> None:
            handler(message)

    with pytest.raises(ValueError, match="sample_every 0"):
        MessageBus().set_probe(Broken())


def test_probe_keeps_delivery_order_and_labels_unowned_handlers() -> None:
    def run(probe: GraphProbe | None) -> list[Any]:
        bus = MessageBus()
        order: list[Any] = []

        def first(message: int) -> None:
            order.append(("first", message))
            if message < 3:
                bus.publish("data.b", message + 10)

        bus.subscribe("data.a", first, owner="first")
        bus.subscribe("data.b", lambda m: order.append(("anonymous", m)))
        bus.set_probe(probe)
        for number in range(4):
            bus.publish("data.a", number)
        return order

    probe = GraphProbe(sample_every=1)

    assert run(probe) == run(None)
    assert counts(probe) == {"first": 4, UNOWNED: 3}


def test_probe_passes_a_handler_exception_to_the_error_policy_with_its_owner() -> None:
    failures: list[tuple[str | None, Any, str]] = []
    bus = MessageBus(error_handler=lambda owner, message, error:
                     failures.append((owner, message, str(error))))

    def broken(message: int) -> None:
        raise RuntimeError(f"bad {message}")

    bus.subscribe("data.a", broken, owner="strategy")
    bus.set_probe(probe := GraphProbe(sample_every=1))

    bus.publish("data.a", 7)

    assert failures == [("strategy", 7, "bad 7")]
    assert counts(probe) == {"strategy": 1}  # timed all the same


def test_set_probe_none_stops_the_timing() -> None:
    bus = MessageBus()
    bus.subscribe("data.a", lambda m: None, owner="a")
    probe = GraphProbe(sample_every=1)
    bus.set_probe(probe)
    bus.publish("data.a", 1)

    bus.set_probe(None)
    bus.publish("data.a", 2)

    assert bus.probe is None and counts(probe) == {"a": 1}


def test_sample_every_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="sample_every 0"):
        GraphProbe(sample_every=0)


def test_histogram_buckets_are_cumulative_with_inf_last() -> None:
    histogram = Histogram((0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 3.0):
        histogram.observe(("x",), value)

    family = histogram.family("tradebus_test_seconds", "test", ["label"])

    buckets = {s.labels["le"]: s.value for s in family.samples if s.name.endswith("_bucket")}
    assert buckets == {"0.1": 2, "1.0": 3, "+Inf": 4}
    assert [s.value for s in family.samples if s.name.endswith("_sum")] == [pytest.approx(3.65)]
