"""The order state machine: which event may move an order from which state.

The table is the whole truth: the order manager applies an event only when
`next_status` returns a state, and counts and surfaces it otherwise. It is written for
what real venues do, not for what a simulator does:

- A cancel or modify is first *pending* (`order.pending_cancel`, `order.pending_update`
  when the command leaves) and the order keeps trading meanwhile: fills, an expiry or a
  rejection may arrive before the venue's answer. A cancel or modify rejection returns
  the order to the state it had before it went pending.
- A submit, cancel or modify that got no answer puts the order IN_DOUBT
  (`order.outcome_unknown`). Only an event built from a venue report leaves it: accepted,
  rejected, filled, canceled, expired, or a cancel/modify rejection (back to the state
  before the doubt). Nothing resubmits to find out.
- Fills after a cancel, an expiry or a rejection are booked (the venue matched the order
  before it processed our cancel: every exchange has this race). The order's status stays
  closed, unless the late fills complete it (FILLED).
- An order whose type the venue does not place is EMULATED: held in the engine by the
  order emulator, which cancels, modifies and expires it itself, and at its trigger
  releases it (RELEASED) as a plain order that then goes to the venue (SUBMITTED).
- Expiry may come straight from SUBMITTED (a GTD order that expired before its
  acknowledgement was read), and so may a rejection after acceptance.

`order.filled` is resolved to PARTIALLY_FILLED or FILLED by the caller, which knows the
quantities (see `status_after_fill`); the table only says a fill is allowed. Entries
whose value is `RESTORE` mean "the state the order had before it went pending or in
doubt" (`Order.previous_status`), with ACCEPTED when that state was SUBMITTED (the
venue's answer proves the order arrived).
"""

from __future__ import annotations

from typing import Final

from engine.domain.enums import OrderStatus as S

__all__ = ("RESTORE", "TRANSITIONS", "next_status", "restored_status", "status_after_fill")

RESTORE: Final = S.INITIALIZED
"""Marker value in TRANSITIONS: back to the state before the pending or in-doubt one.
(INITIALIZED is never a target otherwise, so it can stand for it.)"""

_OPEN: Final = (S.ACCEPTED, S.TRIGGERED, S.PARTIALLY_FILLED)
_PENDING: Final = (S.PENDING_CANCEL, S.PENDING_UPDATE)
# Every state in which the venue may hold the order: it may fill, expire or be rejected.
_AT_VENUE: Final = (S.SUBMITTED, *_OPEN, *_PENDING, S.IN_DOUBT)
# Closed states that the venue had the order in: a fill may still arrive late.
_LATE_FILL: Final = (S.CANCELED, S.EXPIRED, S.REJECTED)


def _table() -> dict[tuple[S, str], S]:
    table: dict[tuple[S, str], S] = {
        (S.INITIALIZED, "order.denied"): S.DENIED,
        (S.INITIALIZED, "order.submitted"): S.SUBMITTED,
        (S.INITIALIZED, "order.emulated"): S.EMULATED,
        (S.EMULATED, "order.released"): S.RELEASED,
        (S.EMULATED, "order.updated"): S.EMULATED,
        (S.EMULATED, "order.modify_rejected"): S.EMULATED,
        (S.EMULATED, "order.cancel_rejected"): S.EMULATED,
        (S.EMULATED, "order.canceled"): S.CANCELED,
        (S.EMULATED, "order.expired"): S.EXPIRED,
        (S.EMULATED, "order.rejected"): S.REJECTED,
        (S.RELEASED, "order.submitted"): S.SUBMITTED,
        (S.RELEASED, "order.denied"): S.DENIED,
        (S.SUBMITTED, "order.accepted"): S.ACCEPTED,
        (S.SUBMITTED, "order.triggered"): S.TRIGGERED,
        (S.ACCEPTED, "order.triggered"): S.TRIGGERED,
    }
    for state in (*_AT_VENUE, *_LATE_FILL):
        table[(state, "order.filled")] = state  # resolved by status_after_fill
    for state in _AT_VENUE:
        table[(state, "order.canceled")] = S.CANCELED
        table[(state, "order.expired")] = S.EXPIRED
        table[(state, "order.rejected")] = S.REJECTED
        table[(state, "order.outcome_unknown")] = S.IN_DOUBT
    for state in (S.SUBMITTED, *_OPEN, S.PENDING_UPDATE, S.IN_DOUBT):
        table[(state, "order.pending_cancel")] = S.PENDING_CANCEL
    for state in _OPEN:
        table[(state, "order.pending_update")] = S.PENDING_UPDATE
        # Answers to a modify or cancel that was not marked pending (or a repeat of one):
        # they change terms, not the state.
        table[(state, "order.updated")] = state
        table[(state, "order.modify_rejected")] = state
        table[(state, "order.cancel_rejected")] = state
        table[(state, "order.accepted")] = state  # a repeat (stream and REST both tell)
    table[(S.PENDING_CANCEL, "order.pending_cancel")] = S.PENDING_CANCEL
    table[(S.PENDING_CANCEL, "order.cancel_rejected")] = RESTORE
    # While a cancel is pending, other news keeps it pending (the record is updated).
    for kind in ("order.accepted", "order.triggered", "order.updated", "order.modify_rejected"):
        table[(S.PENDING_CANCEL, kind)] = S.PENDING_CANCEL
    table[(S.PENDING_UPDATE, "order.pending_update")] = S.PENDING_UPDATE
    table[(S.PENDING_UPDATE, "order.updated")] = RESTORE
    table[(S.PENDING_UPDATE, "order.modify_rejected")] = RESTORE
    for kind in ("order.accepted", "order.triggered", "order.cancel_rejected"):
        table[(S.PENDING_UPDATE, kind)] = S.PENDING_UPDATE
    for kind in ("order.accepted", "order.updated", "order.cancel_rejected",
                 "order.modify_rejected"):
        table[(S.IN_DOUBT, kind)] = RESTORE
    table[(S.IN_DOUBT, "order.triggered")] = S.TRIGGERED
    return table


TRANSITIONS: Final[dict[tuple[S, str], S]] = _table()


def next_status(status: S, event_kind: str, previous: S | None = None) -> S | None:
    """Return the state after `event_kind`, or None when the transition is illegal.

    `previous` is the state before the current pending or in-doubt one, for the
    transitions that restore it.
    """
    target = TRANSITIONS.get((status, event_kind))
    if target is RESTORE:
        return restored_status(previous)
    return target


def restored_status(previous: S | None) -> S:
    """The state a RESTORE transition leads to: `previous`, or ACCEPTED when there was
    none to go back to (or it was SUBMITTED: the venue's answer proves the order arrived)."""
    if previous is None or previous in (S.SUBMITTED, S.INITIALIZED, S.IN_DOUBT) or (
        previous in _PENDING
    ):
        return S.ACCEPTED
    return previous


_FILLED: Final = S.FILLED
_FILL_OPEN: Final = (S.SUBMITTED, *_OPEN)


def status_after_fill(status: S, complete: bool) -> S:
    """The state after a fill the table allowed: FILLED once complete; else an order at
    the venue is PARTIALLY_FILLED, except that a pending or in-doubt order stays so (its
    question is still open) and a late fill leaves a closed order closed."""
    if complete:
        return _FILLED
    if status in _FILL_OPEN:
        return S.PARTIALLY_FILLED
    return status
