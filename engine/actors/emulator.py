"""The order emulator: orders a venue does not place are held in the engine until they trigger.

A venue says per instrument which order types it places (`ExecutionClient.native_order_types`;
the ccxt adapter, say, places market and limit orders only). The graph registers the rest
here and with the order manager (`TradingGraph.emulate`): an order of such a type is
recorded EMULATED and sent here instead of to the venue. The emulator watches the
instrument's trades, quotes and bars, and when the trigger is reached it releases a
plain order under the same client order id: `OrderReleased` (the record becomes that
plain order), then the released `SubmitOrder` goes to `ORDERS_EXECUTE` and on to the
venue. Backtest, paper and live run the same code, so a strategy tested on emulated
stops trades the same stops live.

What is released
    stop-market, market-if-touched, trailing-stop-market: a market order;
    stop-limit, limit-if-touched: a limit order at the order's price;
    trailing-stop-limit: a limit order at its limit then (its limit offset beyond the
    trigger). The released order keeps side, quantity, time in force (with `expire_ns`),
    reduce-only and post-only, and the order list links.

When the trigger is reached
    By the rules the simulated venue triggers by (`engine.domain.triggers`, one
    implementation): a stop as the market rises (buy) or falls (sell) to the trigger, an
    if-touched order the other way; a trigger already passed by the first price seen is a
    gap (released at that price, the `released_price`). Prices watched, by trigger type:
    DEFAULT every trade, quote and bar; LAST trades and bars; BID_ASK quotes (a buy the
    ask, a sell the bid). A bar counts with its open, high and low (a trailing stop: its
    path, `bar_path`) only when it began at or after the order was held; one that began
    before counts with its close only, the one price known to be later. "After the hold"
    is in engine time (an item's `ts_init`), the clock the hold is read from: a venue's
    clock may run behind the engine's. Trailing stops trail every price they see;
    without a first trigger they take one from the last price the market cache knows
    when held (else from the first price seen), and every move is told as `OrderUpdated`
    (trigger, and a trailing-stop-limit's limit).

What differs from a venue that places the type
    The release is a new order the venue sees only then: it fills by the venue's rules
    for a market or limit order arriving at that moment, so a backtest's released market
    order fills at the next item (a bar's trigger is known only at its close), where a
    venue-held stop fills inside the bar. The emulator sees only the prices the engine
    receives: a trigger reached between two items, or while the daemon was down, is seen
    at the next item.

Held orders
    Cancels and modifies reach the emulator while it holds the order, and are answered at
    once (`OrderCanceled`, `OrderUpdated`, `OrderModifyRejected`): nothing is pending.
    GTD orders expire at `expire_ns`, DAY orders at the end of the UTC day they were held
    in (`OrderExpired`, a time alert: it fires in engine time like any timer). An order
    whose trigger type no data carries (MARK), or a GTD order with no future expiry, is
    rejected (`OrderRejected`). Nothing held is at the venue: reconciliation leaves
    emulated orders out, and the held orders are part of the graph's snapshot.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import ClassVar, Final

import msgspec

from engine.actor import Actor, ActorState
from engine.cache import MarketCache
from engine.domain.enums import (
    TRAILING_TYPES,
    OrderSide,
    OrderType,
    TimeInForce,
    TriggerType,
)
from engine.domain.money import price_from_float
from engine.domain.triggers import (
    bar_path,
    day_end_ns,
    retrailed_trigger,
    trailed_trigger,
    trailing_limit,
    trigger_reached,
    walk_trail,
)
from engine.events.market import Bar, QuoteTick, TradeTick
from engine.events.orders import (
    CancelOrder,
    ModifyOrder,
    OrderCanceled,
    OrderCancelRejected,
    OrderExpired,
    OrderModifyRejected,
    OrderRejected,
    OrderReleased,
    OrderUpdated,
    SubmitOrder,
    command_rejected,
)
from engine.events.system import TimerFired
from engine.instruments import InstrumentRegistry
from engine.snapshot import counters_of, set_counters
from engine.topics import (
    EMULATOR_EXECUTE,
    ORDERS_EXECUTE,
    ORDERS_PROCESS,
    all_bars_pattern,
    quotes_topic,
    trades_topic,
)

__all__ = (
    "EMULATED_TYPES",
    "EmulatorSnapshot",
    "EmulatorStatistics",
    "HeldOrder",
    "OrderEmulator",
    "released_type",
)

_BUY: Final = OrderSide.BUY
_MARKET: Final = OrderType.MARKET
_LIMIT: Final = OrderType.LIMIT
_TRAILING_LIMIT: Final = OrderType.TRAILING_STOP_LIMIT
_DEFAULT: Final = TriggerType.DEFAULT
_LAST: Final = TriggerType.LAST
_BID_ASK: Final = TriggerType.BID_ASK
_RELEASED_AS: Final[dict[OrderType, OrderType]] = {
    OrderType.STOP_MARKET: _MARKET,
    OrderType.MARKET_IF_TOUCHED: _MARKET,
    OrderType.TRAILING_STOP_MARKET: _MARKET,
    OrderType.STOP_LIMIT: _LIMIT,
    OrderType.LIMIT_IF_TOUCHED: _LIMIT,
    OrderType.TRAILING_STOP_LIMIT: _LIMIT,
}
EMULATED_TYPES: Final = frozenset(_RELEASED_AS)
"""The types the emulator can hold: every type with a trigger (market and limit orders are
what it releases, so a venue must place those itself)."""
_EXPIRY: Final = "expire:"


def released_type(order_type: OrderType) -> OrderType:
    """The plain type an emulated order of `order_type` is released as."""
    return _RELEASED_AS[order_type]


class HeldOrder(msgspec.Struct, frozen=True, kw_only=True):
    """One order the emulator holds: its terms now, and since when it is held.

    `command` is the order as submitted with every change since: a modify's terms, a
    trailing stop's trigger where the market moved it (and a trailing-stop-limit's
    limit, in `price`).
    """

    command: SubmitOrder
    held_ns: int
    expire_ns: int | None = None


class EmulatorStatistics(msgspec.Struct, frozen=True, kw_only=True):
    held: int
    """Orders held now."""
    emulated: int
    released: int
    canceled: int
    expired: int
    rejected: int
    modified: int
    trigger_moves: int
    """Trailing stops' trigger moves told (`OrderUpdated`)."""


