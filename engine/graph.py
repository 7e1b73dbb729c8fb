"""The kernel: one bus, one clock and the core actors, wired the same way in every mode.

Backtest, paper and live differ only in the clock and in the adapters added here (data
sources, venues); strategies, risk, the order manager and the portfolio are the same
objects running the same code. `process` is the one door market data comes in by: the
cache is updated, market-driven (simulated) venues match their working orders against
the item, and only then is it published, so fills caused by an item are handled before
any strategy sees that item.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from engine.actor import Actor, ActorState
from engine.actors.contingency import ContingencyActor
from engine.actors.emulator import EMULATED_TYPES, OrderEmulator
from engine.actors.market_data import MarketDataActor
from engine.actors.orders import OrderManager
from engine.actors.portfolio import Portfolio, PortfolioConfig
from engine.actors.risk import RiskActor, RiskConfig
from engine.algos.actor import ExecAlgorithmActor
from engine.bus import MessageBus
from engine.cache import MarketCache
from engine.clock import Clock, LiveClock, TimerState
from engine.domain.enums import OrderType
from engine.domain.ids import session_order_prefix
from engine.domain.order_book import OrderBookState
from engine.events.market import (
    Bar,
    BarType,
    BookDelta,
    FundingRate,
    Instrument,
    QuoteTick,
    TradeTick,
)
from engine.events.system import SessionStarted, StartStrategy, StopStrategy
from engine.instruments import InstrumentRegistry
from engine.ports import ExecutionClient, MarketData, MarketDrivenVenue
from engine.snapshot import Snapshotting
from engine.strategy import Strategy
from engine.topics import (
    STRATEGIES_CONTROL,
    bars_topic,
    book_topic,
    funding_topic,
    instrument_topic,
    quotes_topic,
    trades_topic,
)

__all__ = ("GraphSnapshot", "TradingGraph", "instrument_of", "topic_for")

logger = logging.getLogger(__name__)


class GraphSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The whole graph's state between two inputs (`TradingGraph.snapshot`).

    Each actor's part is its own Struct, encoded by it (`engine.snapshot`); the rest is
    what the graph itself holds: the clock's timers, the market cache (last items and
    order books), the session's order id epoch. `wiring` (every subscription and
    endpoint, by owner) is checked, not restored: a restored graph must have been wired
    alike by its own start.
    """

    actors: dict[str, bytes]
    timers: list[TimerState]
    timer_sequence: int
    cache: dict[str, Bar | TradeTick | QuoteTick]
    wiring: list[str]
    session_epoch_ms: int
    faults: int
    books: list[OrderBookState] = []
    """The market cache's order books (a snapshot from before books has none)."""


def topic_for(message: MarketData) -> str:
    """The topic a market data message is published on."""
    if type(message) is Bar:
        return bars_topic(message.bar_type.instrument_id, message.bar_type.timeframe)
    if type(message) is TradeTick:
        return trades_topic(message.instrument_id)
    if type(message) is QuoteTick:
        return quotes_topic(message.instrument_id)
    if type(message) is BookDelta:
        return book_topic(message.instrument_id)
    if type(message) is FundingRate:
        return funding_topic(message.instrument_id)
    raise TypeError(f"message {type(message).__name__}: not market data")


def instrument_of(message: MarketData) -> str:
    """The instrument id a market data message is about."""
    if type(message) is Bar:
        return message.bar_type.instrument_id
    return message.instrument_id  # type: ignore[union-attr]


