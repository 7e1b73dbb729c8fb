"""The Actor base: dispatch table, lifecycle, fault isolation, timers, direct subscriptions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

import pytest

from engine.actor import Actor, ActorState
from engine.bus import MessageBus
from engine.clock import SimClock
from engine.domain.enums import LiquiditySide, OrderSide
from engine.events.base import Message
from engine.events.fills import OrderFilled
from engine.events.market import Bar, BarType
from engine.events.orders import OrderAccepted
from engine.events.system import ActorFaulted, ActorStarted, ActorStopped, TimerFired
from engine.topics import ALL_SYSTEM, bars_topic, order_topic, system_topic, venue_endpoint

A = TypeVar("A", bound=Actor)
BAR_TYPE = BarType(instrument_id="BTC/USDT.SIM", timeframe="1m")
BARS = bars_topic("BTC/USDT.SIM", "1m")


def make_bar(ts: int, close: float = 100.0) -> Bar:
    return Bar(bar_type=BAR_TYPE, open=close, high=close, low=close, close=close, volume=1.0,
               ts_event=ts, ts_init=ts)


def filled(ts: int = 1) -> OrderFilled:
    return OrderFilled(
        strategy_id="s1", client_order_id="c1", instrument_id="BTC/USDT.SIM",
        venue_order_id="v1", trade_id="t1", side=OrderSide.BUY, last_quantity=Decimal("1"),
        last_price=Decimal("100"), commission=Decimal("0.1"), commission_currency="USDT",
        liquidity_side=LiquiditySide.TAKER, ts_event=ts, ts_init=ts,
    )


def accepted(ts: int = 1) -> OrderAccepted:
    return OrderAccepted(strategy_id="s1", client_order_id="c1", instrument_id="BTC/USDT.SIM",
                         venue_order_id="v1", ts_event=ts, ts_init=ts)


class Recorder(Actor):
    """Logs which handler saw what, in call order."""

    isolate_faults = True

    def __init__(self, actor_id: str = "rec") -> None:
        super().__init__(actor_id)
        self.calls: list[tuple[str, Any]] = []

    def on_start(self) -> None:
        self.calls.append(("on_start", None))

    def on_stop(self) -> None:
        self.calls.append(("on_stop", None))

    def on_bar(self, bar: Bar) -> None:
        self.calls.append(("on_bar", bar.ts_event))
        if bar.close < 0:
            raise RuntimeError("negative close")

    def on_order_filled(self, event: OrderFilled) -> None:
        self.calls.append(("on_order_filled", event.client_order_id))

    def on_order_event(self, event: Any) -> None:
        self.calls.append(("on_order_event", type(event).__name__))

    def on_event(self, event: Message) -> None:
        self.calls.append(("on_event", type(event).__name__))

    def on_timer(self, event: TimerFired) -> None:
        self.calls.append(("on_timer", (event.name, event.ts_event)))


class BarLog(Actor):
    """Records bar times; never fails."""

    def __init__(self, actor_id: str = "bars") -> None:
        super().__init__(actor_id)
        self.seen: list[int] = []

    def on_bar(self, bar: Bar) -> None:
        self.seen.append(bar.ts_event)


class Graph:
    """A bus, a clock and an error handler that isolates faulting actors, like the kernel."""

    def __init__(self) -> None:
        self.actors: dict[str, Actor] = {}
        self.bus = MessageBus(error_handler=self._on_error)
        self.clock = SimClock()
        self.system: list[Message] = []
        self.bus.subscribe(ALL_SYSTEM, self.system.append)

    def add(self, actor: A) -> A:
        self.actors[actor.id] = actor
        actor.register(self.bus, self.clock)
        return actor

    def _on_error(self, owner: str | None, message: Any, error: Exception) -> None:
        actor = self.actors.get(owner) if owner is not None else None
        if actor is None or not actor.isolate_faults:
            raise error
        actor.fault(error, message)


def started(graph: Graph, actor: Recorder, *patterns: str) -> Recorder:
    graph.add(actor)
    actor.start()
    for pattern in patterns:
        actor.subscribe(pattern)
    actor.calls.clear()
    return actor


# -- dispatch ---------------------------------------------------------------------------------


def test_handle_bar_calls_on_bar_then_on_event() -> None:
    graph = Graph()
    actor = started(graph, Recorder(), BARS)
    graph.bus.publish(BARS, make_bar(60))
    assert actor.calls == [("on_bar", 60), ("on_event", "Bar")]


def test_handle_order_filled_calls_specific_then_family_then_on_event() -> None:
    graph = Graph()
    actor = started(graph, Recorder(), order_topic("s1"))
    graph.bus.publish(order_topic("s1"), filled())
    assert actor.calls == [
        ("on_order_filled", "c1"),
        ("on_order_event", "OrderFilled"),
        ("on_event", "OrderFilled"),
    ]


def test_handle_event_without_specific_handler_runs_family_hooks_only() -> None:
    graph = Graph()
    actor = started(graph, Recorder(), order_topic("s1"))
    graph.bus.publish(order_topic("s1"), accepted())
    assert actor.calls == [("on_order_event", "OrderAccepted"), ("on_event", "OrderAccepted")]


def test_handle_message_with_no_handler_is_ignored() -> None:
    graph = Graph()
    actor = graph.add(BarLog())
    actor.start()
    actor.subscribe("#")
    graph.bus.publish(order_topic("s1"), accepted())
    graph.bus.publish(BARS, make_bar(60))
    assert actor.seen == [60]


def test_subclass_misspelled_handler_raises_type_error_at_class_creation() -> None:
    with pytest.raises(TypeError, match=r"on_barr: names no event type"):

        class Typo(Actor):
            def on_barr(self, bar: Bar) -> None: ...


def test_subclass_lifecycle_hooks_and_timer_handler_are_accepted() -> None:
    class Hooks(Actor):
        def on_start(self) -> None: ...

        def on_stop(self) -> None: ...

        def on_save(self) -> None: ...

        def on_load(self) -> None: ...

        def on_timer(self, event: TimerFired) -> None: ...

        def on_position_event(self, event: Any) -> None: ...

    assert Hooks("h").state is ActorState.INITIALIZED


def test_actor_id_with_dot_or_empty_raises() -> None:
    with pytest.raises(ValueError, match="contain no dot"):
        Recorder("a.b")
    with pytest.raises(ValueError, match="non-empty"):
        Recorder("")


def test_bus_before_register_raises_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="not registered"):
        _ = Recorder().bus


def test_publish_send_and_time_before_register_raise_naming_the_actor() -> None:
    actor = Recorder("early")

    with pytest.raises(RuntimeError, match=r"actor early: not registered .*\(asked for publish\)"):
        actor.publish(BARS, make_bar(1))
    with pytest.raises(RuntimeError, match=r"actor early: not registered .*\(asked for send\)"):
        actor.send(venue_endpoint("SIM"), make_bar(1))
    with pytest.raises(RuntimeError, match="actor early: not registered with a clock"):
        _ = actor.clock


# -- lifecycle --------------------------------------------------------------------------------


def test_start_runs_on_start_and_publishes_actor_started() -> None:
    graph = Graph()
    actor = graph.add(Recorder())
    graph.clock.advance_to(500)
    actor.start()
    assert actor.state is ActorState.RUNNING
    assert actor.calls == [("on_start", None)]
    assert graph.system == [ActorStarted(actor_id="rec", ts_event=500, ts_init=500)]


def test_start_while_running_raises() -> None:
    graph = Graph()
    actor = graph.add(Recorder())
    actor.start()
    with pytest.raises(RuntimeError, match="cannot start from state running"):
        actor.start()


def test_stop_runs_on_stop_publishes_actor_stopped_and_detaches() -> None:
    graph = Graph()
    actor = started(graph, Recorder(), BARS)
    actor.set_timer("tick", 10)
    actor.register_endpoint(venue_endpoint("REC"))
    actor.stop()
    graph.bus.publish(BARS, make_bar(60))
    graph.clock.advance_to(100)
    assert actor.state is ActorState.STOPPED
    assert actor.calls == [("on_stop", None)]
    assert graph.system[-1] == ActorStopped(actor_id="rec", ts_event=0, ts_init=0)
    assert graph.clock.timer_names("rec") == []
    assert not graph.bus.has_endpoint(venue_endpoint("REC"))


def test_stop_twice_publishes_once() -> None:
    graph = Graph()
    actor = started(graph, Recorder())
    actor.stop()
    actor.stop()
    assert [type(m) for m in graph.system] == [ActorStarted, ActorStopped]


def test_stop_inside_handler_drops_messages_already_queued_for_it() -> None:
    graph = Graph()
    target = started(graph, Recorder("target"), BARS)

    class Stopper(Actor):
        def on_bar(self, bar: Bar) -> None:
            if target.state is ActorState.RUNNING:
                self.publish(BARS, make_bar(bar.ts_event + 60))
                target.stop()

    stopper = graph.add(Stopper("stopper"))
    stopper.start()
    stopper.subscribe(BARS, Bar)
    graph.bus.publish(BARS, make_bar(60))
    assert target.calls == [("on_bar", 60), ("on_event", "Bar"), ("on_stop", None)]
    assert graph.bus.is_idle


def test_handler_error_faults_isolated_actor_and_publishes_actor_faulted() -> None:
    graph = Graph()
    actor = started(graph, Recorder(), BARS)
    other = graph.add(BarLog())
    other.start()
    other.subscribe(BARS, Bar)
    actor.set_timer("tick", 10)
    graph.clock.advance_to(30)
    graph.bus.publish(BARS, make_bar(30, close=-1.0))
    graph.bus.publish(BARS, make_bar(90))
    graph.clock.advance_to(100)
    assert actor.state is ActorState.FAULTED
    assert actor.calls == [
        ("on_timer", ("tick", 10)), ("on_event", "TimerFired"),
        ("on_timer", ("tick", 20)), ("on_event", "TimerFired"),
        ("on_timer", ("tick", 30)), ("on_event", "TimerFired"),
        ("on_bar", 30),
    ]
    assert other.seen == [30, 90]
    faults = [m for m in graph.system if isinstance(m, ActorFaulted)]
    assert faults == [
        ActorFaulted(actor_id="rec", error_type="RuntimeError", error="negative close",
                     message_kind="bar", ts_event=30, ts_init=30)
    ]
    assert graph.clock.timer_names("rec") == []


def test_fault_then_start_raises_and_fault_twice_publishes_once() -> None:
    graph = Graph()
    actor = started(graph, Recorder())
    actor.fault(RuntimeError("x"), object())
    actor.fault(RuntimeError("y"), object())
    assert [type(m) for m in graph.system] == [ActorStarted, ActorFaulted]
    assert isinstance(graph.system[-1], ActorFaulted)
    assert graph.system[-1].message_kind == "object"
    with pytest.raises(RuntimeError, match="cannot start"):
        actor.start()


def test_handler_error_in_core_actor_propagates() -> None:
    class Core(Actor):
        def on_bar(self, bar: Bar) -> None:
            raise RuntimeError("core bug")

    graph = Graph()
    actor = graph.add(Core("core"))
    actor.start()
    actor.subscribe(BARS)
    with pytest.raises(RuntimeError, match="core bug"):
        graph.bus.publish(BARS, make_bar(60))


def test_restart_after_stop_receives_again() -> None:
    graph = Graph()
    actor = started(graph, Recorder(), BARS)
    actor.stop()
    actor.start()
    actor.subscribe(BARS)
    actor.calls.clear()
    graph.bus.publish(BARS, make_bar(60))
    assert actor.calls == [("on_bar", 60), ("on_event", "Bar")]


def test_handle_before_start_is_ignored() -> None:
    graph = Graph()
    actor = graph.add(Recorder())
    actor.subscribe(BARS)
    graph.bus.publish(BARS, make_bar(60))
    assert actor.calls == []


# -- timers -----------------------------------------------------------------------------------


def test_set_time_alert_delivers_timer_fired_to_on_timer() -> None:
    graph = Graph()
    actor = started(graph, Recorder())
    actor.set_time_alert("wake", 250)
    graph.clock.advance_to(1_000)
    assert actor.calls == [("on_timer", ("wake", 250)), ("on_event", "TimerFired")]


def test_cancel_timer_stops_delivery() -> None:
    graph = Graph()
    actor = started(graph, Recorder())
    actor.set_timer("tick", 100)
    graph.clock.advance_to(150)
    actor.cancel_timer("tick")
    graph.clock.advance_to(1_000)
    assert actor.calls == [("on_timer", ("tick", 100)), ("on_event", "TimerFired")]


# -- direct subscriptions --------------------------------------------------------------------


def test_subscribe_with_message_type_single_handler_calls_it_directly() -> None:
    graph = Graph()
    actor = graph.add(BarLog())
    actor.start()
    actor.subscribe(BARS, Bar)
    graph.bus.publish(BARS, make_bar(60))
    actor.stop()
    graph.bus.publish(BARS, make_bar(120))
    assert actor.seen == [60]


def test_subscribe_with_message_type_and_family_hooks_runs_every_hook() -> None:
    graph = Graph()
    actor = graph.add(Recorder())
    actor.start()
    actor.subscribe(BARS, Bar)  # on_bar + on_event: goes through handle, both run
    graph.bus.publish(BARS, make_bar(60))
    assert actor.calls[-2:] == [("on_bar", 60), ("on_event", "Bar")]


def test_publish_and_send_from_actor_reach_bus() -> None:
    graph = Graph()
    actor = started(graph, Recorder())
    commands: list[Any] = []
    graph.bus.register_endpoint(venue_endpoint("SIM"), commands.append)
    actor.send(venue_endpoint("SIM"), accepted())
    actor.publish(system_topic("custom"), accepted(2))
    assert commands == [accepted()]
    assert graph.system[-1] == accepted(2)


def test_restarted_actor_timer_error_is_still_isolated() -> None:
    class Sleeper(Actor):
        isolate_faults = True

        def on_timer(self, event: TimerFired) -> None:
            raise RuntimeError("woke badly")

    graph = Graph()
    actor = graph.add(Sleeper("sleeper"))
    actor.start()
    actor.stop()
    actor.start()
    actor.set_time_alert("wake", 10)
    graph.clock.advance_to(10)
    assert actor.state is ActorState.FAULTED
    assert isinstance(graph.system[-1], ActorFaulted)
