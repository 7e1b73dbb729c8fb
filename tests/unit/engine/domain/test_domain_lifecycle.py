"""The order state machine table and the `Order` snapshot's derived values."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from engine.domain.enums import OrderSide, OrderStatus as S, OrderType
from engine.domain.lifecycle import TRANSITIONS, next_status
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
        (S.SUBMITTED, "order.filled", S.FILLED),
        (S.SUBMITTED, "order.canceled", S.CANCELED),
        (S.ACCEPTED, "order.triggered", S.TRIGGERED),
        (S.ACCEPTED, "order.filled", S.FILLED),
        (S.PARTIALLY_FILLED, "order.filled", S.FILLED),
        (S.TRIGGERED, "order.expired", S.EXPIRED),
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
        (S.ACCEPTED, "order.accepted"),
        (S.ACCEPTED, "order.submitted"),
        (S.SUBMITTED, "order.triggered"),
        (S.TRIGGERED, "order.triggered"),
        (S.SUBMITTED, "order.expired"),
        (S.PARTIALLY_FILLED, "order.rejected"),
        (S.ACCEPTED, "order.denied"),
    ],
)
def test_next_status_illegal_transition_gives_none(status: S, kind: str) -> None:
    assert next_status(status, kind) is None


@pytest.mark.parametrize("status", CLOSED)
@pytest.mark.parametrize("kind", ORDER_EVENT_KINDS)
def test_next_status_closed_state_accepts_nothing(status: S, kind: str) -> None:
    assert next_status(status, kind) is None


def test_transitions_use_only_known_order_event_kinds() -> None:
    assert {kind for _, kind in TRANSITIONS} <= set(ORDER_EVENT_KINDS)


def test_transitions_self_loops_are_only_updates_and_rejections() -> None:
    loops = {kind for (state, kind), after in TRANSITIONS.items() if state is after}
    assert loops == {"order.updated", "order.modify_rejected", "order.cancel_rejected"}


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
