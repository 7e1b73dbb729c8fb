"""The order manager through a real bus and clock, with a stub venue at the edge."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from engine.actors.orders import OrderManager
from engine.actors.retention import RetentionConfig
from engine.bus import MessageBus
from engine.clock import SimClock
from engine.domain.enums import LiquiditySide, OrderSide, OrderStatus, OrderType
from engine.events.base import Message
from engine.events.fills import OrderFilled
from engine.events.orders import (
    EXTERNAL_STRATEGY_ID,
    CancelOrder,
    ExternalOrderAdopted,
    ModifyOrder,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderExpired,
    OrderModifyRejected,
    OrderOutcomeUnknown,
    OrderRejected,
    OrderSubmitted,
    OrderTriggered,
    OrderUpdated,
    SubmitOrder,
)
from engine.events.system import ActorStarted, OrderTransitionRejected, TimerFired
from engine.topics import (
    ALL_EVENTS,
    ALL_SYSTEM,
    ORDERS_EXECUTE,
    ORDERS_PROCESS,
    order_topic,
    system_topic,
    venue_endpoint,
)

BTC = "BTC/USDT.SIM"
ETH = "ETH/USDT.SIM"


class Harness:
    """A started OrderManager, a venue stub that records commands, and event recorders."""

    def __init__(self) -> None:
        self.bus = MessageBus()
        self.clock = SimClock(start_ns=1_000)
        self.manager = OrderManager()
        self.manager.register(self.bus, self.clock)
        self.log: list[tuple[str, Any]] = []  # everything, in delivery order
        self.commands: list[Message] = []
        self.events: list[Message] = []
        self.system: list[Message] = []
        self.bus.register_endpoint(venue_endpoint("SIM"), self._venue)
        self.bus.subscribe(ALL_EVENTS, self._event)
        self.bus.subscribe(ALL_SYSTEM, self._system)
        self._trades = 0
        self.manager.start()
        self.system.clear()
        self.log.clear()

    def _venue(self, command: Message) -> None:
        self.commands.append(command)
        self.log.append(("venue", command))

    def _event(self, event: Message) -> None:
        self.events.append(event)
        self.log.append(("event", event))

    def _system(self, event: Message) -> None:
        self.system.append(event)
        self.log.append(("system", event))

    def submit(self, client_order_id: str = "c1", **fields: Any) -> SubmitOrder:
        values: dict[str, Any] = {
            "strategy_id": "s1", "instrument_id": BTC, "side": OrderSide.BUY,
            "order_type": OrderType.LIMIT, "quantity": Decimal("3"), "price": Decimal("100"),
        }
        values.update(fields)
        now = self.clock.timestamp_ns()
        command = SubmitOrder(client_order_id=client_order_id, ts_event=now, ts_init=now,
                              **values)
        self.bus.send(ORDERS_EXECUTE, command)
        return command

    def venue_event(self, event_type: type[Message], client_order_id: str = "c1",
                    **fields: Any) -> Message:
        now = self.clock.timestamp_ns()
        values: dict[str, Any] = {"strategy_id": "s1", "instrument_id": BTC}
        values.update(fields)
        event = event_type(client_order_id=client_order_id, ts_event=now, ts_init=now, **values)
        self.bus.send(ORDERS_PROCESS, event)
        return event

    def fill(self, quantity: str, price: str, client_order_id: str = "c1",
             trade_id: str | None = None) -> Message:
        self._trades += 1
        if trade_id is None:
            trade_id = f"t{self._trades}"
        return self.venue_event(
            OrderFilled, client_order_id, venue_order_id="v1", trade_id=trade_id,
            side=OrderSide.BUY, last_quantity=Decimal(quantity), last_price=Decimal(price),
            commission=Decimal("0"), commission_currency="USDT",
            liquidity_side=LiquiditySide.TAKER,
        )

    def rejections(self) -> list[OrderTransitionRejected]:
        return [m for m in self.system if isinstance(m, OrderTransitionRejected)]


@pytest.fixture
def harness() -> Harness:
    return Harness()


def kinds(messages: list[Message]) -> list[str]:
    return [type(m).__name__ for m in messages]


# -- submission ---------------------------------------------------------------------------------


def test_submit_publishes_order_submitted_then_routes_command(harness: Harness) -> None:
    command = harness.submit()
    submitted = OrderSubmitted(strategy_id="s1", client_order_id="c1", instrument_id=BTC,
                               venue="SIM", ts_event=1_000, ts_init=1_000)
    assert harness.log == [("event", submitted), ("venue", command)]
    order = harness.manager.order("c1")
    assert order is not None and order.status is OrderStatus.SUBMITTED and order.is_open
    stats = harness.manager.statistics()
    assert (stats.orders, stats.open_orders, stats.submitted) == (1, 1, 1)


def test_submit_publishes_on_the_strategy_order_topic(harness: Harness) -> None:
    seen: list[Message] = []
    harness.bus.subscribe(order_topic("s2"), seen.append)
    harness.submit(strategy_id="s2")
    assert kinds(seen) == ["OrderSubmitted"]


def test_submit_unknown_venue_publishes_order_denied_no_venue(harness: Harness) -> None:
    harness.submit(instrument_id="AAPL.NASDAQ")
    assert harness.commands == []
    assert len(harness.events) == 1
    denied = harness.events[0]
    assert isinstance(denied, OrderDenied)
    assert denied.reason.startswith("no_venue")
    assert (denied.quantity, denied.price) == (Decimal("3"), Decimal("100"))
    order = harness.manager.order("c1")
    assert order is not None and order.status is OrderStatus.DENIED and not order.is_open
    assert order.reason == denied.reason
    stats = harness.manager.statistics()
    assert (stats.denied, stats.submitted, stats.open_orders) == (1, 0, 0)


def test_submit_duplicate_client_order_id_is_counted_and_not_routed(harness: Harness) -> None:
    harness.submit()
    harness.submit(quantity=Decimal("9"))
    assert kinds(harness.events) == ["OrderSubmitted"]
    assert len(harness.commands) == 1
    assert harness.manager.statistics().illegal_transitions == 1
    assert harness.rejections() == [
        OrderTransitionRejected(client_order_id="c1", from_state="submitted",
                                event_kind="command.submit_order", ts_event=1_000,
                                ts_init=1_000)
    ]
    order = harness.manager.order("c1")
    assert order is not None and order.quantity == Decimal("3")


def test_denial_from_risk_for_new_order_is_recorded_and_published(harness: Harness) -> None:
    harness.venue_event(OrderDenied, side=OrderSide.SELL, order_type=OrderType.MARKET,
                        quantity=Decimal("1"), reason="max_notional")
    assert kinds(harness.events) == ["OrderDenied"]
    order = harness.manager.order("c1")
    assert order is not None and order.status is OrderStatus.DENIED
    assert order.reason == "max_notional"
    assert harness.manager.statistics().denied == 1


# -- venue events ------------------------------------------------------------------------------


def test_venue_events_accept_partial_fills_and_fill_track_quantities(harness: Harness) -> None:
    harness.submit()
    harness.clock.advance_to(2_000)
    harness.venue_event(OrderAccepted, venue_order_id="v1")
    harness.fill("1", "100", trade_id="t1")
    order = harness.manager.order("c1")
    assert order is not None
    assert (order.status, order.venue_order_id) == (OrderStatus.PARTIALLY_FILLED, "v1")
    assert (order.filled_quantity, order.leaves_quantity) == (Decimal("1"), Decimal("2"))
    harness.fill("2", "101.5", trade_id="t2")
    order = harness.manager.order("c1")
    assert order is not None and order.status is OrderStatus.FILLED
    assert order.filled_quantity == Decimal("3") and order.leaves_quantity == 0
    assert order.average_fill_price == Decimal("101")  # (1*100 + 2*101.5) / 3
    assert order.ts_last == 2_000
    assert kinds(harness.events) == ["OrderSubmitted", "OrderAccepted", "OrderFilled",
                                     "OrderFilled"]
    assert harness.manager.open_orders() == []
    stats = harness.manager.statistics()
    assert (stats.fills, stats.open_orders, stats.illegal_transitions) == (2, 0, 0)


def test_fill_straight_from_submitted_is_allowed(harness: Harness) -> None:
    harness.submit(quantity=Decimal("1"))
    harness.fill("1", "99")
    order = harness.manager.order("c1")
    assert order is not None and order.status is OrderStatus.FILLED


def test_venue_reject_closes_order_with_reason(harness: Harness) -> None:
    harness.submit()
    harness.venue_event(OrderRejected, reason="insufficient balance")
    order = harness.manager.order("c1")
    assert order is not None and order.status is OrderStatus.REJECTED
    assert order.reason == "insufficient balance"
    assert harness.manager.statistics().rejected == 1


def test_stop_limit_triggered_then_expired(harness: Harness) -> None:
    harness.submit(order_type=OrderType.STOP_LIMIT, trigger_price=Decimal("99"))
    harness.venue_event(OrderAccepted, venue_order_id="v1")
    harness.venue_event(OrderTriggered)
    order = harness.manager.order("c1")
    assert order is not None and order.status is OrderStatus.TRIGGERED and order.is_open
    harness.venue_event(OrderExpired)
    order = harness.manager.order("c1")
    assert order is not None and order.status is OrderStatus.EXPIRED


def test_order_updated_changes_quantity_and_price_keeps_state(harness: Harness) -> None:
    harness.submit()
    harness.venue_event(OrderAccepted, venue_order_id="v1")
    harness.fill("1", "100")
    harness.venue_event(OrderUpdated, quantity=Decimal("5"), price=Decimal("99"))
    order = harness.manager.order("c1")
    assert order is not None
    assert (order.status, order.quantity, order.price) == (
        OrderStatus.PARTIALLY_FILLED, Decimal("5"), Decimal("99"))
    assert order.trigger_price is None  # left as None: kept


@pytest.mark.parametrize(("filled", "new_quantity"), [("2", "1"), ("0", "0"), ("0", "-1")])
def test_order_updated_below_filled_or_non_positive_quantity_is_illegal(
    harness: Harness, filled: str, new_quantity: str
) -> None:
    harness.submit()
    harness.venue_event(OrderAccepted, venue_order_id="v1")
    if filled != "0":
        harness.fill(filled, "100")
    harness.venue_event(OrderUpdated, quantity=Decimal(new_quantity))
    order = harness.manager.order("c1")
    assert order is not None and order.quantity == Decimal("3")
    stats = harness.manager.statistics()
    # Below the filled quantity breaks the lifecycle; a non-positive one is malformed.
    assert (stats.illegal_transitions, stats.invalid_events) == (
        (1, 0) if Decimal(new_quantity) > 0 else (0, 1))
    assert "OrderUpdated" not in kinds(harness.events)


# -- illegal transitions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "from_state", "event_kind"),
    [
        ("accept_as_another_order", "accepted", "order.accepted"),
        ("update_before_accept", "submitted", "order.updated"),
        ("trigger_twice", "triggered", "order.triggered"),
        ("cancel_rejected_before_accept", "submitted", "order.cancel_rejected"),
    ],
)
def test_illegal_transition_not_published_counted_and_surfaced(
    harness: Harness, scenario: str, from_state: str, event_kind: str
) -> None:
    harness.submit()
    if scenario in ("accept_as_another_order", "trigger_twice"):
        harness.venue_event(OrderAccepted, venue_order_id="v1")
    if scenario == "trigger_twice":
        harness.venue_event(OrderTriggered)
    published_before = list(harness.events)
    if scenario == "accept_as_another_order":
        harness.venue_event(OrderAccepted, venue_order_id="v2")
    elif scenario == "update_before_accept":
        harness.venue_event(OrderUpdated, quantity=Decimal("2"))
    elif scenario == "trigger_twice":
        harness.venue_event(OrderTriggered)
    else:
        harness.venue_event(OrderCancelRejected, reason="no")
    assert harness.events == published_before
    assert harness.manager.statistics().illegal_transitions == 1
    rejected = harness.rejections()
    assert [(r.client_order_id, r.from_state, r.event_kind) for r in rejected] == [
        ("c1", from_state, event_kind)
    ]
    order = harness.manager.order("c1")
    assert order is not None and str(order.status) == from_state


@pytest.mark.parametrize(
    ("scenario", "fields"),
    [
        ("zero_fill", {"last_quantity": Decimal("0")}),
        ("negative_fill", {"last_quantity": Decimal("-1")}),
        ("nan_fill", {"last_quantity": Decimal("NaN")}),
        ("infinite_price", {"last_price": Decimal("Infinity")}),
        ("zero_price", {"last_price": Decimal("0")}),
        ("nan_commission", {"commission": Decimal("NaN")}),
        ("overfill", {"last_quantity": Decimal("4")}),
        ("unknown_instrument", {"instrument_id": "DOGE/USDT.SIM"}),
    ],
)
def test_malformed_fill_is_counted_logged_and_never_booked_or_raised(
    scenario: str, fields: dict[str, Any]
) -> None:
    from engine.events.market import Instrument
    from engine.instruments import InstrumentRegistry

    bus = MessageBus()
    manager = OrderManager(instruments=InstrumentRegistry([Instrument(
        instrument_id=BTC, symbol="BTC/USDT", venue="SIM", base_currency="BTC",
        quote_currency="USDT", price_increment=Decimal("0.01"), size_increment=Decimal("0.001"),
        ts_event=0, ts_init=0)]))
    manager.register(bus, SimClock(start_ns=1))
    seen: list[Message] = []
    bus.subscribe(ALL_EVENTS, seen.append)
    bus.register_endpoint(venue_endpoint("SIM"), lambda command: None)
    manager.start()
    bus.send(ORDERS_EXECUTE, SubmitOrder(strategy_id="s1", client_order_id="c1",
                                         instrument_id=BTC, side=OrderSide.BUY,
                                         order_type=OrderType.MARKET, quantity=Decimal("3"),
                                         ts_event=1, ts_init=1))
    values: dict[str, Any] = {
        "strategy_id": "s1", "client_order_id": "c1", "instrument_id": BTC,
        "venue_order_id": "v1", "trade_id": "t1", "side": OrderSide.BUY,
        "last_quantity": Decimal("1"), "last_price": Decimal("100"),
        "commission": Decimal("0"), "commission_currency": "USDT",
        "liquidity_side": LiquiditySide.TAKER, "ts_event": 1, "ts_init": 1,
    }
    values.update(fields)
    bus.send(ORDERS_PROCESS, OrderFilled(**values))
    assert not any(isinstance(m, OrderFilled) for m in seen)
    stats = manager.statistics()
    assert (stats.invalid_events, stats.fills, stats.illegal_transitions) == (1, 0, 0)
    # A valid fill with the same trade id afterwards is still booked: the refusal kept nothing.
    values.update({"last_quantity": Decimal("1"), "last_price": Decimal("100"),
                   "commission": Decimal("0"), "instrument_id": BTC})
    bus.send(ORDERS_PROCESS, OrderFilled(**values))
    assert manager.statistics().fills == 1


def test_illegal_transition_surfaces_on_system_orders_topic(harness: Harness) -> None:
    seen: list[Message] = []
    harness.bus.subscribe(system_topic("orders"), seen.append)
    harness.submit()
    harness.venue_event(OrderModifyRejected, reason="no")
    assert kinds(seen) == ["OrderTransitionRejected"]


def test_event_for_unknown_order_counted_separately_and_surfaced(harness: Harness) -> None:
    harness.venue_event(OrderAccepted, "ghost", venue_order_id="v9")
    assert harness.events == []
    stats = harness.manager.statistics()
    assert (stats.unknown_order_events, stats.illegal_transitions, stats.orders) == (1, 0, 0)
    assert [(r.client_order_id, r.from_state, r.event_kind) for r in harness.rejections()] == [
        ("ghost", "unknown", "order.accepted")
    ]


def test_process_non_order_event_is_counted_not_raised(harness: Harness) -> None:
    harness.bus.send(ORDERS_PROCESS, TimerFired(name="x", owner="y", ts_event=0, ts_init=0))
    assert harness.manager.statistics().invalid_events == 1
    assert harness.events == []


# -- cancel and modify -------------------------------------------------------------------------


def test_cancel_unknown_order_publishes_cancel_rejected_on_strategy_topic(
    harness: Harness,
) -> None:
    seen: list[Message] = []
    harness.bus.subscribe(order_topic("s7"), seen.append)
    harness.bus.send(ORDERS_EXECUTE, CancelOrder(strategy_id="s7", client_order_id="nope",
                                                 instrument_id=BTC, ts_event=1, ts_init=1))
    assert seen == [OrderCancelRejected(strategy_id="s7", client_order_id="nope",
                                        instrument_id=BTC, reason="order is not open",
                                        ts_event=1_000, ts_init=1_000)]
    assert harness.commands == []
    assert harness.manager.statistics().illegal_transitions == 0


def test_cancel_closed_order_is_refused(harness: Harness) -> None:
    harness.submit(quantity=Decimal("1"))
    harness.fill("1", "100")
    harness.bus.send(ORDERS_EXECUTE, CancelOrder(strategy_id="s1", client_order_id="c1",
                                                 instrument_id=BTC, ts_event=1, ts_init=1))
    assert kinds(harness.events)[-1] == "OrderCancelRejected"
    assert kinds(harness.commands) == ["SubmitOrder"]


def test_modify_unknown_order_publishes_modify_rejected(harness: Harness) -> None:
    harness.bus.send(ORDERS_EXECUTE, ModifyOrder(strategy_id="s1", client_order_id="nope",
                                                 instrument_id=BTC, price=Decimal("1"),
                                                 ts_event=1, ts_init=1))
    assert kinds(harness.events) == ["OrderModifyRejected"]
    assert isinstance(harness.events[0], OrderModifyRejected)
    assert harness.events[0].reason == "order is not open"


def test_cancel_and_modify_open_order_are_routed_to_its_venue(harness: Harness) -> None:
    harness.submit()
    harness.venue_event(OrderAccepted, venue_order_id="v1")
    cancel = CancelOrder(strategy_id="s1", client_order_id="c1", instrument_id=BTC,
                         ts_event=1, ts_init=1)
    modify = ModifyOrder(strategy_id="s1", client_order_id="c1", instrument_id=BTC,
                         quantity=Decimal("2"), ts_event=1, ts_init=1)
    harness.bus.send(ORDERS_EXECUTE, modify)
    harness.bus.send(ORDERS_EXECUTE, cancel)
    assert harness.commands[1:] == [modify, cancel]
    # Each left marked pending, the cancel after the modify.
    assert kinds(harness.events)[-2:] == ["OrderPendingUpdate", "OrderPendingCancel"]
    order = harness.manager.order("c1")
    assert order is not None and order.status is OrderStatus.PENDING_CANCEL
    assert order.previous_status is OrderStatus.ACCEPTED


# -- reads ------------------------------------------------------------------------------------


def test_open_orders_filter_by_strategy_and_instrument_in_creation_order(
    harness: Harness,
) -> None:
    harness.submit("a", strategy_id="s1", instrument_id=BTC)
    harness.submit("b", strategy_id="s2", instrument_id=BTC)
    harness.submit("c", strategy_id="s1", instrument_id=ETH)
    harness.submit("d", strategy_id="s1", instrument_id=BTC, quantity=Decimal("1"))
    harness.fill("1", "100", client_order_id="d")

    def ids(orders: list[Any]) -> list[str]:
        return [o.client_order_id for o in orders]

    assert ids(harness.manager.open_orders()) == ["a", "b", "c"]
    assert ids(harness.manager.open_orders(strategy_id="s1")) == ["a", "c"]
    assert ids(harness.manager.open_orders(instrument_id=BTC)) == ["a", "b"]
    assert ids(harness.manager.open_orders(strategy_id="s1", instrument_id=ETH)) == ["c"]
    assert ids(harness.manager.orders(strategy_id="s1")) == ["a", "c", "d"]
    assert harness.manager.order("missing") is None


def test_start_registers_endpoints_and_stop_removes_them(harness: Harness) -> None:
    assert harness.bus.has_endpoint(ORDERS_EXECUTE) and harness.bus.has_endpoint(ORDERS_PROCESS)
    harness.manager.stop()
    assert not harness.bus.has_endpoint(ORDERS_EXECUTE)
    assert not harness.bus.has_endpoint(ORDERS_PROCESS)


def test_start_publishes_actor_started_for_the_manager() -> None:
    bus = MessageBus()
    system: list[Message] = []
    bus.subscribe(ALL_SYSTEM, system.append)
    manager = OrderManager("om")
    manager.register(bus, SimClock())
    manager.start()
    assert system == [ActorStarted(actor_id="om", ts_event=0, ts_init=0)]


# -- what real venues do -------------------------------------------------------------------------


def test_fill_after_cancel_is_booked_and_published(harness: Harness) -> None:
    harness.submit()
    harness.venue_event(OrderAccepted, venue_order_id="v1")
    harness.venue_event(OrderCanceled)
    harness.fill("1", "100")
    assert kinds(harness.events)[-1] == "OrderFilled"
    order = harness.manager.order("c1")
    assert order is not None
    assert (order.status, order.filled_quantity) == (OrderStatus.CANCELED, Decimal("1"))
    assert harness.manager.statistics().late_fills == 1


def test_late_fills_completing_a_canceled_order_make_it_filled(harness: Harness) -> None:
    harness.submit()
    harness.venue_event(OrderAccepted, venue_order_id="v1")
    harness.venue_event(OrderExpired)
    harness.fill("3", "100")
    order = harness.manager.order("c1")
    assert order is not None and order.status is OrderStatus.FILLED


def test_same_trade_id_twice_is_booked_once_and_counted(harness: Harness) -> None:
    harness.submit()
    harness.venue_event(OrderAccepted, venue_order_id="v1")
    harness.fill("1", "100", trade_id="T-7")
    harness.fill("1", "100", trade_id="T-7")
    assert kinds(harness.events).count("OrderFilled") == 1
    stats = harness.manager.statistics()
    assert (stats.fills, stats.duplicate_fills, stats.illegal_transitions) == (1, 1, 0)
    order = harness.manager.order("c1")
    assert order is not None and order.filled_quantity == Decimal("1")
    assert harness.manager.booked_trade_ids("c1") == ("T-7",)


def test_expiry_straight_from_submitted_and_rejection_after_acceptance(harness: Harness) -> None:
    harness.submit("a")
    harness.venue_event(OrderExpired, "a")
    harness.submit("b")
    harness.venue_event(OrderAccepted, "b", venue_order_id="vb")
    harness.venue_event(OrderRejected, "b", reason="margin call")
    a, b = harness.manager.order("a"), harness.manager.order("b")
    assert a is not None and a.status is OrderStatus.EXPIRED
    assert b is not None and (b.status, b.reason) == (OrderStatus.REJECTED, "margin call")


def test_event_named_by_venue_order_id_only_finds_its_order(harness: Harness) -> None:
    harness.submit()
    harness.venue_event(OrderAccepted, venue_order_id="v1")
    harness.fill("1", "100", client_order_id="", trade_id="T-1")
    [fill] = [e for e in harness.events if isinstance(e, OrderFilled)]
    assert (fill.client_order_id, fill.strategy_id) == ("c1", "s1")
    order = harness.manager.order_by_venue_id("v1")
    assert order is not None and order.filled_quantity == Decimal("1")


def test_cancel_replace_links_old_and_new_venue_order_ids(harness: Harness) -> None:
    harness.submit()
    harness.venue_event(OrderAccepted, venue_order_id="v1")
    harness.venue_event(OrderUpdated, quantity=Decimal("2"), price=Decimal("99"),
                        venue_order_id="v2")
    order = harness.manager.order("c1")
    assert order is not None and order.venue_order_id == "v2"
    old, new = harness.manager.order_by_venue_id("v1"), harness.manager.order_by_venue_id("v2")
    assert old is not None and new is not None and old.client_order_id == "c1" == \
        new.client_order_id
    # A late fill under the old venue id still reaches the order.
    harness.fill("1", "100", client_order_id="", trade_id="T-old")
    order = harness.manager.order("c1")
    assert order is not None and order.filled_quantity == Decimal("1")


def test_external_order_is_adopted_under_the_reserved_strategy(harness: Harness) -> None:
    harness.venue_event(ExternalOrderAdopted, "", strategy_id="", venue_order_id="X-1",
                        side=OrderSide.SELL, order_type=OrderType.LIMIT,
                        quantity=Decimal("2"), price=Decimal("105"))
    harness.venue_event(OrderFilled, "", strategy_id="", venue_order_id="X-1", trade_id="T-x",
                        side=OrderSide.SELL, last_quantity=Decimal("2"),
                        last_price=Decimal("105"), commission=Decimal("0"),
                        commission_currency="USDT", liquidity_side=LiquiditySide.MAKER)
    order = harness.manager.order_by_venue_id("X-1")
    assert order is not None
    assert (order.strategy_id, order.status, order.filled_quantity) == (
        EXTERNAL_STRATEGY_ID, OrderStatus.FILLED, Decimal("2"))
    fills = [e for e in harness.events if isinstance(e, OrderFilled)]
    assert [f.strategy_id for f in fills] == [EXTERNAL_STRATEGY_ID]
    assert harness.manager.statistics().external_orders == 1


def test_fill_of_an_order_nobody_placed_is_adopted_and_booked(harness: Harness) -> None:
    harness.fill("1", "100", client_order_id="web-123", trade_id="T-a")
    harness.venue_event(OrderFilled, "web-123", venue_order_id="v1", trade_id="T-b",
                        side=OrderSide.BUY, last_quantity=Decimal("2"),
                        last_price=Decimal("101"), commission=Decimal("0"),
                        commission_currency="USDT", liquidity_side=LiquiditySide.TAKER)
    order = harness.manager.order("web-123")
    assert order is not None and order.strategy_id == EXTERNAL_STRATEGY_ID
    # Its size is not known: it follows the fills, and nothing is refused as an overfill.
    assert (order.quantity, order.filled_quantity) == (Decimal("3"), Decimal("3"))
    assert kinds(harness.events) == ["ExternalOrderAdopted", "OrderFilled", "OrderFilled"]


@pytest.mark.parametrize("operation", ["submit", "cancel"])
def test_in_doubt_order_is_left_only_by_a_venue_answer(harness: Harness, operation: str) -> None:
    harness.submit()
    if operation == "cancel":
        harness.venue_event(OrderAccepted, venue_order_id="v1")
        harness.fill("1", "100")
    harness.venue_event(OrderOutcomeUnknown, operation=operation, reason="timeout")
    order = harness.manager.order("c1")
    assert order is not None and order.status is OrderStatus.IN_DOUBT and order.is_open
    assert order.reason.startswith(f"{operation} outcome unknown")
    # A fill while in doubt is booked, and the question stays open.
    harness.fill("1", "100")
    order = harness.manager.order("c1")
    assert order is not None and order.status is OrderStatus.IN_DOUBT
    if operation == "submit":
        harness.venue_event(OrderAccepted, venue_order_id="v1")
    else:
        harness.venue_event(OrderCancelRejected, reason="still working at the venue")
    order = harness.manager.order("c1")
    assert order is not None and order.status is OrderStatus.PARTIALLY_FILLED
    assert harness.commands == [harness.commands[0]]  # nothing was resubmitted


def test_repeated_terminal_event_is_a_counted_duplicate_not_an_illegal_transition(
    harness: Harness,
) -> None:
    harness.submit()
    harness.venue_event(OrderAccepted, venue_order_id="v1")
    harness.venue_event(OrderCanceled)
    harness.venue_event(OrderCanceled)
    stats = harness.manager.statistics()
    assert (stats.duplicate_events, stats.illegal_transitions) == (1, 0)


# -- retention (the daemon's bounded history; engine.actors.retention) ---------------------------


def retaining(closed_orders: int = 2, horizon_s: float = 0.0) -> Harness:
    harness = Harness()
    harness.manager.retain(RetentionConfig(closed_orders=closed_orders,
                                           late_fill_horizon_s=horizon_s))
    return harness


def trade_once(harness: Harness, client_order_id: str, *, at_ns: int | None = None) -> Message:
    """Submit, accept and fully fill one 3-lot order; return its fill."""
    if at_ns is not None:
        harness.clock.advance_to(at_ns)
    harness.submit(client_order_id)
    harness.venue_event(OrderAccepted, client_order_id, venue_order_id=f"v-{client_order_id}")
    return harness.venue_event(
        OrderFilled, client_order_id, venue_order_id=f"v-{client_order_id}",
        trade_id=f"t-{client_order_id}", side=OrderSide.BUY, last_quantity=Decimal("3"),
        last_price=Decimal("100"), commission=Decimal("0"), commission_currency="USDT",
        liquidity_side=LiquiditySide.TAKER,
    )


def booked(harness: Harness) -> list[str]:
    return [e.trade_id for e in harness.events if isinstance(e, OrderFilled)]


def test_retention_lets_go_of_the_oldest_closed_orders_and_their_trade_ids() -> None:
    harness = retaining(closed_orders=2)
    harness.submit("open")  # never filled: open orders are always kept

    for name in ("a", "b", "c", "d"):
        trade_once(harness, name)

    manager = harness.manager
    assert [o.client_order_id for o in manager.orders()] == ["open", "c", "d"]
    assert manager.order("a") is None and manager.order_by_venue_id("v-a") is None
    assert not manager.has_trade("a", "t-a") and manager.has_trade("d", "t-d")
    stats = manager.statistics()
    assert (stats.orders, stats.orders_evicted, stats.fills, stats.open_orders) == (5, 2, 4, 1)


def test_retention_keeps_closed_orders_within_the_horizon_beyond_the_count() -> None:
    harness = retaining(closed_orders=1, horizon_s=60.0)
    minute = 60_000_000_000

    for offset, name in enumerate(("a", "b", "c")):
        trade_once(harness, name, at_ns=1_000 + offset)
    held_early = [o.client_order_id for o in harness.manager.orders()]
    trade_once(harness, "d", at_ns=1_000 + minute + 10)  # a, b and c closed a minute ago

    assert held_early == ["a", "b", "c"]
    assert [o.client_order_id for o in harness.manager.orders()] == ["d"]


def test_a_duplicate_fill_within_the_window_is_counted_and_not_booked() -> None:
    harness = retaining(closed_orders=2)
    fill = trade_once(harness, "a")

    harness.bus.send(ORDERS_PROCESS, fill)

    assert booked(harness) == ["t-a"]
    assert harness.manager.statistics().duplicate_fills == 1


def test_a_late_duplicate_fill_of_an_evicted_order_is_refused_as_stale() -> None:
    harness = retaining(closed_orders=1)
    fill = trade_once(harness, "a", at_ns=2_000)
    trade_once(harness, "b", at_ns=3_000)  # "a" is let go here
    assert harness.manager.order("a") is None
    harness.clock.advance_to(10_000)

    harness.bus.send(ORDERS_PROCESS, fill)  # the REST backstop repeats it, much later
    # Reconciliation would adopt the evicted order's trade as an external order's first.
    harness.bus.send(ORDERS_PROCESS, ExternalOrderAdopted(
        strategy_id=EXTERNAL_STRATEGY_ID, client_order_id="ext-v-a", instrument_id=BTC,
        venue_order_id="v-a", side=OrderSide.BUY, order_type=OrderType.MARKET,
        quantity=Decimal("3"), ts_event=fill.ts_event, ts_init=10_000))

    assert booked(harness) == ["t-a", "t-b"]  # nothing booked twice, nothing adopted
    stats = harness.manager.statistics()
    assert (stats.stale_fills, stats.external_orders, stats.fills) == (2, 0, 2)
    assert [(r.client_order_id, r.from_state) for r in harness.rejections()] == [
        ("a", "stale"), ("ext-v-a", "stale")]


def test_a_fill_of_an_unknown_order_after_the_watermark_is_adopted_and_booked() -> None:
    harness = retaining(closed_orders=1)
    trade_once(harness, "a", at_ns=2_000)
    trade_once(harness, "b", at_ns=3_000)
    harness.clock.advance_to(10_000)

    harness.venue_event(  # a trade at 10_000: after every fill of an evicted order
        OrderFilled, "", venue_order_id="v-x", trade_id="t-x", side=OrderSide.SELL,
        last_quantity=Decimal("1"), last_price=Decimal("100"), commission=Decimal("0"),
        commission_currency="USDT", liquidity_side=LiquiditySide.TAKER)

    assert booked(harness)[-1] == "t-x"
    stats = harness.manager.statistics()
    assert (stats.stale_fills, stats.external_orders) == (0, 1)


def test_without_retention_no_order_is_let_go(harness: Harness) -> None:
    for name in ("a", "b", "c"):
        trade_once(harness, name)

    assert [o.client_order_id for o in harness.manager.orders()] == ["a", "b", "c"]
    assert harness.manager.statistics().orders_evicted == 0


def test_a_retaining_snapshot_restores_the_window_and_the_watermark() -> None:
    harness = retaining(closed_orders=1)
    fill = trade_once(harness, "a", at_ns=2_000)
    trade_once(harness, "b", at_ns=3_000)
    state = harness.manager.snapshot_state()

    restored = retaining(closed_orders=1)
    restored.manager.restore_state(state)
    restored.clock.advance_to(10_000)
    restored.bus.send(ORDERS_PROCESS, fill)
    trade_once(restored, "c", at_ns=11_000)  # lets "b" go: its trade ids went with it

    assert restored.manager.statistics().stale_fills == 1
    assert [o.client_order_id for o in restored.manager.orders()] == ["c"]
    assert not restored.manager.has_trade("b", "t-b")
    assert restored.manager.snapshot_state().watermark == 3_000
    assert restored.manager.evicted_through() == 3_000
    assert harness.manager.evicted_through() == 2_000  # "a" went; "b" is held


def test_order_counts_stay_exact_when_orders_are_let_go() -> None:
    harness = retaining(closed_orders=1)
    harness.submit("open")

    for name in ("a", "b", "c"):
        trade_once(harness, name)

    assert harness.manager.order_counts() == {
        (BTC, OrderStatus.FILLED): 3, (BTC, OrderStatus.SUBMITTED): 1}
    assert len(harness.manager.orders()) == 2


def test_a_snapshot_made_without_retention_is_bounded_once_restored_under_it() -> None:
    unbounded = Harness()
    for offset, name in enumerate(("a", "b", "c")):
        trade_once(unbounded, name, at_ns=2_000 + offset)
    restored = retaining(closed_orders=1)

    restored.manager.restore_state(unbounded.manager.snapshot_state())
    trade_once(restored, "d", at_ns=3_000)

    assert [o.client_order_id for o in restored.manager.orders()] == ["d"]
    assert restored.manager.statistics().orders == 4
