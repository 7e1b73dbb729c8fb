"""The actor base: lifecycle, subscriptions, timers, and dispatch to `on_<event>` handlers.

Handlers are plain synchronous methods named after the event they take: `on_bar`,
`on_order_filled`, `on_position_closed`, `on_timer` (for `TimerFired`). After the
specific handler the family hooks run, `on_order_event` (any order event, fills
included) and `on_position_event`, then `on_event` for anything. The table from event
type to handlers is built once per class; a method called `on_<something>` that names no
event is a TypeError when the class is created, so a typo never silently never fires.

State changes only in handlers; others see the actor through read-only methods.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from typing import Any, ClassVar, Final, cast

from engine.bus import Handler, MessageBus
from engine.clock import Clock
from engine.events.base import Message
from engine.events.codec import MESSAGE_TYPES, TAGS
from engine.events.fills import PositionEvent
from engine.events.orders import OrderEvent
from engine.events.system import ActorFaulted, ActorStarted, ActorStopped, TimerFired
from engine.topics import system_topic

__all__ = ("Actor", "ActorState", "Unattached")


class ActorState(StrEnum):
    INITIALIZED = "initialized"
    RUNNING = "running"
    STOPPED = "stopped"
    FAULTED = "faulted"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_HANDLER_NAMES: Final[dict[str, type[Message]]] = {
    f"on_{_snake(t.__name__)}": t for t in MESSAGE_TYPES if t is not TimerFired
}
_HANDLER_NAMES["on_timer"] = TimerFired
_FAMILY_HOOKS: Final[tuple[tuple[str, type[Message]], ...]] = (
    ("on_order_event", OrderEvent),
    ("on_position_event", PositionEvent),
    ("on_event", Message),
)
_LIFECYCLE_HOOKS: Final = frozenset({"on_start", "on_stop", "on_save", "on_load"})


class Unattached:
    """What an actor holds in place of a part of the graph it is not attached to yet (its
    bus and clock before `register`, a strategy's views before `bind`): any use raises,
    saying why.

    A stand-in rather than None, so the handlers (which run only once attached) read
    `self._bus`, `self._clock` and the rest without a test, and without a property
    call, on every message they send and every time they read.
    """

    __slots__ = ("_why",)

    def __init__(self, why: str) -> None:
        self._why = why

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"{self._why} (asked for {name})")


class Actor:
    """Base of every component that reacts to messages on the bus.

    Subclasses define handlers; the graph calls `register`, then `start` and `stop`.
    `isolate_faults` says what an exception in a handler does: True (strategies) stops
    only this actor and publishes `ActorFaulted`; False (core actors) fails fast.
    """

    isolate_faults: ClassVar[bool] = False
    _handler_names: ClassVar[dict[type[Message], tuple[str, ...]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in dir(cls):
            if (
                name.startswith("on_")
                and callable(getattr(cls, name))
                and name not in _HANDLER_NAMES
                and name not in _LIFECYCLE_HOOKS
                and name not in dict(_FAMILY_HOOKS)
            ):
                raise TypeError(
                    f"handler {cls.__name__}.{name}: names no event type "
                    "(expected on_<snake_case event>, e.g. on_bar, on_order_filled)"
                )
        table: dict[type[Message], tuple[str, ...]] = {}
        for message_type in MESSAGE_TYPES:
            names = [n for n, t in _HANDLER_NAMES.items() if t is message_type and hasattr(cls, n)]
            names += [n for n, family in _FAMILY_HOOKS if issubclass(message_type, family)
                      and hasattr(cls, n)]
            if names:
                table[message_type] = tuple(names)
        cls._handler_names = table

    def __init__(self, actor_id: str) -> None:
        if not actor_id or "." in actor_id:
            raise ValueError(f"actor id {actor_id!r}: must be non-empty and contain no dot")
        self._id = actor_id
        self._state = ActorState.INITIALIZED
        self._running = False  # mirrors _state is RUNNING: one attribute test per message
        unattached = Unattached(f"actor {actor_id}: not registered with a bus and a clock yet")
        self._bus: MessageBus = cast(MessageBus, unattached)
        self._clock: Clock = cast(Clock, unattached)
        self._registered = False
        self._dispatch: dict[type[Message], Callable[[Any], object]] = {}
        self._timer_callback: Callable[[TimerFired], None] = self._deliver_timer
        self._subscribed: dict[str, Handler] = {}  # pattern -> the handler it delivers to

    # -- identity and wiring ---------------------------------------------------------

    @property
    def id(self) -> str:
        return self._id

    @property
    def state(self) -> ActorState:
        return self._state

    @property
    def bus(self) -> MessageBus:
        if not self._registered:
            raise RuntimeError(f"actor {self._id}: not registered with a bus yet")
        return self._bus

    @property
    def clock(self) -> Clock:
        if not self._registered:
            raise RuntimeError(f"actor {self._id}: not registered with a clock yet")
        return self._clock

    def register(self, bus: MessageBus, clock: Clock) -> None:
        """Attach to the graph's bus and clock; build this instance's dispatch table."""
        self._bus = bus
        self._clock = clock
        self._registered = True
        self._dispatch = {t: self._chain(names) for t, names in self._handler_names.items()}
        bus.set_owner(self.handle, self._id)

    def _chain(self, names: tuple[str, ...]) -> Callable[[Any], object]:
        methods = [getattr(self, name) for name in names]
        if len(methods) == 1:
            return methods[0]  # type: ignore[no-any-return]

        def chained(message: Any) -> None:
            for method in methods:
                method(message)

        return chained

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Run `on_start` and begin handling messages."""
        if self._state is not ActorState.INITIALIZED and self._state is not ActorState.STOPPED:
            raise RuntimeError(f"actor {self._id}: cannot start from state {self._state}")
        self._state = ActorState.RUNNING
        self._running = True
        self.bus.set_owner(self.handle, self._id)  # again after a stop: timers deliver here
        on_start = getattr(self, "on_start", None)
        if on_start is not None:
            on_start()
        now = self.clock.timestamp_ns()
        self.bus.publish(system_topic("actor"), ActorStarted(actor_id=self._id, ts_event=now,
                                                               ts_init=now))

    def stop(self) -> None:
        """Run `on_stop`, then detach: no message or timer reaches this actor afterwards."""
        if self._state is not ActorState.RUNNING:
            return
        on_stop = getattr(self, "on_stop", None)
        if on_stop is not None:
            on_stop()
        self._detach()
        self._state = ActorState.STOPPED
        self._running = False
        now = self.clock.timestamp_ns()
        self.bus.publish(system_topic("actor"), ActorStopped(actor_id=self._id, ts_event=now,
                                                               ts_init=now))

    def fault(self, error: Exception, message: object) -> None:
        """Stop this actor after `error`, without `on_stop`, and say so on the bus."""
        if self._state is ActorState.FAULTED:
            return
        self._detach()
        self._state = ActorState.FAULTED
        self._running = False
        now = self.clock.timestamp_ns()
        faulted = ActorFaulted(
            actor_id=self._id,
            error_type=type(error).__name__,
            error=str(error),
            message_kind=message if isinstance(message, str)  # a lifecycle step: "on_start"
            else TAGS.get(type(message), type(message).__name__),
            ts_event=now,
            ts_init=now,
        )
        self.bus.publish(system_topic("actor"), faulted)

    def _detach(self) -> None:
        clock = self.clock
        for name in clock.timer_names(self._id):
            clock.cancel_timer(self._id, name)
        self.bus.remove_owner(self._id)

    # -- messages ------------------------------------------------------------------------

    def handle(self, message: Any) -> None:
        """The bus's entry point: dispatch `message` to this actor's handlers."""
        if self._running:
            handler = self._dispatch.get(type(message))
            if handler is not None:
                handler(message)

    def subscribe(
        self,
        pattern: str,
        message_type: type[Message] | None = None,
        *,
        only: type[Message] | None = None,
    ) -> None:
        """Receive messages on topics matching `pattern`.

        With `message_type` given (the one type the topic carries, e.g. Bar) and a single
        handler for it, the bus calls that handler directly: one call less per message on
        the hottest path. With `only`, just that type is taken from a topic that carries
        several (the portfolio wants fills, not every order event); the rest is dropped
        before any dispatch.
        """
        handler: Handler = self.handle
        if only is not None:
            target = self._dispatch.get(only)
            if target is None:
                raise TypeError(f"actor {self._id}: no handler for {only.__name__}")

            def only_this_type(message: Any) -> None:
                if type(message) is only:
                    target(message)

            handler = only_this_type
        elif message_type is not None:
            direct = self._dispatch.get(message_type)
            if direct is not None and len(self._handler_names.get(message_type, ())) == 1:
                handler = direct
        self._subscribed[pattern] = handler
        self.bus.subscribe(pattern, handler, owner=self._id)

    def unsubscribe(self, pattern: str) -> None:
        """Stop receiving what `subscribe(pattern)` brought (nothing if it never did)."""
        handler = self._subscribed.pop(pattern, None)
        if handler is not None:
            self.bus.unsubscribe(pattern, handler)

    def register_endpoint(self, endpoint: str, handler: Handler | None = None) -> None:
        self.bus.register_endpoint(endpoint, handler or self.handle, owner=self._id)

    def publish(self, topic: str, message: Message) -> None:
        self._bus.publish(topic, message)  # unregistered: `Unattached` raises, naming us

    def send(self, endpoint: str, message: Message) -> None:
        self._bus.send(endpoint, message)

    # -- timers ----------------------------------------------------------------------------

    def set_timer(
        self,
        name: str,
        interval_ns: int,
        *,
        start_ns: int | None = None,
        stop_ns: int | None = None,
    ) -> None:
        """Deliver a `TimerFired` to `on_timer` every `interval_ns` (first at start + interval)."""
        self.clock.set_timer(
            self._id, name, interval_ns, self._timer_callback, start_ns=start_ns, stop_ns=stop_ns
        )

    def set_time_alert(self, name: str, at_ns: int) -> None:
        """Deliver one `TimerFired` to `on_timer` at `at_ns`."""
        self.clock.set_time_alert(self._id, name, at_ns, self._timer_callback)

    def cancel_timer(self, name: str) -> None:
        self.clock.cancel_timer(self._id, name)

    def _deliver_timer(self, event: TimerFired) -> None:
        self.bus.deliver(self.handle, event)
