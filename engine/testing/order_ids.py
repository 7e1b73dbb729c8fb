"""Compare orders across runs whose sessions prefixed their client order ids differently.

A daemon session prefixes its ids with its own epoch (`session_order_prefix`), so the
same decision has another id in another run, or after a restart. `order_key` gives the
part that is the decision: the strategy's part and the order's number.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.domain.ids import session_order_prefix
from engine.events.system import SessionStarted

__all__ = ("order_key", "session_prefixes")


def session_prefixes(messages: Iterable[object]) -> tuple[str, ...]:
    """The id prefixes of the sessions among `messages` (journal messages, say)."""
    return tuple(session_order_prefix(m.order_id_epoch_ms) for m in messages
                 if isinstance(m, SessionStarted) and m.order_id_epoch_ms)


def order_key(client_order_id: str, prefixes: Iterable[str] = ()) -> tuple[str, int]:
    """(strategy part, order number) of an id: the same for the same decision in any run."""
    for prefix in prefixes:
        if client_order_id.startswith(prefix):
            name, _, number = client_order_id[len(prefix):].rpartition("-")
            return name, int(number, 36)
    name, _, number = client_order_id.rpartition("-")
    return name, int(number)
