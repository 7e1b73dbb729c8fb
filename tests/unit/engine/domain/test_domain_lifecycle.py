"""The order state machine table and the `Order` snapshot's derived values."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from engine.domain.enums import OrderSide, OrderStatus as S, OrderType
from engine.domain.lifecycle import RESTORE, TRANSITIONS, next_status, status_after_fill
from engine.domain.order import Order
from engine.events.codec import MESSAGE_TYPES
from engine.events.orders import OrderEvent

ORDER_EVENT_KINDS = sorted(
    str(t.__struct_config__.tag) for t in MESSAGE_TYPES if issubclass(t, OrderEvent)
)
CLOSED = [S.DENIED, S.REJECTED, S.FILLED, S.CANCELED, S.EXPIRED]


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (S.INITIALIZED, "order.submitted", S.SUBMITTED),
        (S.INITIALIZED, "order.denied", S.DENIED),
        (S.SUBMITTED, "order.accepted", S.ACCEPTED),
        (S.SUBMITTED, "order.rejected", S.REJECTED),
        (S.SUBMITTED, "order.canceled", S.CANCELED),
        (S.SUBMITTED, "order.expired", S.EXPIRED),
        (S.SUBMITTED, "order.outcome_unknown", S.IN_DOUBT),
        (S.SUBMITTED, "order.pending_cancel", S.PENDING_CANCEL),
        (S.ACCEPTED, "order.triggered", S.TRIGGERED),
        (S.ACCEPTED, "order.rejected", S.REJECTED),
        (S.ACCEPTED, "order.pending_cancel", S.PENDING_CANCEL),
        (S.ACCEPTED, "order.pending_update", S.PENDING_UPDATE),
        (S.TRIGGERED, "order.expired", S.EXPIRED),
        (S.PENDING_CANCEL, "order.canceled", S.CANCELED),
        (S.PENDING_CANCEL, "order.expired", S.EXPIRED),
        (S.PENDING_UPDATE, "order.pending_cancel", S.PENDING_CANCEL),
        (S.PENDING_UPDATE, "order.canceled", S.CANCELED),
        (S.IN_DOUBT, "order.rejected", S.REJECTED),
        (S.IN_DOUBT, "order.canceled", S.CANCELED),
        (S.IN_DOUBT, "order.accepted", S.ACCEPTED),
        (S.PARTIALLY_FILLED, "order.canceled", S.CANCELED),
        (S.ACCEPTED, "order.updated", S.ACCEPTED),
        (S.TRIGGERED, "order.modify_rejected", S.TRIGGERED),
        (S.PARTIALLY_FILLED, "order.cancel_rejected", S.PARTIALLY_FILLED),
    ],
)
def test_next_status_legal_transition_gives_next_state(status: S, kind: str, expected: S) -> None:
    assert next_status(status, kind) is expected


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (S.INITIALIZED, "order.accepted"),
        (S.INITIALIZED, "order.filled"),
        (S.SUBMITTED, "order.submitted"),
        (S.ACCEPTED, "order.submitted"),
        (S.TRIGGERED, "order.triggered"),
        (S.ACCEPTED, "order.denied"),
        (S.SUBMITTED, "order.pending_update"),
        (S.SUBMITTED, "order.updated"),
        (S.IN_DOUBT, "order.pending_update"),
        (S.PENDING_CANCEL, "order.pending_update"),
        (S.CANCELED, "order.canceled"),
        (S.FILLED, "order.filled"),
        (S.DENIED, "order.filled"),
    ],
)
def test_next_status_illegal_transition_gives_none(status: S, kind: str) -> None:
    assert next_status(status, kind) is None


@pytest.mark.parametrize("status", [S.DENIED, S.FILLED])
@pytest.mark.parametrize("kind", ORDER_EVENT_KINDS)
def test_next_status_denied_and_filled_accept_nothing(status: S, kind: str) -> None:
    assert next_status(status, kind) is None


@pytest.mark.parametrize("status", [S.CANCELED, S.EXPIRED, S.REJECTED])
@pytest.mark.parametrize("kind", ORDER_EVENT_KINDS)
def test_next_status_closed_at_venue_takes_only_late_fills(status: S, kind: str) -> None:
    # The venue may have matched the order before it handled our cancel: that fill counts.
    expected = status if kind == "order.filled" else None
    assert next_status(status, kind) is expected


@pytest.mark.parametrize(
    ("status", "complete", "expected"),
    [
        (S.SUBMITTED, False, S.PARTIALLY_FILLED),
        (S.ACCEPTED, False, S.PARTIALLY_FILLED),
        (S.ACCEPTED, True, S.FILLED),
        (S.PENDING_CANCEL, False, S.PENDING_CANCEL),
        (S.IN_DOUBT, False, S.IN_DOUBT),
        (S.CANCELED, False, S.CANCELED),
        (S.CANCELED, True, S.FILLED),
    ],
)
def test_status_after_fill_keeps_open_questions_and_closed_orders(
    status: S, complete: bool, expected: S
) -> None:
    assert next_status(status, "order.filled") is not None
    assert status_after_fill(status, complete) is expected


@pytest.mark.parametrize(
    ("status", "kind", "previous", "expected"),
    [
        (S.PENDING_CANCEL, "order.cancel_rejected", S.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
        (S.PENDING_CANCEL, "order.cancel_rejected", S.TRIGGERED, S.TRIGGERED),
        (S.PENDING_UPDATE, "order.updated", S.ACCEPTED, S.ACCEPTED),
        (S.PENDING_UPDATE, "order.modify_rejected", S.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
        # A submit in doubt, answered: the venue's answer proves it arrived.
        (S.IN_DOUBT, "order.accepted", S.SUBMITTED, S.ACCEPTED),
        (S.IN_DOUBT, "order.cancel_rejected", S.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
        (S.IN_DOUBT, "order.cancel_rejected", None, S.ACCEPTED),
    ],
)
def test_next_status_answers_to_pending_and_doubt_restore_the_state_before(
    status: S, kind: str, previous: S | None, expected: S
) -> None:
    assert TRANSITIONS[(status, kind)] is RESTORE
    assert next_status(status, kind, previous) is expected


def test_transitions_use_only_known_order_event_kinds() -> None:
    assert {kind for _, kind in TRANSITIONS} <= set(ORDER_EVENT_KINDS)


def test_transitions_self_loops_are_only_news_that_keeps_the_state() -> None:
    loops = {kind for (state, kind), after in TRANSITIONS.items()
             if state is after and kind != "order.filled"}
    assert loops == {
        "order.updated", "order.modify_rejected", "order.cancel_rejected", "order.accepted",
        "order.triggered", "order.pending_cancel", "order.pending_update",
        "order.outcome_unknown",
    }


def test_transitions_never_target_initialized_except_as_restore_marker() -> None:
    restoring = {key for key, after in TRANSITIONS.items() if after is RESTORE}
    assert restoring and all(state in (S.PENDING_CANCEL, S.PENDING_UPDATE, S.IN_DOUBT)
                             for state, _ in restoring)


def test_closed_statuses_are_the_terminal_ones() -> None:
    assert [s for s in S if s.is_closed] == CLOSED


def make_order(**changes: object) -> Order:
    order = Order(client_order_id="c1", strategy_id="s1", instrument_id="BTC/USDT.SIM",
                  side=OrderSide.BUY, order_type=OrderType.LIMIT, quantity=Decimal("2"),
                  price=Decimal("100"))
    return msgspec.structs.replace(order, **changes)


def test_order_leaves_quantity_is_quantity_minus_filled() -> None:
    assert make_order(filled_quantity=Decimal("0.5")).leaves_quantity == Decimal("1.5")


@pytest.mark.parametrize(
    ("status", "is_open"),
    [(S.INITIALIZED, False), (S.SUBMITTED, True), (S.ACCEPTED, True),
     (S.PARTIALLY_FILLED, True), (S.TRIGGERED, True), *((s, False) for s in CLOSED)],
)
def test_order_is_open_between_submission_and_close(status: S, is_open: bool) -> None:
    assert make_order(status=status).is_open is is_open


def test_order_snapshot_is_frozen() -> None:
    with pytest.raises(AttributeError):
        make_order().status = S.FILLED  # type: ignore[misc]
