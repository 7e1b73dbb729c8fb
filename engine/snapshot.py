"""The snapshot protocol: each actor captures and restores its own state as a Struct.

A snapshot is a cache of what replaying the journal up to a point rebuilds (the node
stores them, `engine.persistence.snapshots`), never a pickle of the graph: every actor
that holds state says what it is (`snapshot_state`, a msgspec Struct of plain values)
and takes it back (`restore_state`) on a fresh instance that was built and started the
same way. What start-up wires (bus subscriptions, endpoints, timers, references to
other actors) is not in it: starting the fresh graph makes that again. An actor without
the protocol makes the graph unsnapshottable, so recovery replays in full.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

import msgspec

__all__ = ("Snapshotting", "counters_of", "set_counters")


@runtime_checkable
class Snapshotting(Protocol):
    """An actor whose state a snapshot can hold (its Struct type names how to decode it)."""

    snapshot_type: ClassVar[type[msgspec.Struct]]

    def snapshot_state(self) -> msgspec.Struct:
        """Everything this actor's future behaviour depends on, as plain values."""
        ...

    def restore_state(self, state: Any) -> None:
        """Take back what `snapshot_state` returned (on a fresh, started instance)."""
        ...


def counters_of(owner: object, names: tuple[str, ...]) -> dict[str, int]:
    """The integer counters `names` of `owner` (its statistics), for a snapshot."""
    return {name: int(getattr(owner, name)) for name in names}


def set_counters(owner: object, counters: dict[str, int], names: tuple[str, ...]) -> None:
    """Restore the counters `counters_of` read; a name this code does not know is refused."""
    unknown = sorted(set(counters) - set(names))
    if unknown:
        raise ValueError(f"snapshot of {type(owner).__name__}: unknown counters {unknown}")
    for name in names:
        setattr(owner, name, counters.get(name, 0))