_COUNTERS: Final = ("_emulated", "_released", "_canceled", "_expired", "_rejected",
                    "_modified", "_moves")


class EmulatorSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The held orders in the order they were held, and the counters."""

    held: list[HeldOrder]
    counters: dict[str, int]


class OrderEmulator(Actor):
    """Hold orders of the types a venue does not place; release them at their trigger."""

    def __init__(self, instruments: InstrumentRegistry, cache: MarketCache,
                 actor_id: str = "emulator") -> None:
        super().__init__(actor_id)
        self._instruments = instruments
        self._cache = cache
        self._types: dict[str, frozenset[OrderType]] = {}  # instrument -> types emulated
        self._held: dict[str, HeldOrder] = {}  # client order id -> held, in holding order
        self._emulated = 0
        self._released = 0
        self._canceled = 0
        self._expired = 0
        self._rejected = 0
        self._modified = 0
        self._moves = 0

    def emulate(self, instrument_id: str, order_types: frozenset[OrderType]) -> None:
        """Watch `instrument_id` for held orders of `order_types` (before the graph starts:
        its market data subscriptions are made at start)."""
        if self.state is not ActorState.INITIALIZED:
            raise RuntimeError(f"emulator: emulate({instrument_id!r}) after the graph started")
        unknown = sorted(str(t) for t in order_types - EMULATED_TYPES)
        if unknown:
            raise ValueError(f"order types {unknown}: cannot be emulated (the emulator holds "
                             f"only types with a trigger: {sorted(map(str, EMULATED_TYPES))})")
        if order_types:
            self._types[instrument_id] = frozenset(order_types)
        else:
            self._types.pop(instrument_id, None)

    @property
    def config(self) -> list[tuple[str, list[str]]]:
        """What is emulated where (part of the graph's snapshot fingerprint)."""
        return [(instrument_id, sorted(map(str, types)))
                for instrument_id, types in sorted(self._types.items())]

    def on_start(self) -> None:
        self.register_endpoint(EMULATOR_EXECUTE)
        for instrument_id in sorted(self._types):  # sorted: the same wiring every run
            self.subscribe(trades_topic(instrument_id), TradeTick)
            self.subscribe(quotes_topic(instrument_id), QuoteTick)
            self.subscribe(all_bars_pattern(instrument_id), Bar)

    # -- read access -----------------------------------------------------------------------

    def held(self, client_order_id: str) -> HeldOrder | None:
        return self._held.get(client_order_id)

    def held_orders(self) -> list[HeldOrder]:
        """The orders held now, in the order they were held."""
        return list(self._held.values())

    def statistics(self) -> EmulatorStatistics:
        return EmulatorStatistics(
            held=len(self._held), emulated=self._emulated, released=self._released,
            canceled=self._canceled, expired=self._expired, rejected=self._rejected,
            modified=self._modified, trigger_moves=self._moves)

    # -- snapshots (engine.snapshot) -----------------------------------------------------

    snapshot_type: ClassVar[type[msgspec.Struct]] = EmulatorSnapshot

    def snapshot_state(self) -> EmulatorSnapshot:
        return EmulatorSnapshot(held=list(self._held.values()),
                                counters=counters_of(self, _COUNTERS))

    def restore_state(self, state: EmulatorSnapshot) -> None:
        # The expiry alerts are the clock's timers: the graph restores those itself.
        self._held = {held.command.client_order_id: held for held in state.held}
        set_counters(self, state.counters, _COUNTERS)

    # -- commands (from the order manager) ------------------------------------------------

    def on_submit_order(self, command: SubmitOrder) -> None:
        now = self._clock.timestamp_ns()
        self._emulated += 1
        reason = self._refusal(command, now)
        if reason:
            self._rejected += 1
            self._tell(OrderRejected(**_ids(command), reason=f"emulator: {reason}",
                                     ts_event=now, ts_init=now))
            return
        expire_ns = (command.expire_ns if command.time_in_force is TimeInForce.GTD
                     else day_end_ns(now) if command.time_in_force is TimeInForce.DAY
                     else None)
        held = HeldOrder(command=command, held_ns=now, expire_ns=expire_ns)
        self._held[command.client_order_id] = held
        if expire_ns is not None:
            self.set_time_alert(_EXPIRY + command.client_order_id, expire_ns)
        if command.order_type in TRAILING_TYPES and command.trigger_price is None:
            increment = self._increment(command.instrument_id)
            last = self._last(command.instrument_id, increment)
            if last is not None:
                self._move(held, trailed_trigger(
                    command.side, _offset(command), command.trailing_offset_type, last,
                    increment), now)

    def on_cancel_order(self, command: CancelOrder) -> None:
        now = self._clock.timestamp_ns()
        held = self._drop(command.client_order_id)
        if held is None:
            self._tell(command_rejected(OrderCancelRejected, command,
                                        "emulator: the order is not held here", now))
            return
        self._canceled += 1
        self._tell(OrderCanceled(**_ids(held.command), ts_event=now, ts_init=now))

    def on_modify_order(self, command: ModifyOrder) -> None:
        now = self._clock.timestamp_ns()
        held = self._held.get(command.client_order_id)
        if held is None:
            self._tell(command_rejected(OrderModifyRejected, command,
                                        "emulator: the order is not held here", now))
            return
        order = held.command
        reason = _modify_refusal(order, command)
        if reason:
            self._tell(command_rejected(OrderModifyRejected, command, f"emulator: {reason}",
                                        now))
            return
        trailing_offset, limit_offset = command.offsets_over(order.trailing_offset,
                                                             order.limit_offset)
        changed = msgspec.structs.replace(
            order,
            quantity=order.quantity if command.quantity is None else command.quantity,
            price=order.price if command.price is None else command.price,
            trigger_price=(order.trigger_price if command.trigger_price is None
                           else command.trigger_price),
            trailing_offset=trailing_offset, limit_offset=limit_offset,
        )
        retrail = order.order_type in TRAILING_TYPES and (
            command.trailing_offset is not None or command.limit_offset is not None)
        if retrail:  # new distances: the trigger is set again from the market, as a venue does
            increment = self._increment(order.instrument_id)
            trigger = retrailed_trigger(
                changed.side, _offset(changed), changed.trailing_offset_type,
                self._last(order.instrument_id, increment), changed.trigger_price, increment)
            if trigger is not None:
                changed = _with_trigger(changed, trigger, increment)
        self._held[order.client_order_id] = msgspec.structs.replace(held, command=changed)
        self._modified += 1
        self._tell(_updated(changed, now, now, offsets=(command.trailing_offset is not None
                                                        or command.limit_offset is not None)))

    # -- the market --------------------------------------------------------------------------

    def on_trade_tick(self, trade: TradeTick) -> None:
        if self._held:
            self._watch(trade.instrument_id, trade)

    def on_quote_tick(self, quote: QuoteTick) -> None:
        if self._held:
            self._watch(quote.instrument_id, quote)

    def on_bar(self, bar: Bar) -> None:
        if self._held:
            self._watch(bar.bar_type.instrument_id, bar)

    def on_timer(self, event: TimerFired) -> None:
        if not event.name.startswith(_EXPIRY):
            return
        held = self._drop(event.name[len(_EXPIRY):], cancel_alert=False)
        if held is None:
            return
        self._expired += 1
        now = self._clock.timestamp_ns()
        self._tell(OrderExpired(**_ids(held.command), ts_event=event.ts_event, ts_init=now))

    def _watch(self, instrument_id: str, item: TradeTick | QuoteTick | Bar) -> None:
        # "After the hold" is judged in engine time (`ts_init`, when the item came in),
        # the clock `held_ns` is read from: a venue's clock (`ts_event`) may run behind
        # the engine's, and its items would then all look older than the hold.
        arrived = item.ts_init
        # A list: releasing one sends events that may cancel or modify another held order.
        for client_order_id in [c for c, h in self._held.items()
                                if h.command.instrument_id == instrument_id]:
            held = self._held.get(client_order_id)
            if held is None or arrived < held.held_ns:
                continue
            path = _path(held, item, self._increment(instrument_id))
            if path:
                self._check(held, path, item.ts_event)

    def _check(self, held: HeldOrder, path: tuple[Decimal, ...], ts: int) -> None:
        order = held.command
        if order.order_type in TRAILING_TYPES:
            increment = self._increment(order.instrument_id)
            trail = walk_trail(order.side, _offset(order), order.trailing_offset_type,
                               order.trigger_price, path, increment)
            if trail.triggered_at is not None and trail.trigger is not None:
                self._release(held, trail.trigger, trail.triggered_at, ts)
            elif trail.moved and trail.trigger is not None:
                self._move(held, trail.trigger, ts)
            return
        trigger = order.trigger_price
        if trigger is None:  # risk refuses such an order; nothing to watch
            return
        reached = trigger_reached(order.side, order.order_type, trigger,
                                  path[0], max(path), min(path))
        if reached is not None:
            self._release(held, trigger, reached[0], ts)

    def _move(self, held: HeldOrder, trigger: Decimal, ts: int) -> None:
        """A trailing stop's trigger moves (or is set first): keep it, and tell it."""
        order = _with_trigger(held.command, trigger, self._increment(held.command.instrument_id))
        self._held[order.client_order_id] = msgspec.structs.replace(held, command=order)
        self._moves += 1
        self._tell(_updated(order, ts, self._clock.timestamp_ns()))

    def _release(self, held: HeldOrder, trigger: Decimal, price: Decimal, ts: int) -> None:
        order = held.command
        self._drop(order.client_order_id)
        plain = released_type(order.order_type)
        limit = order.price if plain is _LIMIT else None
        self._released += 1
        now = self._clock.timestamp_ns()
        self._tell(OrderReleased(**_ids(order), order_type=plain, price=limit,
                                 trigger_price=trigger, released_price=price,
                                 ts_event=ts, ts_init=now))
        self._bus.send(ORDERS_EXECUTE, msgspec.structs.replace(
            order, order_type=plain, price=limit, trigger_price=None, trailing_offset=None,
            limit_offset=None, trigger_type=_DEFAULT))

    # -- helpers -----------------------------------------------------------------------------

    def _drop(self, client_order_id: str, *, cancel_alert: bool = True) -> HeldOrder | None:
        held = self._held.pop(client_order_id, None)
        if held is not None and held.expire_ns is not None and cancel_alert:
            self.cancel_timer(_EXPIRY + client_order_id)
        return held

    def _refusal(self, command: SubmitOrder, now: int) -> str:
        if command.order_type not in EMULATED_TYPES:
            return f"order_type {command.order_type}: not emulated (it has no trigger)"
        if command.trigger_type not in (_DEFAULT, _LAST, _BID_ASK):
            return (f"trigger_type {command.trigger_type}: no market data the engine "
                    "receives carries those prices")
        if command.client_order_id in self._held:
            return f"client_order_id {command.client_order_id!r}: already held"
        if command.time_in_force is TimeInForce.GTD and (
                command.expire_ns is None or command.expire_ns <= now):
            return f"expire_ns {command.expire_ns}: a GTD order needs one after now ({now})"
        if command.order_type in TRAILING_TYPES and command.trailing_offset is None:
            return "trailing_offset: a trailing stop needs one"
        if command.order_type is _TRAILING_LIMIT and command.limit_offset is None:
            return "limit_offset: a trailing-stop-limit needs one"
        if self._instruments.get(command.instrument_id) is None:
            return f"instrument {command.instrument_id!r}: not in this graph"
        return ""

    def _last(self, instrument_id: str, increment: Decimal) -> Decimal | None:
        """The market cache's last price on the increment; None when none is known."""
        last = self._cache.last_price(instrument_id)
        if last is None or not math.isfinite(last):
            return None
        return price_from_float(last, increment)

    def _increment(self, instrument_id: str) -> Decimal:
        instrument = self._instruments.get(instrument_id)
        assert instrument is not None  # checked when the order was held
        return instrument.price_increment

    def _tell(self, event: OrderUpdated | OrderReleased | OrderRejected | OrderCanceled
              | OrderExpired | OrderCancelRejected | OrderModifyRejected) -> None:
        self._bus.send(ORDERS_PROCESS, event)


def _ids(order: SubmitOrder) -> dict[str, str]:
    return {"strategy_id": order.strategy_id, "client_order_id": order.client_order_id,
            "instrument_id": order.instrument_id}


def _offset(order: SubmitOrder) -> Decimal:
    assert order.trailing_offset is not None  # refused at holding otherwise
    return order.trailing_offset


def _with_trigger(order: SubmitOrder, trigger: Decimal, increment: Decimal) -> SubmitOrder:
    """`order` with a trailing stop's trigger, and a trailing-stop-limit's limit from it."""
    limit = order.price
    if order.order_type is _TRAILING_LIMIT and order.limit_offset is not None:
        limit = trailing_limit(order.side, order.limit_offset, order.trailing_offset_type,
                               trigger, increment)
    return msgspec.structs.replace(order, trigger_price=trigger, price=limit)


def _updated(order: SubmitOrder, ts_event: int, ts_init: int, *,
             offsets: bool = False) -> OrderUpdated:
    return OrderUpdated(
        **_ids(order), quantity=order.quantity, price=order.price,
        trigger_price=order.trigger_price,
        trailing_offset=order.trailing_offset if offsets else None,
        limit_offset=order.limit_offset if offsets else None,
        ts_event=ts_event, ts_init=ts_init)


def _path(held: HeldOrder, item: TradeTick | QuoteTick | Bar,
          increment: Decimal) -> tuple[Decimal, ...]:
    """The prices `item` shows the held order, in traded order (empty: none it watches)."""
    order = held.command
    watches = order.trigger_type
    if type(item) is TradeTick:
        if watches is _BID_ASK:
            return ()
        return _prices(increment, item.price)
    if type(item) is QuoteTick:
        if watches is _LAST:
            return ()
        return _prices(increment, item.ask_price if order.side is _BUY else item.bid_price)
    bar: Bar = item  # type: ignore[assignment]
    if watches is _BID_ASK:
        return ()
    if bar.ts_init - bar.bar_type.step_ns < held.held_ns:  # engine time, as in `_watch`
        return _prices(increment, bar.close)  # began before the hold: only its close is later
    prices = _prices(increment, bar.open, bar.high, bar.low, bar.close)
    if len(prices) < 4:
        return ()
    return bar_path(*prices)


def _prices(increment: Decimal, *values: float) -> tuple[Decimal, ...]:
    """The values on the increment; empty when one is not finite (bad data is skipped)."""
    if not all(math.isfinite(value) for value in values):
        return ()
    return tuple(price_from_float(value, increment) for value in values)


def _modify_refusal(order: SubmitOrder, command: ModifyOrder) -> str:
    """Why a held order cannot take `command` ('' when it can). Risk has checked the new
    terms against the instrument; what is left is what the order's type allows."""
    order_type = order.order_type
    trailing = order_type in TRAILING_TYPES
    if command.quantity is not None and command.quantity <= 0:
        return f"quantity {command.quantity}: must be > 0"
    if command.price is not None and (trailing or order_type not in (
            OrderType.STOP_LIMIT, OrderType.LIMIT_IF_TOUCHED)):
        return (f"price {command.price}: a {order_type} order's limit follows the market"
                if trailing else f"price {command.price}: a {order_type} order has no limit")
    if command.trigger_price is not None and trailing:
        return (f"trigger_price {command.trigger_price}: a {order_type} order's trigger "
                "follows the market")
    if (command.trailing_offset is not None or command.limit_offset is not None) and not trailing:
        return f"trailing_offset: a {order_type} order does not trail"
    return ""
