"""One snapshot of a node's counters: the bus, each actor, the runtime parts and the taps.

Every part keeps its own counters behind `statistics()`; the API's status route and the
metrics collector want them all at one moment. `node_statistics` reads them in one go,
synchronously on the event loop, so no handler runs between two reads and the parts
agree with each other. The result is one Struct that `msgspec.json.encode` takes as is
(Decimals become strings).

Concrete topics multiply with instruments and strategies, so the snapshot counts bus
traffic by topic *family*, the first two segments (`data.bars`, `events.order`,
`system.actor`), and by endpoint (there are few of those).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypeAlias, runtime_checkable

import msgspec

from engine.actor import Actor
from engine.graph import TradingGraph
from engine.persistence.journal_schema import JournalStatistics
from engine.runtime.inbox import Inbox, InboxStatistics
from engine.runtime.outbound import DurableOutbox, OutboxStatistics
from engine.runtime.runner import LiveRunner, RunnerStatistics
from engine.runtime.snapshots import SnapshotStatistics
from engine.taps import TapStatistics

__all__ = (
    "ActorStatistics",
    "BusSummary",
    "NodeStatistics",
    "SupportsStatistics",
    "node_statistics",
    "topic_family",
)


@runtime_checkable
class SupportsStatistics(Protocol):
    """Anything that reports counters: a venue client, a feed, a recorder."""

    def statistics(self) -> Any: ...  # a Struct (or dict) of its own shape


class _JournalLike(Protocol):
    def statistics(self) -> JournalStatistics: ...


Named: TypeAlias = Mapping[str, SupportsStatistics] | Iterable[tuple[str, SupportsStatistics]]
"""Parts keyed by the name they are shown under: a dict, or (name, part) pairs."""

Builtins: TypeAlias = dict[str, Any]
"""A part's own statistics Struct as JSON builtins (its shape is the part's business)."""


class BusSummary(msgspec.Struct, frozen=True, kw_only=True):
    messages_published: int
    messages_handled: int
    handler_errors: int
    queue_depth: int
    topics: int
    """Distinct concrete topics published on so far."""
    topic_families: dict[str, int]
    endpoints: dict[str, int]


class ActorStatistics(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: str
    """The actor's class name (`RiskActor`, `SimVenue`, a strategy's class)."""
    state: str
    statistics: Builtins | None
    """The actor's own `statistics()`, for actors that have one."""


class NodeStatistics(msgspec.Struct, frozen=True, kw_only=True):
    bus: BusSummary
    actors: tuple[ActorStatistics, ...]
    """In start order: core actors, venues, strategies."""
    actor_faults: int
    taps: tuple[TapStatistics, ...]
    inbox: InboxStatistics | None = None
    runner: RunnerStatistics | None = None
    journal: JournalStatistics | None = None
    outbox: OutboxStatistics | None = None
    venues: dict[str, Builtins] = {}
    feeds: dict[str, Builtins] = {}
    snapshots: SnapshotStatistics | None = None
    """The node's snapshots (None when they are off)."""


def topic_family(topic: str) -> str:
    """The first two segments of `topic` (`data.bars.sim.btc_usdt.1m` -> `data.bars`)."""
    return ".".join(topic.split(".", 2)[:2])


def node_statistics(
    graph: TradingGraph,
    *,
    inbox: Inbox | None = None,
    runner: LiveRunner | None = None,
    journal: _JournalLike | None = None,
    outbox: DurableOutbox | None = None,
    venues: Named = (),
    feeds: Named = (),
    snapshots: SnapshotStatistics | None = None,
) -> NodeStatistics:
    """Read every part's counters now. Never blocks; call it on the graph's event loop.

    Args:
        graph: the node's graph (its bus, actors and taps).
        inbox, runner, journal, outbox: the live runtime's parts, where there are some.
        snapshots: the node's snapshot counters, when it takes snapshots.
        venues, feeds: adapters outside the graph's actors (venue clients, feeds),
            as a dict or (name, part) pairs; any object with `statistics()` will do.

    Raises:
        ValueError: two venues or two feeds share a name.
        TypeError: a part's `statistics()` is not a Struct or a dict.
    """
    bus = graph.bus.statistics()
    families: dict[str, int] = {}
    for topic, count in bus.topics.items():
        family = topic_family(topic)
        families[family] = families.get(family, 0) + count
    return NodeStatistics(
        bus=BusSummary(
            messages_published=bus.messages_published,
            messages_handled=bus.messages_handled,
            handler_errors=bus.handler_errors,
            queue_depth=bus.queue_depth,
            topics=len(bus.topics),
            topic_families=dict(sorted(families.items())),
            endpoints=bus.endpoints,
        ),
        actors=tuple(_actor_statistics(actor) for actor in graph.actors()),
        actor_faults=graph.faults,
        taps=tuple(tap.statistics() for tap in graph.bus.taps()),
        inbox=inbox.statistics() if inbox is not None else None,
        runner=runner.statistics() if runner is not None else None,
        journal=journal.statistics() if journal is not None else None,
        outbox=outbox.statistics() if outbox is not None else None,
        venues=_named_statistics("venue", venues),
        feeds=_named_statistics("feed", feeds),
        snapshots=snapshots,
    )


def _actor_statistics(actor: Actor) -> ActorStatistics:
    # Not every actor counts things (strategies rarely do): `statistics` is optional.
    read = getattr(actor, "statistics", None)
    return ActorStatistics(
        id=actor.id,
        kind=type(actor).__name__,
        state=str(actor.state),
        statistics=_builtins(f"actor {actor.id!r}", read()) if callable(read) else None,
    )


def _named_statistics(kind: str, parts: Named) -> dict[str, Builtins]:
    pairs = list(parts.items()) if isinstance(parts, Mapping) else list(parts)
    result: dict[str, Builtins] = {}
    for name, part in pairs:
        if name in result:
            raise ValueError(f"{kind} name {name!r}: used twice")
        counters = part.statistics()
        # A part with nothing to count yet (a feed before its task runs) says None.
        result[name] = {} if counters is None else _builtins(f"{kind} {name!r}", counters)
    return dict(sorted(result.items()))


def _builtins(owner: str, value: Any) -> Builtins:
    # Through JSON rather than `to_builtins` alone: tuples become lists, Decimals strings,
    # so the snapshot equals what an API client decodes from it.
    converted = msgspec.json.decode(msgspec.json.encode(value))
    if not isinstance(converted, dict):
        raise TypeError(
            f"statistics() of {owner}: must return a Struct or a dict, was {type(value).__name__}"
        )
    return converted
