"""OrderTracker: news in any order and any number of times gives each event once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from adapters.ccxt import OrderTracker
from engine.domain.enums import OrderSide, OrderType
from engine.events.base import Event
from engine.events.fills import OrderFilled
from engine.events.orders import (
    EXTERNAL_STRATEGY_ID,
    OrderAccepted,
    OrderCanceled,
    OrderRejected,
    SubmitOrder,
)
from tests.fakes.binance.ccxt_support import binance_instrument


def tracked(events: list[Event]) -> tuple[OrderTracker, Any]:
    tracker = OrderTracker("BINANCE", events.append, lambda: 7)
    command = SubmitOrder(strategy_id="s", client_order_id="c1",
                          instrument_id="BTC/USDT.BINANCE", side=OrderSide.BUY,
                          order_type=OrderType.LIMIT, quantity=Decimal("0.2"),
                          price=Decimal(90), ts_event=0, ts_init=0)
    return tracker, tracker.track(command, binance_instrument(), "c1")


def order(status: str = "open", filled: float = 0.0, venue_order_id: str = "11",
          client_id: str = "c1") -> dict[str, Any]:
    return {"id": venue_order_id, "clientOrderId": client_id, "status": status,
            "filled": filled, "side": "buy", "timestamp": 1_000}


def trade(trade_id: str, amount: float = 0.1, venue_order_id: str = "11") -> dict[str, Any]:
    return {"id": trade_id, "order": venue_order_id, "side": "buy", "amount": amount,
            "price": 90.0, "fee": {"cost": 0.009, "currency": "USDT"},
            "takerOrMaker": "maker", "timestamp": 2_000}


def kinds(events: list[Event]) -> list[str]:
    return [type(event).__name__ for event in events]


def test_trade_before_its_order_is_known_is_held_then_delivered_after_acceptance() -> None:
    events: list[Event] = []
    tracker, _ = tracked(events)

    tracker.on_trade(trade("t1"))
    held = list(events)
    tracker.on_order(order(filled=0.1))

    assert held == []
    assert kinds(events) == ["OrderAccepted", "OrderFilled"]
    assert events[1].ts_event == 2_000 * 1_000_000 and events[1].ts_init == 7


def test_the_same_trade_from_stream_answer_and_backstop_is_delivered_once() -> None:
    events: list[Event] = []
    tracker, tracked_order = tracked(events)
    tracker.on_order(order())

    for _ in range(3):
        tracker.on_trade(trade("t1"))

    assert kinds(events) == ["OrderAccepted", "OrderFilled"]
    assert tracker.duplicate_trades == 2
    assert tracked_order.filled == Decimal("0.1")


def test_cancel_waits_until_every_counted_fill_is_delivered() -> None:
    events: list[Event] = []
    tracker, tracked_order = tracked(events)
    tracker.on_order(order())

    tracker.on_order(order("canceled", filled=0.1))
    waiting = kinds(events)
    tracker.on_trade(trade("t1"))

    assert waiting == ["OrderAccepted"] and tracked_order.fills_missing is False
    assert kinds(events) == ["OrderAccepted", "OrderFilled", "OrderCanceled"]
    assert tracker.in_flight() == []


def test_replaced_leg_cancel_is_ignored_and_fills_add_up_across_legs() -> None:
    events: list[Event] = []
    tracker, tracked_order = tracked(events)
    tracker.on_order(order())
    tracker.on_trade(trade("t1"))
    tracked_order.replaced.add("11")
    tracker.add_leg(tracked_order, "c1.r1")

    tracker.on_order(order("canceled", filled=0.1))
    tracker.on_order(order(venue_order_id="12", client_id="c1.r1"))
    tracker.on_trade(trade("t2", venue_order_id="12"))

    assert kinds(events) == ["OrderAccepted", "OrderFilled", "OrderFilled"]
    assert tracked_order.venue_order_id == "12" and tracked_order.closed
    assert tracked_order.filled_before("12") == Decimal("0.1")


def test_rejection_after_acceptance_is_not_delivered() -> None:
    events: list[Event] = []
    tracker, tracked_order = tracked(events)
    tracker.on_order(order())

    tracker.reject(tracked_order, "late")

    assert [type(e) for e in events] == [OrderAccepted]
    assert not any(isinstance(e, OrderRejected | OrderCanceled | OrderFilled) for e in events)


def test_order_not_placed_this_session_is_tracked_from_its_first_news() -> None:
    events: list[Event] = []
    item = binance_instrument()
    tracker = OrderTracker("BINANCE", events.append, lambda: 7,
                           lambda symbol: item if symbol == "BTC/USDT" else None)

    tracker.on_trade(trade("t5", venue_order_id="40"))  # held: whose is it?
    tracker.on_order({**order(filled=0.3, venue_order_id="40", client_id="pre-1"),
                      "symbol": "BTC/USDT", "amount": 0.5, "price": 90.0, "type": "limit"})
    tracker.on_order({**order("canceled", filled=0.3, venue_order_id="40",
                              client_id="pre-1"), "symbol": "BTC/USDT"})

    assert kinds(events) == ["OrderFilled", "OrderCanceled"]  # no second acceptance
    fill = events[0]
    assert (fill.client_order_id, fill.strategy_id, fill.trade_id) == (  # type: ignore[attr-defined]
        "pre-1", EXTERNAL_STRATEGY_ID, "t5")  # the order manager knows whose it is
    assert tracker.adopted == 1 and tracker.in_flight() == []


def test_news_of_an_order_of_another_market_is_counted_not_delivered() -> None:
    events: list[Event] = []
    tracker, _ = tracked(events)

    tracker.on_order({**order(venue_order_id="99", client_id="web_abc"), "symbol": "ETH/BTC"})

    assert events == [] and tracker.foreign_updates == 1 and tracker.adopted == 0
