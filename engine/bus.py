"""The message bus: topics with wildcards, point-to-point endpoints, request/response.

Delivery is FIFO through one queue and happens after the sending handler returns: a
handler that publishes only enqueues, and the outermost caller drains. So no handler is
ever re-entered, and the order messages are handled in is a function of the inputs.

Hot-path notes, since every bar of a backtest passes here: a concrete topic is resolved
against the subscription patterns once and cached as a `_Route` (its handler tuple and
its counter), so publishing is a dict lookup, an increment and an append; the cache is
rebuilt only when subscriptions change, which is rare.

Two ways to watch the bus, for different needs:

- an *observer* (`add_observer`) is called inline with every message published, sent
  or delivered, each hop of a forwarded command included: the journal needs exactly
  that (to mark inputs), and it makes every topic have an audience. An observed bus
  publishes the queued way (the observers are called there), so the in-place path
  never tests for observers.
- a *tap* (`add_tap`, see `engine/taps.py`) buffers what is published on topics
  matching a pattern, once per message, for tasks (WebSocket streams, metrics) to take
  at their own pace. Taps are resolved per concrete topic into the same `_Route`; the
  in-place fast path is only taken by untapped topics, so it never tests for taps, and
  an untapped topic on the queued path costs one attribute test.

A *dispatch probe* (`set_probe`, the metrics side's) times every delivery of 1 drain in
its `sample_every`: an input and whatever its handlers publish. The bus counts the
drains down itself, so a drain not sampled costs an integer test and no call, and the
in-place path stays: only the input whose drain is due goes the queued way, to be timed
whole. (An earlier probe was asked about every drain, and took every topic off the
in-place path: +15% instructions a bar of the canonical backtest.) The bus itself reads
no clock: the probe does, outside the engine, and it changes nothing that is delivered.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Protocol, TypeAlias

import msgspec

from engine.errors import UnknownEndpoint
from engine.taps import Tap, TapPolicy
from engine.topics import matches

__all__ = ("BusStatistics", "DispatchProbe", "ErrorHandler", "Handler", "MessageBus", "Observer")

Handler: TypeAlias = Callable[[Any], object]
"""A message handler: called with one message; its return value is ignored (except for
request handlers, whose return value is the reply)."""
Observer: TypeAlias = Callable[[str, Any], None]
"""Sees every message enqueued, with its topic or endpoint, in delivery order."""


class ErrorHandler(Protocol):
    """Decides what a handler's exception means: re-raise (fail fast) or isolate its owner."""

    def __call__(self, owner: str | None, message: Any, error: Exception) -> None: ...


class DispatchProbe(Protocol):
    """Times a sample of deliveries (handler latency metrics); the engine reads no clock."""

    @property
    def sample_every(self) -> int:
        """Time every delivery of 1 drain in this many (1: every drain); read once, at
        `set_probe`."""
        ...

    def call(self, owner: str | None, handler: Handler, message: Any) -> None:
        """Call `handler(message)` and time it; its exception must propagate unchanged."""
        ...


class BusStatistics(msgspec.Struct, frozen=True, kw_only=True):
    messages_published: int
    messages_handled: int
    handler_errors: int
    queue_depth: int
    topics: dict[str, int]
    endpoints: dict[str, int]


_Offer: TypeAlias = Callable[[str, Any], None]


class _Route:
    """A concrete topic or endpoint: who gets its messages and how many went through."""

    __slots__ = ("count", "handlers", "name", "observed", "single", "taps")

    def __init__(
        self,
        name: str,
        handlers: tuple[Handler, ...],
        taps: tuple[_Offer, ...] = (),
        *,
        observed: bool = False,
    ) -> None:
        self.name = name
        self.count = 0
        self.handlers = handlers
        self.taps = taps  # the `offer` of each tap matching this topic; () for endpoints
        self.observed = observed  # the bus has observers: they see it on the queued path
        self.single: Handler | None = None
        self._refresh()

    def set_handlers(self, handlers: tuple[Handler, ...]) -> None:
        self.handlers = handlers
        self._refresh()

    def set_taps(self, taps: tuple[_Offer, ...]) -> None:
        self.taps = taps
        self._refresh()

    def set_observed(self) -> None:
        self.observed = True
        self._refresh()

    def _refresh(self) -> None:
        # `single` is the in-place fast path: one handler, no tap and no observer, so that
        # path never tests for either; a tap or an observer sends the topic the queued way.
        handlers = self.handlers
        self.single = (handlers[0] if len(handlers) == 1 and not self.taps
                       and not self.observed else None)


