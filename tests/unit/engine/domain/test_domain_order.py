"""The order record: what readers ask of it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.domain.enums import OrderSide, OrderStatus, OrderType
from engine.domain.order import Order


@pytest.mark.parametrize("status", list(OrderStatus))
def test_is_open_is_submitted_and_not_closed_for_every_status(status: OrderStatus) -> None:
    order = Order(client_order_id="o", strategy_id="s", instrument_id="X.SIM",
                  side=OrderSide.BUY, order_type=OrderType.MARKET, quantity=Decimal(1),
                  status=status)

    assert order.is_open is (status is not OrderStatus.INITIALIZED and not status.is_closed)
