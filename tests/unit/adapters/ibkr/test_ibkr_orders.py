"""OrderRecords: a record is found again by permId, order id or orderRef, and re-keyed."""

from __future__ import annotations

from decimal import Decimal

from ib_async import Contract, Order, OrderStatus, Trade

from adapters.ibkr.orders import OrderRecord, OrderRecords
from engine.domain.enums import OrderSide, OrderType
from engine.events.orders import SubmitOrder

CLIENT_ID = 11


def placed(client_order_id: str = "c-1", order_id: int = 5) -> OrderRecord:
    command = SubmitOrder(strategy_id="s", client_order_id=client_order_id,
                          instrument_id="AAPL.IBKR", side=OrderSide.BUY,
                          order_type=OrderType.LIMIT, quantity=Decimal(1),
                          price=Decimal(100), ts_event=0, ts_init=0)
    return OrderRecord(command=command, order_id=order_id, contract=Contract(),
                       order=Order(orderId=order_id), quantity=Decimal(1),
                       price=Decimal(100), trigger_price=None)


def trade(**order_fields: object) -> Trade:
    return Trade(Contract(), Order(**order_fields), OrderStatus(status="Submitted"), [], [])


def test_first_news_of_an_order_by_order_id_teaches_its_perm_id() -> None:
    records = OrderRecords(CLIENT_ID)
    record = placed()
    records.add(record)

    found = records.rekey(trade(orderId=5, clientId=CLIENT_ID, permId=9001))

    assert found is record and record.perm_id == 9001
    assert records.find(None, "9001") is record and records.find("c-1", None) is record


def test_after_a_reconnect_a_new_trade_object_is_adopted_by_perm_id() -> None:
    records = OrderRecords(CLIENT_ID)
    record = placed()
    records.add(record)
    records.rekey(trade(orderId=5, clientId=CLIENT_ID, permId=9001))
    new_session = trade(orderId=5, clientId=CLIENT_ID, permId=9001)

    assert records.rekey(new_session) is record
    assert record.order is new_session.order  # what a cancel must send now


def test_another_clients_order_id_is_not_ours_but_its_order_ref_is() -> None:
    records = OrderRecords(CLIENT_ID)
    record = placed()
    records.add(record)

    assert records.rekey(trade(orderId=5, clientId=99, permId=7)) is None
    assert records.rekey(trade(orderId=0, clientId=0, permId=8, orderRef="c-1")) is record
    assert records.by_order_id(5) is record and record.perm_id == 8