_Entry: TypeAlias = tuple[Any, tuple[Handler, ...]]


class MessageBus:
    """Route messages by topic and by endpoint, FIFO, without re-entrant calls."""

    __slots__ = (
        "_draining", "_endpoints", "_error_handler", "_errors", "_handled", "_observers",
        "_owners", "_probe", "_probe_left", "_queue", "_removed", "_subscriptions", "_taps",
        "_topics",
    )

    def __init__(self, *, error_handler: ErrorHandler | None = None) -> None:
        self._subscriptions: list[tuple[str, Handler]] = []
        self._topics: dict[str, _Route] = {}
        self._endpoints: dict[str, _Route] = {}
        self._owners: dict[Handler, str] = {}
        self._queue: deque[_Entry] = deque()
        self._observers: tuple[Observer, ...] = ()
        self._taps: tuple[Tap, ...] = ()
        self._draining = False
        self._removed: set[Handler] = set()  # handlers removed while a delivery is in flight
        self._error_handler = error_handler
        self._probe: DispatchProbe | None = None
        self._probe_left = 0  # drains until the next timed one, counting it; 0: no probe
        self._handled = 0
        self._errors = 0

    # -- subscriptions -------------------------------------------------------------

    def subscribe(self, pattern: str, handler: Handler, *, owner: str | None = None) -> None:
        """Deliver every message published on a topic matching `pattern` to `handler`.

        Subscribing the same handler to the same pattern twice is a no-op, so a
        subscriber never sees one message twice through one pattern.
        """
        if (pattern, handler) in self._subscriptions:
            return
        matches(pattern, "probe")  # validates the pattern early
        self._subscriptions.append((pattern, handler))
        self._removed.discard(handler)
        if owner is not None:
            self._owners[handler] = owner
        self._rebuild_topics()

    def unsubscribe(self, pattern: str, handler: Handler) -> None:
        if (pattern, handler) in self._subscriptions:
            self._subscriptions.remove((pattern, handler))
            self._rebuild_topics()

    def has_audience(self, topic: str) -> bool:
        """True when a message published on `topic` would reach anyone (a subscriber, a tap
        matching `topic`, or an observer). Lets an actor skip building an event nobody
        would see."""
        if self._observers:
            return True
        route = self._topics.get(topic)
        if route is None:
            route = self._new_route(topic)
        return bool(route.handlers or route.taps)

    def register_endpoint(
        self, endpoint: str, handler: Handler, *, owner: str | None = None
    ) -> None:
        """Make `handler` the one receiver of messages sent to `endpoint`."""
        if endpoint in self._endpoints:
            raise ValueError(f"endpoint {endpoint!r}: already registered")
        self._endpoints[endpoint] = _Route(endpoint, (handler,))
        self._removed.discard(handler)
        if owner is not None:
            self._owners[handler] = owner

    def deregister_endpoint(self, endpoint: str) -> None:
        self._endpoints.pop(endpoint, None)

    def has_endpoint(self, endpoint: str) -> bool:
        return endpoint in self._endpoints

    def remove_owner(self, owner: str) -> None:
        """Drop every subscription and endpoint of `owner`, and its queued deliveries.

        Used when an actor stops or faults: nothing reaches it afterwards, not even
        messages already in the queue.
        """
        owned = {handler for handler, who in self._owners.items() if who == owner}
        if not owned:
            return
        self._subscriptions = [(p, h) for p, h in self._subscriptions if h not in owned]
        for name in [n for n, r in self._endpoints.items() if r.handlers[0] in owned]:
            del self._endpoints[name]
        for handler in owned:
            del self._owners[handler]
        self._rebuild_topics()
        # In place: a drain in progress holds this deque, and must see the purge.
        kept_entries = [
            (message, kept)
            for message, handlers in self._queue
            if (kept := tuple(h for h in handlers if h not in owned))
        ]
        self._queue.clear()
        self._queue.extend(kept_entries)
        if self._draining:
            self._removed.update(owned)  # the message in flight skips them too

    def set_owner(self, handler: Handler, owner: str) -> None:
        """Record that `handler` belongs to actor `owner` (errors are attributed to it)."""
        self._owners[handler] = owner

    def add_observer(self, observer: Observer) -> None:
        """Let `observer` see every message in delivery order (journal, determinism checks)."""
        self._observers = (*self._observers, observer)
        for route in self._topics.values():
            route.set_observed()  # published the queued way, where observers are called

    @property
    def probe(self) -> DispatchProbe | None:
        return self._probe

    def set_probe(self, probe: DispatchProbe | None) -> None:
        """Let `probe` time every delivery of 1 drain in its `sample_every` (None: stop).

        One probe at a time; the first drain timed is the `sample_every`-th from now.

        Raises:
            ValueError: `sample_every` is below 1.
        """
        every = 0 if probe is None else probe.sample_every
        if probe is not None and every < 1:
            raise ValueError(f"probe sample_every {every}: must be at least 1")
        self._probe = probe
        self._probe_left = every

    # -- taps ----------------------------------------------------------------------------

    def add_tap(
        self,
        pattern: str,
        *,
        capacity: int = 1024,
        policy: TapPolicy = TapPolicy.DROP_OLDEST,
        name: str | None = None,
    ) -> Tap:
        """Buffer every message published on a topic matching `pattern`, for a task to take.

        Args:
            pattern: a topic pattern (`*` one segment, a final `#` the tail).
            capacity: how many items the tap holds before its policy drops one.
            policy: which item a full tap drops, the oldest (default) or the new one.
            name: shown in statistics; the pattern by default.

        Returns:
            The tap, already attached; `tap.close()` or `remove_tap(tap)` detaches it.

        Raises:
            ValueError: the pattern is malformed or the capacity is not positive.
        """
        matches(pattern, "probe")  # validates the pattern early
        tap = Tap(pattern, capacity=capacity, policy=policy, name=name, detach=self._detach_tap)
        self._taps = (*self._taps, tap)
        self._rebuild_taps()
        return tap

    def remove_tap(self, tap: Tap) -> None:
        """Detach and close `tap` (idempotent; safe from a handler, mid-delivery)."""
        self._detach_tap(tap)
        tap.close()

    def taps(self) -> tuple[Tap, ...]:
        """The attached taps, oldest first."""
        return self._taps

    def _detach_tap(self, tap: Tap) -> None:
        if tap in self._taps:
            self._taps = tuple(t for t in self._taps if t is not tap)
            self._rebuild_taps()

    # -- routes --------------------------------------------------------------------------

    def _new_route(self, topic: str) -> _Route:
        route = self._topics[topic] = _Route(
            topic, self._handlers_for(topic), self._taps_for(topic),
            observed=bool(self._observers))
        return route

    def _rebuild_topics(self) -> None:
        for name, route in self._topics.items():
            route.set_handlers(self._handlers_for(name))

    def _rebuild_taps(self) -> None:
        for name, route in self._topics.items():
            route.set_taps(self._taps_for(name))

    def _handlers_for(self, topic: str) -> tuple[Handler, ...]:
        return tuple(h for pattern, h in self._subscriptions if matches(pattern, topic))

    def _taps_for(self, topic: str) -> tuple[_Offer, ...]:
        return tuple(tap.offer for tap in self._taps if matches(tap.pattern, topic))

    # -- sending -------------------------------------------------------------------

    def publish(self, topic: str, message: Any) -> None:
        """Publish `message` on `topic`; delivered after the current handler returns.

        Observers and matching taps see it now, in publish order; taps only buffer it,
        so they never run before, between or instead of a handler.
        """
        route = self._topics.get(topic)
        if route is None:
            route = self._new_route(topic)
        route.count += 1
        handler = route.single
        if handler is None or self._draining or self._queue:
            if self._observers:  # an observed topic has no `single`: it always comes here
                for observer in self._observers:
                    observer(topic, message)
            if route.taps:
                for offer in route.taps:
                    offer(topic, message)
            handlers = route.handlers
            if handlers:
                self._queue.append((message, handlers))
            if not self._draining:
                self.drain()
            return
        left = self._probe_left
        if left:  # a probe counts drains: this one is due (timed whole, queued), or not yet
            if left == 1:
                self._queue.append((message, route.handlers))
                self.drain()
                return
            self._probe_left = left - 1
        # Fast path, taken once per bar of a backtest: nothing is queued, one handler
        # listens, no tap, no timed drain due: delivering in place is exactly what the
        # queue would.
        self._draining = True
        self._handled += 1
        try:
            handler(message)
        except Exception as error:  # the error policy decides: isolate or re-raise
            self._fail(handler, message, error)
        finally:
            self._draining = False
            if self._removed:
                self._removed.clear()
        if self._queue:
            if self._probe_left:  # counted above already: drain() must not count it again
                self._probe_left += 1
            self.drain()

    def send(self, endpoint: str, message: Any) -> None:
        """Send `message` to the one handler of `endpoint`.

        Raises:
            UnknownEndpoint: nobody registered `endpoint` (a wiring bug, not bad input).
        """
        route = self._endpoints.get(endpoint)
        if route is None:
            raise UnknownEndpoint(endpoint)
        route.count += 1
        if self._observers:
            for observer in self._observers:
                observer(endpoint, message)
        self._queue.append((message, route.handlers))
        if not self._draining:
            self.drain()

    def deliver(self, handler: Handler, message: Any) -> None:
        """Queue `message` for one handler directly (timers use this)."""
        if self._observers:
            for observer in self._observers:
                observer("direct", message)
        self._queue.append((message, (handler,)))
        if not self._draining:
            self.drain()

    def request(self, endpoint: str, message: Any, reply: Handler) -> None:
        """Send `message` to `endpoint`; the handler's return value is delivered to `reply`.

        The reply is queued like any other message, so it arrives after the messages
        already waiting: request/response keeps the FIFO guarantee.
        """
        route = self._endpoints.get(endpoint)
        if route is None:
            raise UnknownEndpoint(endpoint)
        target = route.handlers[0]

        def answer(request: Any) -> None:
            self._queue.append((target(request), (reply,)))
            self._owners.pop(answer, None)  # kept only while pending (or after an error)

        owner = self._owners.get(target)
        if owner is not None:
            self._owners[answer] = owner
        self.deliver(answer, message)

    # -- delivery ------------------------------------------------------------------

    def drain(self) -> None:
        """Deliver queued messages until the queue is empty. Re-entrant calls return at once."""
        if self._draining:
            return
        self._draining = True
        queue = self._queue
        removed = self._removed
        probe = None
        left = self._probe_left
        if left and queue:
            if left == 1:
                probe = self._probe
                self._probe_left = probe.sample_every if probe is not None else 0
            else:
                self._probe_left = left - 1
        handled = 0
        try:
            while queue:
                message, handlers = queue.popleft()
                handled += 1
                for handler in handlers:
                    if removed and handler in removed:
                        continue  # its owner stopped or faulted during this delivery
                    try:
                        if probe is None:
                            handler(message)
                        else:
                            probe.call(self._owners.get(handler), handler, message)
                    except Exception as error:  # the error policy decides: isolate or re-raise
                        self._fail(handler, message, error)
                if removed:
                    removed.clear()
        finally:
            self._handled += handled
            self._draining = False
            removed.clear()

    def _fail(self, handler: Handler, message: Any, error: Exception) -> None:
        self._errors += 1
        if self._error_handler is None:
            raise error
        self._error_handler(self._owners.get(handler), message, error)

    @property
    def is_idle(self) -> bool:
        return not self._queue and not self._draining

    def statistics(self) -> BusStatistics:
        """Counters since construction: per topic and endpoint, handled, errors."""
        return BusStatistics(
            messages_published=sum(r.count for r in self._topics.values())
            + sum(r.count for r in self._endpoints.values()),
            messages_handled=self._handled,
            handler_errors=self._errors,
            queue_depth=len(self._queue),
            topics={name: r.count for name, r in sorted(self._topics.items()) if r.count},
            endpoints={name: r.count for name, r in sorted(self._endpoints.items()) if r.count},
        )

