"""The order state machine: which event may move an order from which state.

The table is the whole truth: the order manager applies an event only when
`next_status` returns a state, and counts and surfaces it otherwise. Modify and
cancel rejections leave the state unchanged, so they are listed as self-loops.
"""

from __future__ import annotations

from typing import Final

from engine.domain.enums import OrderStatus as S

__all__ = ("TRANSITIONS", "next_status")

_OPEN_LIKE: Final = (S.ACCEPTED, S.TRIGGERED, S.PARTIALLY_FILLED)

# (state, event kind) -> next state. "order.filled" is resolved to PARTIALLY_FILLED or
# FILLED by the caller, which knows the quantities; the table says a fill is allowed.
TRANSITIONS: Final[dict[tuple[S, str], S]] = {
    (S.INITIALIZED, "order.denied"): S.DENIED,
    (S.INITIALIZED, "order.submitted"): S.SUBMITTED,
    (S.SUBMITTED, "order.accepted"): S.ACCEPTED,
    (S.SUBMITTED, "order.rejected"): S.REJECTED,
    (S.SUBMITTED, "order.canceled"): S.CANCELED,
    (S.SUBMITTED, "order.filled"): S.FILLED,
    **{(state, "order.filled"): S.FILLED for state in _OPEN_LIKE},
    **{(state, "order.canceled"): S.CANCELED for state in _OPEN_LIKE},
    **{(state, "order.expired"): S.EXPIRED for state in _OPEN_LIKE},
    **{(state, "order.updated"): state for state in _OPEN_LIKE},
    **{(state, "order.modify_rejected"): state for state in _OPEN_LIKE},
    **{(state, "order.cancel_rejected"): state for state in _OPEN_LIKE},
    (S.ACCEPTED, "order.triggered"): S.TRIGGERED,
}


def next_status(status: S, event_kind: str) -> S | None:
    """Return the state after `event_kind`, or None when the transition is illegal."""
    return TRANSITIONS.get((status, event_kind))