class TradingGraph:
    """Own the bus, the clock, the core actors and the adapters added to them."""

    def __init__(
        self,
        *,
        clock: Clock,
        instruments: list[Instrument],
        portfolio: PortfolioConfig,
        risk: RiskConfig,
        fail_fast: bool = False,
        cache: MarketCache | None = None,
    ) -> None:
        self.clock = clock
        self.fail_fast = fail_fast
        self._core_configs = (portfolio, risk)  # part of the snapshot fingerprint
        self.bus = MessageBus(error_handler=self._on_handler_error)
        # Passed in when an adapter (a simulated venue) must read the same cache.
        self.cache = cache if cache is not None else MarketCache()
        self.instruments = InstrumentRegistry(instruments)
        if self.cache.instruments is None:  # books key their levels by the increment
            self.cache.instruments = self.instruments
        self.data = MarketDataActor()
        self.orders = OrderManager(instruments=self.instruments)
        self.portfolio = Portfolio(portfolio, self.instruments, self.cache)
        self.risk = RiskActor(risk, self.instruments, self.portfolio, self.orders, self.cache,
                              balances=self.portfolio)
        self.contingency = ContingencyActor(self.orders)
        self.algos = ExecAlgorithmActor(self.orders, self.instruments, self.cache)
        self.emulator = OrderEmulator(self.instruments, self.cache)
        self._core: list[Actor] = [self.data, self.orders, self.portfolio, self.risk,
                                   self.contingency, self.algos, self.emulator]
        self._venues: list[Actor] = []
        self._driven: list[MarketDrivenVenue] = []
        self.strategies: list[Strategy] = []
        self._actors: dict[str, Actor] = {}
        self.faults = 0
        self.session_epoch_ms = 0
        """The latest session's order id epoch (a new session must start later)."""
        self._started = False

    # -- wiring -----------------------------------------------------------------------------

    def add_venue(self, venue: Actor, client: ExecutionClient | None = None) -> None:
        """Add a venue adapter; a simulated one (with `process_market_data`) is market-driven.

        What the venue can do is registered here, once: the order types it places (the
        others are emulated, `emulate`) and the order lists it links itself
        (`ContingencyActor.link_natively`), as its execution `client` says (the node's
        venues), or without one as the actor says (a backtest's simulated venue).
        """
        self._venues.append(venue)
        if callable(getattr(venue, "process_market_data", None)):
            self._driven.append(venue)  # type: ignore[arg-type]
        if client is not None:
            if client.native_order_lists:
                self.contingency.link_natively(client.venue, client.native_order_lists)
            self.emulate_at(client.venue, client.native_order_types)
            return
        native_order_types = getattr(venue, "native_order_types", None)
        venue_name = getattr(venue, "venue", None)
        if callable(native_order_types) and isinstance(venue_name, str):
            self.emulate_at(venue_name, native_order_types)

    def emulate_at(self, venue: str,
                   native_order_types: Callable[[str], frozenset[OrderType]]) -> None:
        """Register with `emulate` what `venue` places, for each of its instruments here."""
        for instrument in self.instruments:
            if instrument.venue == venue:
                self.emulate(instrument.instrument_id, native_order_types(instrument.instrument_id))

    def emulate(self, instrument_id: str, native: frozenset[OrderType]) -> frozenset[OrderType]:
        """The venue of `instrument_id` places only the `native` order types: orders of the
        other types with a trigger are held by the order emulator until they trigger
        (`engine.actors.emulator`). Returns the types emulated. Before `start`.

        A type neither native nor emulatable (a venue without limit orders) is left to
        the venue, which refuses it.
        """
        if self._started:
            raise RuntimeError("graph: emulate() after start")
        emulated = EMULATED_TYPES - native
        self.orders.emulate(instrument_id, emulated)
        self.emulator.emulate(instrument_id, emulated)
        return emulated

    def add_strategy(self, strategy: Strategy) -> None:
        if any(s.id == strategy.id for s in self.strategies):
            raise ValueError(f"strategy id {strategy.id!r}: already in this graph")
        strategy.bind(
            instruments=self.instruments,
            portfolio=self.portfolio,
            orders=self.orders,
            cache=self.cache,
        )
        self.strategies.append(strategy)

    def add_bar_source(self, bar_type: BarType) -> None:
        """Declare bars a data source carries, so the market data actor won't rebuild them."""
        self.data.add_source(bar_type)

    def add_trade_source(self, instrument_id: str) -> None:
        self.data.add_trade_source(instrument_id)

    @property
    def market_driven_venues(self) -> list[MarketDrivenVenue]:
        return list(self._driven)

    def actor(self, actor_id: str) -> Actor | None:
        return self._actors.get(actor_id)

    def actors(self) -> list[Actor]:
        """Every actor added, in start order: core, venues, strategies (before start too)."""
        return [*self._core, *self._venues, *self.strategies]

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Register and start core actors, venues, then strategies; announce instruments."""
        if self._started:
            raise RuntimeError("graph: already started")
        self._started = True
        for actor in [*self._core, *self._venues, *self.strategies]:
            if actor.id in self._actors:
                raise ValueError(f"actor id {actor.id!r}: used twice in one graph")
            self._actors[actor.id] = actor
            actor.register(self.bus, self.clock)
        self.bus.register_endpoint(STRATEGIES_CONTROL, self._on_strategy_control)
        for actor in [*self._core, *self._venues]:
            actor.start()
        for strategy in self.strategies:
            try:
                strategy.start()
            except Exception as error:
                self._on_handler_error(strategy.id, "on_start", error)
        now = self.clock.timestamp_ns()
        for instrument in self.instruments:
            stamped = instrument if instrument.ts_init else _restamp(instrument, now)
            self.bus.publish(instrument_topic(instrument.instrument_id), stamped)

    def stop(self) -> None:
        """Stop strategies first (they may still send orders), then venues and the core."""
        for strategy in self.strategies:
            try:
                strategy.stop()
            except Exception as error:
                self._on_handler_error(strategy.id, "on_stop", error)
        for actor in [*self._venues, *reversed(self._core)]:
            actor.stop()

    def stop_strategies(self, *, cancel_open_orders: bool = False) -> None:
        """Stop the running strategies (a session ends): optionally cancel their open orders
        first, then `on_stop`, then keep what `on_save` returns for the next start.

        Canceled orders are remembered per strategy: the next `resume_strategies` hands
        them over (`Strategy.canceled_at_stop`), so a protective stop can be re-placed.
        """
        for strategy in self.strategies:
            self._stop_strategy(strategy, cancel_open_orders=cancel_open_orders)

    def _stop_strategy(self, strategy: Strategy, *, cancel_open_orders: bool) -> None:
        if strategy.state is not ActorState.RUNNING:
            return
        try:
            if cancel_open_orders:
                canceled = strategy.cancel_orders_for_stop()
                if canceled:
                    logger.warning(
                        "strategy %s: the stop cancels its %d open orders (%s); it is "
                        "told on the next start",
                        strategy.id, len(canceled),
                        ", ".join(o.client_order_id for o in canceled))
            else:
                kept = strategy.open_orders()
                if kept:
                    logger.info("strategy %s: %d open orders stay working across the stop",
                                strategy.id, len(kept))
            strategy.stop()
            strategy.save_state()
        except Exception as error:
            self._on_handler_error(strategy.id, "on_stop", error)

    def resume_strategies(self) -> None:
        """Start the strategies a session end stopped, handing them their saved state and
        the orders the stop canceled (readable in `on_start` and `on_load`)."""
        for strategy in self.strategies:
            self._resume_strategy(strategy)

    def _resume_strategy(self, strategy: Strategy) -> None:
        if strategy.state is not ActorState.STOPPED:
            return
        canceled = strategy.settle_canceled_at_stop()
        try:
            strategy.start()
            strategy.load_state()
        except Exception as error:
            self._on_handler_error(strategy.id, "on_start", error)
        finally:
            strategy.clear_canceled_at_stop()
        if canceled:
            logger.warning("strategy %s: told on start that the last stop canceled %d of "
                           "its orders (%s)", strategy.id, len(canceled),
                           ", ".join(o.client_order_id for o in canceled))

    def _on_strategy_control(self, command: StartStrategy | StopStrategy) -> None:
        """An operator starts or stops one strategy (`STRATEGIES_CONTROL`, a journal input).

        An unknown id or a strategy in the wrong state is left alone (the API checks
        first and says why); a replay of the journal repeats the same steps.
        """
        strategy = next((s for s in self.strategies if s.id == command.strategy_id), None)
        if strategy is None:
            logger.warning("strategies.control: no strategy %r", command.strategy_id)
        elif type(command) is StopStrategy:
            self._stop_strategy(strategy, cancel_open_orders=command.cancel_open_orders)
        else:
            self._resume_strategy(strategy)

    def begin_session(self, started: SessionStarted) -> None:
        """A daemon session starts (live, or replayed from the journal): its client order ids
        get the session's prefix, then the strategies a session end stopped resume."""
        if started.order_id_epoch_ms:
            self.session_epoch_ms = max(self.session_epoch_ms, started.order_id_epoch_ms)
            prefix = session_order_prefix(started.order_id_epoch_ms)
            for strategy in self.strategies:
                strategy.set_order_id_prefix(prefix)
        self.resume_strategies()

    def process(self, message: MarketData, topic: str) -> None:
        """Bring one market data item into the graph (see the module docstring for order)."""
        self.cache.update(message)
        self.drive_venues(message)
        self.bus.publish(topic, message)

    def drive_venues(self, message: MarketData) -> None:
        """Hand `message` to each market-driven venue that is matching (the others have
        nothing it could change: `MarketDrivenVenue.matching`), in the order added."""
        for venue in self._driven:
            if venue.matching:
                venue.process_market_data(message)

    # -- snapshots ---------------------------------------------------------------------------

    def unsnapshottable(self) -> str | None:
        """Why this graph cannot be snapshotted now (None when it can)."""
        if not self._started:
            return "the graph is not started"
        if not isinstance(self.clock, LiveClock):
            return f"its clock ({type(self.clock).__name__}) keeps no timer snapshot"
        for actor in self.actors():
            if not isinstance(actor, Snapshotting):
                return f"actor {actor.id} ({type(actor).__name__}) has no snapshot_state"
            if isinstance(actor, Strategy) and not actor.snapshottable:
                return f"strategy {actor.id} defines no on_save/on_load"
            if actor.state is not ActorState.RUNNING:
                return f"actor {actor.id} is {actor.state}"
        return None

    def fingerprint(self) -> str:
        """What must match for a snapshot to be restored here: the actors (ids, classes,
        configs), the instruments and the core configuration, as one digest."""
        parts: list[Any] = [
            [(actor.id, f"{type(actor).__module__}.{type(actor).__qualname__}",
              getattr(actor, "config", None)) for actor in self.actors()],
            list(self.instruments), self._core_configs, self.fail_fast,
        ]
        encoded = msgspec.json.encode(parts, enc_hook=repr)
        return hashlib.sha256(encoded).hexdigest()

    def snapshot(self) -> GraphSnapshot:
        """Capture the state between two inputs (see `unsnapshottable` first)."""
        reason = self.unsnapshottable()
        if reason is not None:
            raise RuntimeError(f"graph: cannot snapshot: {reason}")
        assert isinstance(self.clock, LiveClock)
        timers, sequence = self.clock.timer_states()
        return GraphSnapshot(
            actors={actor.id: msgspec.msgpack.encode(actor.snapshot_state())  # type: ignore[attr-defined]
                    for actor in self.actors()},
            timers=timers,
            timer_sequence=sequence,
            cache=dict(self.cache.last),
            wiring=self._wiring(),
            session_epoch_ms=self.session_epoch_ms,
            faults=self.faults,
            books=self.cache.book_states(),
        )

    def restore(self, snapshot: GraphSnapshot,
                parts: Mapping[str, msgspec.Struct] | None = None) -> None:
        """Start this (fresh) graph, then take back every actor's state from `snapshot`.

        The clock must be held at the snapshot's time. `parts` are the actors' states
        `decode_parts` already made of it (decoded once: they are most of a restart's
        snapshot cost). Raises ValueError when the snapshot does not fit this graph
        (other actors, other wiring, a part that does not decode): the caller then
        replays in full, on a fresh graph.
        """
        if not isinstance(self.clock, LiveClock):
            raise ValueError(f"graph: a {type(self.clock).__name__} restores no timers")
        if parts is None:
            parts = self.decode_parts(snapshot)
        self.start()
        actors = {actor.id: actor for actor in self.actors()}
        wiring = self._wiring()
        if wiring != snapshot.wiring:
            changed = sorted(set(wiring) ^ set(snapshot.wiring)) or ["their order"]
            raise ValueError(f"the graph's wiring differs from the snapshot's: {changed[:3]}")
        for actor_id, state in parts.items():
            actor = actors[actor_id]
            if not isinstance(actor, Snapshotting):  # parts made for another graph
                raise ValueError(f"actor {actor_id}: has no restore_state")
            actor.restore_state(state)
        self.clock.restore_timers(snapshot.timers, snapshot.timer_sequence,
                                  lambda owner: actors[owner]._timer_callback)
        self.cache.last = dict(snapshot.cache)
        self.cache.restore_books(snapshot.books)
        self.session_epoch_ms = snapshot.session_epoch_ms
        self.faults = snapshot.faults

    def decode_parts(self, snapshot: GraphSnapshot) -> dict[str, msgspec.Struct]:
        """Each actor's state in `snapshot`, decoded into its Struct; the graph need not
        be started (a snapshot that cannot fit is refused before anything runs).

        Raises:
            ValueError: other actors than this graph's, one without snapshots, or a part
                that does not decode into its actor's Struct.
        """
        actors = {actor.id: actor for actor in self.actors()}
        if sorted(actors) != sorted(snapshot.actors):
            raise ValueError(f"snapshot of actors {sorted(snapshot.actors)}, "
                             f"the graph has {sorted(actors)}")
        parts: dict[str, msgspec.Struct] = {}
        for actor_id, encoded in snapshot.actors.items():
            actor = actors[actor_id]
            if not isinstance(actor, Snapshotting):
                raise ValueError(f"actor {actor_id}: has no restore_state")
            try:
                parts[actor_id] = msgspec.msgpack.decode(encoded, type=actor.snapshot_type)
            except msgspec.DecodeError as error:
                raise ValueError(f"actor {actor_id}: its snapshot does not decode: {error}"
                                 ) from error
        return parts

    def _wiring(self) -> list[str]:
        bus = self.bus
        owners = bus._owners
        subscriptions = [f"sub {pattern} -> {owners.get(handler, '?')}"
                         for pattern, handler in bus._subscriptions]
        endpoints = [f"endpoint {name} -> {owners.get(route.handlers[0], '?')}"
                     for name, route in sorted(bus._endpoints.items())]
        return subscriptions + endpoints

    # -- faults ------------------------------------------------------------------------------

    def _on_handler_error(self, owner: str | None, message: Any, error: Exception) -> None:
        actor = self._actors.get(owner) if owner is not None else None
        if actor is None or not actor.isolate_faults or self.fail_fast:
            raise error
        self.faults += 1
        logger.error(
            "actor %s faulted on %s: %s: %s",
            actor.id,
            type(message).__name__,
            type(error).__name__,
            error,
            exc_info=error,
        )
        actor.fault(error, message)


def _restamp(instrument: Instrument, now: int) -> Instrument:
    return msgspec.structs.replace(instrument, ts_event=now, ts_init=now)
