"""The bases every message derives from: frozen, tagged msgspec Structs.

Every message carries two integer nanosecond timestamps from the engine's clock or the
source: `ts_event` (when it happened at the source) and `ts_init` (when the engine made
it). Tags are explicit and stable (`tag="order.filled"`): renaming a class never changes
the wire or the journal. Schema evolution follows msgspec's rules: new fields get
defaults, types never change.
"""

from __future__ import annotations

import msgspec

__all__ = ("Command", "Event", "Message")


class Message(msgspec.Struct, frozen=True, kw_only=True, gc=False, tag_field="kind"):
    """Anything that travels on the bus. Never mutated: derive with `msgspec.structs.replace`."""

    ts_event: int
    ts_init: int


class Event(Message, frozen=True, kw_only=True, gc=False):
    """Something that happened (past tense: `OrderFilled`)."""


class Command(Message, frozen=True, kw_only=True, gc=False):
    """Something an actor is asked to do (imperative: `SubmitOrder`)."""
