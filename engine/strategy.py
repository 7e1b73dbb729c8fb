"""The strategy base: the user's actor, with order helpers that *send commands*.

A strategy never touches an order or a position: helpers build a command (rounded to the
instrument's increments, stamped by the clock, with a deterministic client order id) and
send it to risk; what happened comes back as events to `on_order_*` and
`on_position_*`. Reads (portfolio, open orders, instruments, last prices) are snapshots.

Faults are isolated: an exception in a strategy's handler stops that strategy
(`ActorFaulted`) and the graph goes on, unless the graph was built to fail fast.

A graceful daemon stop may cancel a strategy's open orders (`cancel_open_orders_on_stop`);
the next start then tells the strategy which ones (`canceled_at_stop`, readable in
`on_start` and `on_load`), so it can re-place what protected a position. Both steps are
driven by the journaled session markers, so a replay repeats them.

What a strategy keeps across a graceful stop is what its `on_save` returns, encoded at
once with msgpack (builtins and msgspec Structs; Decimals come back as strings, Structs
as dicts) and handed decoded to `on_load` at the next start, after `on_start` has made
fresh attributes. A value, not references to live objects: it is exact (floats are kept
bit for bit), cannot be changed after the stop, and can be stored (`saved_state`).
Indicators export their full running state for this (`Indicator.export_state`).
"""

from __future__ import annotations

import importlib
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

import msgspec

from engine.actor import Actor, Unattached
from engine.cache import MarketCache
from engine.domain.enums import (
    ContingencyType,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
    TriggerType,
)
from engine.domain.ids import ClientOrderIds
from engine.domain.money import round_down_to_increment, round_to_increment, to_decimal
from engine.domain.order import Order
from engine.domain.order_book import OrderBookView
from engine.events.algos import (
    AlgoOrderEvent,
    CancelAlgoOrder,
    SubmitAlgoOrder,
    TwapParameters,
    VwapParameters,
)
from engine.events.contingency import CancelOrderList, OrderListEvent, SubmitOrderList
from engine.events.fills import PositionEvent
from engine.events.market import (
    Bar,
    BarType,
    BookDelta,
    QuoteTick,
    SubscribeBars,
    SubscribeOrderBook,
    SubscribeQuoteTicks,
    SubscribeTradeTicks,
    TradeTick,
    UnsubscribeMarketData,
)
from engine.events.orders import CancelOrder, ModifyOrder, OrderEvent, SubmitOrder
from engine.instruments import InstrumentRegistry
from engine.ports import OpenOrdersView
from engine.topics import (
    ALGOS_EXECUTE,
    CONTINGENCY_EXECUTE,
    DATA_SUBSCRIBE,
    RISK_EXECUTE,
    algo_topic,
    bars_topic,
    book_topic,
    order_list_topic,
    order_topic,
    position_topic,
    quotes_topic,
    trades_topic,
)

if TYPE_CHECKING:
    from engine.actors.portfolio import Portfolio

__all__ = (
    "OrderListIds",
    "Strategy",
    "StrategyConfig",
    "StrategySnapshot",
    "load_strategy_class",
)

Number = Decimal | float | int | str
_STATE_ENCODER = msgspec.msgpack.Encoder()
# Enum members as module constants on the per-order path: a class attribute lookup on an
# enum costs ten times more.
_MARKET = OrderType.MARKET


class StrategyConfig(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Base of a strategy's typed parameters; subclass it and set `config_type`."""


class OrderListIds(msgspec.Struct, frozen=True, kw_only=True):
    """What an order list helper returns: the list's id and its orders' client ids, in
    the list's order (a bracket's: entry, stop-loss, take-profit)."""

    order_list_id: str
    client_order_ids: tuple[str, ...]


class StrategySnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A strategy's part of a snapshot: its order counter and id prefix, what a session
    stop kept for it, and its own state (what `on_save` returned, msgpack-encoded)."""

    order_count: int
    order_id_prefix: str
    saved_state: bytes
    canceled_by_stop: list[Order]
    state: bytes


class Strategy(Actor):
    """Base class for strategies. Override the `on_*` handlers you need."""

    isolate_faults: ClassVar[bool] = True
    config_type: ClassVar[type[StrategyConfig]] = StrategyConfig

    def __init__(self, strategy_id: str, config: StrategyConfig | None = None) -> None:
        super().__init__(strategy_id)
        self.config = config if config is not None else self.config_type()
        if not isinstance(self.config, self.config_type):
            raise TypeError(
                f"strategy {strategy_id} config {type(self.config).__name__}: "
                f"expected {self.config_type.__name__}"
            )
        self._order_count = 0
        self._order_ids = ClientOrderIds(strategy_id)
        self._order_id_prefix = ""
        # Until `bind`, stand-ins that say so when used: the order path reads them on
        # every order without a test or a property call.
        self._bound = False
        unbound = Unattached(f"strategy {strategy_id}: not added to a graph yet")
        self._instruments: InstrumentRegistry = cast("InstrumentRegistry", unbound)
        self._portfolio: Portfolio = cast("Portfolio", unbound)
        self._orders: OpenOrdersView = cast("OpenOrdersView", unbound)
        self._cache: MarketCache = cast("MarketCache", unbound)
        self._saved_state: bytes | None = None
        self._canceled_by_stop: list[Order] = []
        self._canceled_at_stop: tuple[Order, ...] = ()

    def bind(
        self,
        *,
        instruments: InstrumentRegistry,
        portfolio: Portfolio,
        orders: OpenOrdersView,
        cache: MarketCache,
    ) -> None:
        """Give read access to the graph's state (the graph calls this before `register`)."""
        self._instruments = instruments
        self._portfolio = portfolio
        self._orders = orders
        self._cache = cache
        self._bound = True

    def set_order_id_prefix(self, prefix: str) -> None:
        """Prefix the client order ids made from now on (a daemon session's, see
        `SessionStarted`), so no id a venue has seen comes back after a restart."""
        self._order_ids = ClientOrderIds(self._id, prefix)
        self._order_id_prefix = prefix

    # -- snapshots (engine.snapshot) ------------------------------------------------------

    snapshot_type: ClassVar[type[msgspec.Struct]] = StrategySnapshot

    @property
    def snapshottable(self) -> bool:
        """True when the strategy defines both `on_save` and `on_load`: its own state can
        then ride in a snapshot. `on_save` must return everything its decisions depend
        on, as plain msgpack values (a Decimal comes back to `on_load` as a str)."""
        return callable(getattr(self, "on_save", None)) and callable(getattr(self, "on_load", None))

    def snapshot_state(self) -> StrategySnapshot:
        if not self.snapshottable:
            raise TypeError(f"strategy {self._id}: defines no on_save/on_load to snapshot")
        return StrategySnapshot(
            order_count=self._order_count,
            order_id_prefix=self._order_id_prefix,
            saved_state=msgspec.msgpack.encode(self._saved_state),
            canceled_by_stop=list(self._canceled_by_stop),
            state=msgspec.msgpack.encode(self.on_save()),  # type: ignore[attr-defined]
        )

    def restore_state(self, state: StrategySnapshot) -> None:
        """Restore on the started strategy: counters, order id prefix, then `on_load`."""
        self._order_count = state.order_count
        self.set_order_id_prefix(state.order_id_prefix)
        self._saved_state = msgspec.msgpack.decode(state.saved_state)
        self._canceled_by_stop = list(state.canceled_by_stop)
        self.on_load(msgspec.msgpack.decode(state.state))  # type: ignore[attr-defined]

    def save_state(self) -> None:
        """Keep what `on_save` returns (if the strategy defines it) for the next `load_state`,
        encoded now: the state as it was at the stop, exact, storable.

        Raises:
            TypeError: `on_save` returned something msgpack cannot encode (the graph
                faults the strategy on it, naming the value's type).
        """
        on_save = getattr(self, "on_save", None)
        state = on_save() if on_save is not None else None
        try:
            self._saved_state = None if state is None else _STATE_ENCODER.encode(state)
        except (TypeError, ValueError) as error:
            raise TypeError(f"strategy {self._id}: on_save returned a {type(state).__name__} "
                            f"that cannot be saved ({error}); return builtins, msgspec "
                            "Structs or an indicator's export_state()") from error

    def load_state(self) -> None:
        """Hand the state kept by `save_state` to `on_load` (decoded), once, after a restart."""
        saved, self._saved_state = self._saved_state, None
        on_load = getattr(self, "on_load", None)
        if on_load is not None and saved is not None:
            on_load(msgspec.msgpack.decode(saved))

    @property
    def saved_state(self) -> bytes | None:
        """What the last graceful stop saved (msgpack), until the next start loads it."""
        return self._saved_state

    def restore_saved_state(self, saved: bytes | None) -> None:
        """Set what `load_state` hands `on_load` next (a snapshot's `saved_state`)."""
        self._saved_state = saved

    def cancel_orders_for_stop(self) -> list[Order]:
        """Cancel every open order because the session stops; remember them for the restart.

        Returns the orders as they were when canceled (the graph logs them).
        """
        canceled = self.open_orders()
        for order in canceled:
            self.cancel_order(order.client_order_id)
        self._canceled_by_stop = canceled
        return canceled

    def settle_canceled_at_stop(self) -> tuple[Order, ...]:
        """Before a restart's `on_start`: keep, of the orders the stop canceled, those that
        really ended canceled (one filled meanwhile, or still working, needs no re-placing)."""
        self._canceled_at_stop = tuple(
            order for order in self._canceled_by_stop
            if (now := self.orders.order(order.client_order_id)) is not None
            and now.status is OrderStatus.CANCELED
        )
        self._canceled_by_stop = []
        return self._canceled_at_stop

    def clear_canceled_at_stop(self) -> None:
        """After `on_start` and `on_load` have seen them: the restart's news is told once."""
        self._canceled_at_stop = ()

    @property
    def canceled_at_stop(self) -> tuple[Order, ...]:
        """During a restart's `on_start`/`on_load`: this strategy's orders that the last
        graceful stop canceled, as they were then (side, type, prices, `leaves_quantity`).

        Empty otherwise. A strategy whose stop orders protect a position re-places them
        here: the venue no longer works them.
        """
        return self._canceled_at_stop

    def start(self) -> None:
        # Own order and position events flow before on_start, so nothing sent there is missed.
        # A strategy with no handler for a family is not subscribed to it: each order
        # would otherwise cost it several deliveries that dispatch to nothing.
        handled = self._handler_names
        if any(issubclass(t, OrderEvent) for t in handled):
            self.subscribe(order_topic(self._id))
        if any(issubclass(t, PositionEvent) for t in handled):
            self.subscribe(position_topic(self._id))
        if any(issubclass(t, OrderListEvent) for t in handled):
            self.subscribe(order_list_topic(self._id))
        if any(issubclass(t, AlgoOrderEvent) for t in handled):
            self.subscribe(algo_topic(self._id))
        super().start()

    # -- read access -------------------------------------------------------------------------

    @property
    def instruments(self) -> InstrumentRegistry:
        self._check_bound()
        return self._instruments

    @property
    def portfolio(self) -> Portfolio:
        self._check_bound()
        return self._portfolio

    @property
    def orders(self) -> OpenOrdersView:
        self._check_bound()
        return self._orders

    def _check_bound(self) -> None:
        if not self._bound:
            raise RuntimeError(f"strategy {self._id}: not added to a graph yet")

    def open_orders(self, instrument_id: str | None = None) -> list[Order]:
        return self._orders.open_orders(strategy_id=self._id, instrument_id=instrument_id)

    def net_quantity(self, instrument_id: str) -> Decimal:
        """This strategy's signed position in `instrument_id` (0 when flat)."""
        return self._portfolio.net_quantity(instrument_id, self._id)

    def last_price(self, instrument_id: str) -> float | None:
        return self._cache.last_price(instrument_id)

    def order_book(self, instrument_id: str) -> OrderBookView | None:
        """The L2 book of `instrument_id` as it stands now (read-only: best bid/ask,
        spread, mid, depth, VWAP for a size); None until its first book delta.

        Subscribe with `subscribe_order_book` for the book to be kept. The view follows
        the book the graph applies every delta to before any strategy sees it (and the
        simulated venue matches against): in `on_book_delta` it already includes that
        delta. Act when `delta.last` is True: before it the book may be half a message.
        """
        book = self._cache.books.get(instrument_id)
        return None if book is None else OrderBookView(book)

    # -- data -----------------------------------------------------------------------------------

    def subscribe_bars(self, bar_type: BarType) -> None:
        """Receive `bar_type` bars in `on_bar`; the market data actor builds them if needed."""
        self.subscribe(bars_topic(bar_type.instrument_id, bar_type.timeframe), Bar)
        now = self._clock.timestamp_ns()
        self._bus.send(DATA_SUBSCRIBE, SubscribeBars(bar_type=bar_type, ts_event=now, ts_init=now))

    def subscribe_trade_ticks(self, instrument_id: str) -> None:
        self.subscribe(trades_topic(instrument_id), TradeTick)
        now = self._clock.timestamp_ns()
        self._bus.send(
            DATA_SUBSCRIBE,
            SubscribeTradeTicks(instrument_id=instrument_id, ts_event=now, ts_init=now),
        )

    def subscribe_quote_ticks(self, instrument_id: str) -> None:
        self.subscribe(quotes_topic(instrument_id), QuoteTick)
        now = self._clock.timestamp_ns()
        self._bus.send(
            DATA_SUBSCRIBE,
            SubscribeQuoteTicks(instrument_id=instrument_id, ts_event=now, ts_init=now),
        )

    def subscribe_order_book(self, instrument_id: str, depth: int | None = None) -> None:
        """Receive book deltas of `instrument_id` in `on_book_delta`."""
        self.subscribe(book_topic(instrument_id), BookDelta)
        now = self._clock.timestamp_ns()
        self._bus.send(DATA_SUBSCRIBE, SubscribeOrderBook(instrument_id=instrument_id, depth=depth,
                                                     ts_event=now, ts_init=now))

    def unsubscribe_bars(self, bar_type: BarType) -> None:
        self.unsubscribe(bars_topic(bar_type.instrument_id, bar_type.timeframe))
        self._unsubscribe_data("bars", bar_type.instrument_id, bar_type.timeframe)

    def unsubscribe_trade_ticks(self, instrument_id: str) -> None:
        self.unsubscribe(trades_topic(instrument_id))
        self._unsubscribe_data("trades", instrument_id)

    def unsubscribe_quote_ticks(self, instrument_id: str) -> None:
        self.unsubscribe(quotes_topic(instrument_id))
        self._unsubscribe_data("quotes", instrument_id)

    def unsubscribe_order_book(self, instrument_id: str) -> None:
        self.unsubscribe(book_topic(instrument_id))
        self._unsubscribe_data("book", instrument_id)

    def _unsubscribe_data(
        self, kind: Literal["bars", "trades", "quotes", "book"], instrument_id: str,
        timeframe: str | None = None,
    ) -> None:
        now = self._clock.timestamp_ns()
        self._bus.send(DATA_SUBSCRIBE, UnsubscribeMarketData(
            stream=kind, instrument_id=instrument_id, timeframe=timeframe, ts_event=now,
            ts_init=now))

    # -- orders ------------------------------------------------------------------------------------

    def market_order(
        self,
        instrument_id: str,
        side: OrderSide,
        quantity: Number,
        *,
        time_in_force: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
    ) -> str:
        """Send a market order; return its client order id."""
        return self._submit(instrument_id, side, _MARKET, quantity,
                            time_in_force=time_in_force, reduce_only=reduce_only)

    def limit_order(
        self,
        instrument_id: str,
        side: OrderSide,
        quantity: Number,
        price: Number,
        *,
        time_in_force: TimeInForce = TimeInForce.GTC,
        expire_ns: int | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
    ) -> str:
        return self._submit(instrument_id, side, OrderType.LIMIT, quantity, price=price,
                            time_in_force=time_in_force, expire_ns=expire_ns,
                            post_only=post_only, reduce_only=reduce_only)

    def stop_market_order(
        self,
        instrument_id: str,
        side: OrderSide,
        quantity: Number,
        trigger_price: Number,
        *,
        time_in_force: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
    ) -> str:
        return self._submit(instrument_id, side, OrderType.STOP_MARKET, quantity,
                            trigger_price=trigger_price, time_in_force=time_in_force,
                            reduce_only=reduce_only)

    def stop_limit_order(
        self,
        instrument_id: str,
        side: OrderSide,
        quantity: Number,
        trigger_price: Number,
        price: Number,
        *,
        time_in_force: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
    ) -> str:
        return self._submit(instrument_id, side, OrderType.STOP_LIMIT, quantity, price=price,
                            trigger_price=trigger_price, time_in_force=time_in_force,
                            reduce_only=reduce_only)

    def market_if_touched_order(
        self,
        instrument_id: str,
        side: OrderSide,
        quantity: Number,
        trigger_price: Number,
        *,
        time_in_force: TimeInForce = TimeInForce.GTC,
        expire_ns: int | None = None,
        trigger_type: TriggerType = TriggerType.DEFAULT,
        reduce_only: bool = False,
    ) -> str:
        """Send a market-if-touched order (a buy triggers as the price falls to the trigger)."""
        return self._submit(instrument_id, side, OrderType.MARKET_IF_TOUCHED, quantity,
                            trigger_price=trigger_price, time_in_force=time_in_force,
                            expire_ns=expire_ns, trigger_type=trigger_type,
                            reduce_only=reduce_only)

    def limit_if_touched_order(
        self,
        instrument_id: str,
        side: OrderSide,
        quantity: Number,
        trigger_price: Number,
        price: Number,
        *,
        time_in_force: TimeInForce = TimeInForce.GTC,
        expire_ns: int | None = None,
        trigger_type: TriggerType = TriggerType.DEFAULT,
        reduce_only: bool = False,
    ) -> str:
        """Send a limit-if-touched order: a limit at `price` once the trigger is touched."""
        return self._submit(instrument_id, side, OrderType.LIMIT_IF_TOUCHED, quantity,
                            price=price, trigger_price=trigger_price,
                            time_in_force=time_in_force, expire_ns=expire_ns,
                            trigger_type=trigger_type, reduce_only=reduce_only)

    def trailing_stop_market_order(
        self,
        instrument_id: str,
        side: OrderSide,
        quantity: Number,
        trailing_offset: Number,
        *,
        trailing_offset_type: TrailingOffsetType = TrailingOffsetType.PRICE,
        trigger_price: Number | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        expire_ns: int | None = None,
        trigger_type: TriggerType = TriggerType.DEFAULT,
        reduce_only: bool = False,
    ) -> str:
        """Send a trailing stop: its trigger follows the market `trailing_offset` behind.

        `trigger_price` is the first trigger; without it the venue sets one from the market.
        """
        return self._submit(instrument_id, side, OrderType.TRAILING_STOP_MARKET, quantity,
                            trigger_price=trigger_price, time_in_force=time_in_force,
                            expire_ns=expire_ns, trigger_type=trigger_type,
                            reduce_only=reduce_only,
                            trailing_offset=self._offset(instrument_id, trailing_offset,
                                                         trailing_offset_type),
                            trailing_offset_type=trailing_offset_type)

    def trailing_stop_limit_order(
        self,
        instrument_id: str,
        side: OrderSide,
        quantity: Number,
        trailing_offset: Number,
        limit_offset: Number,
        *,
        trailing_offset_type: TrailingOffsetType = TrailingOffsetType.PRICE,
        trigger_price: Number | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        expire_ns: int | None = None,
        trigger_type: TriggerType = TriggerType.DEFAULT,
        reduce_only: bool = False,
    ) -> str:
        """Send a trailing stop whose triggered order is a limit `limit_offset` past the trigger.

        Both offsets are in `trailing_offset_type` units; `trigger_price` as for
        `trailing_stop_market_order`.
        """
        return self._submit(instrument_id, side, OrderType.TRAILING_STOP_LIMIT, quantity,
                            trigger_price=trigger_price, time_in_force=time_in_force,
                            expire_ns=expire_ns, trigger_type=trigger_type,
                            reduce_only=reduce_only,
                            trailing_offset=self._offset(instrument_id, trailing_offset,
                                                         trailing_offset_type),
                            limit_offset=self._offset(instrument_id, limit_offset,
                                                      trailing_offset_type),
                            trailing_offset_type=trailing_offset_type)

    def _offset(
        self, instrument_id: str, offset: Number, offset_type: TrailingOffsetType
    ) -> Decimal:
        """Round a trailing offset as its unit needs: a price to the increment, ticks whole."""
        value = to_decimal(offset)
        if offset_type is TrailingOffsetType.TICKS:
            return round_to_increment(value, Decimal(1))
        instrument = self._instruments.get(instrument_id)
        if offset_type is TrailingOffsetType.PRICE and instrument is not None:
            return round_to_increment(value, instrument.price_increment)
        return value

    def cancel_order(self, client_order_id: str) -> None:
        order = self._orders.order(client_order_id)
        if order is None:
            raise ValueError(f"client order id {client_order_id!r}: no such order")
        now = self._clock.timestamp_ns()
        self._bus.send(RISK_EXECUTE, CancelOrder(
            strategy_id=self._id, client_order_id=client_order_id,
            instrument_id=order.instrument_id, ts_event=now, ts_init=now))

    def cancel_all_orders(self, instrument_id: str | None = None) -> None:
        for order in self.open_orders(instrument_id):
            self.cancel_order(order.client_order_id)

    def modify_order(
        self,
        client_order_id: str,
        *,
        quantity: Number | None = None,
        price: Number | None = None,
        trigger_price: Number | None = None,
        trailing_offset: Number | None = None,
        limit_offset: Number | None = None,
    ) -> None:
        """Change an open order; what is left None keeps its value. A trailing stop's
        `trailing_offset` and `limit_offset` are in its `trailing_offset_type` units."""
        order = self._orders.order(client_order_id)
        if order is None:
            raise ValueError(f"client order id {client_order_id!r}: no such order")
        instrument = self._instruments.require(order.instrument_id)
        now = self._clock.timestamp_ns()
        self._bus.send(
            RISK_EXECUTE,
            ModifyOrder(
                strategy_id=self._id,
                client_order_id=client_order_id,
                instrument_id=order.instrument_id,
                quantity=None if quantity is None
                else round_down_to_increment(to_decimal(quantity), instrument.size_increment),
                price=None if price is None
                else round_to_increment(to_decimal(price), instrument.price_increment),
                trigger_price=None if trigger_price is None
                else round_to_increment(to_decimal(trigger_price), instrument.price_increment),
                trailing_offset=None if trailing_offset is None else self._offset(
                    order.instrument_id, trailing_offset, order.trailing_offset_type),
                limit_offset=None if limit_offset is None else self._offset(
                    order.instrument_id, limit_offset, order.trailing_offset_type),
                ts_event=now,
                ts_init=now,
            ),
        )

    def close_position(self, instrument_id: str) -> str | None:
        """Flatten this strategy's position with a reduce-only market order; None if flat."""
        quantity = self.net_quantity(instrument_id)
        if quantity == 0:
            return None
        side = OrderSide.SELL if quantity > 0 else OrderSide.BUY
        return self.market_order(instrument_id, side, abs(quantity), reduce_only=True)

    # -- order lists (engine.actors.contingency) ----------------------------------------------

    def new_order(
        self,
        instrument_id: str,
        side: OrderSide,
        order_type: OrderType,
        quantity: Number,
        *,
        price: Number | None = None,
        trigger_price: Number | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        expire_ns: int | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
    ) -> SubmitOrder:
        """Build an order for `oco_orders` or `oto_orders`, rounded like the helpers' and
        with its client order id, without sending it."""
        return self._order_command(instrument_id, side, order_type, quantity, price=price,
                                   trigger_price=trigger_price, time_in_force=time_in_force,
                                   expire_ns=expire_ns, post_only=post_only,
                                   reduce_only=reduce_only)

    def oco_orders(self, *orders: SubmitOrder) -> OrderListIds:
        """Place orders of one instrument and quantity as one-cancels-the-other: a fill of
        one shrinks the others by as much, and a complete fill cancels them."""
        return self._submit_list(ContingencyType.OCO, list(orders))

    def oto_orders(self, parent: SubmitOrder, *children: SubmitOrder) -> OrderListIds:
        """Place `parent` now and hold `children` until it fills: each is released with the
        parent's filled quantity (at most its own) and grows as the parent fills more."""
        return self._submit_list(ContingencyType.OTO, [parent, *children])

    def bracket_order(
        self,
        instrument_id: str,
        side: OrderSide,
        quantity: Number,
        *,
        stop_loss: Number,
        take_profit: Number,
        entry_price: Number | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
    ) -> OrderListIds:
        """Enter with a market order (a limit at `entry_price` if given), protected once it
        fills by a stop-market at `stop_loss` and a limit at `take_profit` on the other
        side: an OCO pair whose quantity follows the entry's fills.

        Returns the list id and the client ids: entry, stop-loss, take-profit.
        """
        entry = self.new_order(
            instrument_id, side, OrderType.MARKET if entry_price is None else OrderType.LIMIT,
            quantity, price=entry_price, time_in_force=time_in_force)
        exit_side = side.opposite
        stop = self.new_order(instrument_id, exit_side, OrderType.STOP_MARKET, quantity,
                              trigger_price=stop_loss)
        target = self.new_order(instrument_id, exit_side, OrderType.LIMIT, quantity,
                                price=take_profit)
        return self._submit_list(ContingencyType.BRACKET, [entry, stop, target])

    def cancel_order_list(self, order_list_id: str) -> None:
        """Cancel the open orders of a list and release none of its held ones."""
        now = self._clock.timestamp_ns()
        self._bus.send(CONTINGENCY_EXECUTE, CancelOrderList(
            strategy_id=self._id, order_list_id=order_list_id, ts_event=now, ts_init=now))

    def _submit_list(self, kind: ContingencyType, orders: list[SubmitOrder]) -> OrderListIds:
        if not orders:
            raise ValueError(f"{kind} order list: no orders")
        ids = OrderListIds(order_list_id=f"{orders[0].client_order_id}-list",
                           client_order_ids=tuple(o.client_order_id for o in orders))
        now = self._clock.timestamp_ns()
        self._bus.send(CONTINGENCY_EXECUTE, SubmitOrderList(
            strategy_id=self._id, order_list_id=ids.order_list_id, contingency=kind,
            orders=tuple(orders), ts_event=now, ts_init=now))
        return ids

    # -- execution algorithms (engine.algos) ----------------------------------------------

    def twap_order(
        self,
        instrument_id: str,
        side: OrderSide,
        quantity: Number,
        *,
        horizon_ns: int,
        interval_ns: int,
        limit_price: Number | None = None,
    ) -> str:
        """Execute `quantity` in equal slices: one now and one every `interval_ns` until
        `horizon_ns` (market children, or limits at `limit_price`); return the parent id.

        Raises:
            ValueError: an interval not above 0 or longer than the horizon.
        """
        return self._submit_algo(instrument_id, side, quantity, TwapParameters(
            horizon_ns=horizon_ns, interval_ns=interval_ns), limit_price)

    def vwap_order(
        self,
        instrument_id: str,
        side: OrderSide,
        quantity: Number,
        *,
        horizon_ns: int,
        participation: Number,
        timeframe: str = "1m",
        limit_price: Number | None = None,
    ) -> str:
        """Execute `quantity` following the market's volume: after each `timeframe` bar, a
        child of `participation` x its volume; the rest at the horizon. Return the parent id.

        Raises:
            ValueError: a participation not in (0, 1] or a horizon not above 0.
        """
        return self._submit_algo(instrument_id, side, quantity, VwapParameters(
            horizon_ns=horizon_ns, participation=to_decimal(participation),
            timeframe=timeframe), limit_price)

    def cancel_algo_order(self, parent_order_id: str) -> None:
        """Stop an execution algorithm's slicing and cancel its open children."""
        now = self._clock.timestamp_ns()
        self._bus.send(ALGOS_EXECUTE, CancelAlgoOrder(
            strategy_id=self._id, parent_order_id=parent_order_id, ts_event=now, ts_init=now))

    def _submit_algo(
        self, instrument_id: str, side: OrderSide, quantity: Number,
        parameters: TwapParameters | VwapParameters, limit_price: Number | None,
    ) -> str:
        instrument = self._instruments.get(instrument_id)
        size = to_decimal(quantity)
        limit = None if limit_price is None else to_decimal(limit_price)
        if instrument is not None:  # an unknown one is denied by the algorithm actor
            size = round_down_to_increment(size, instrument.size_increment)
            if limit is not None:
                limit = round_to_increment(limit, instrument.price_increment)
        self._order_count += 1
        parent_order_id = self._order_ids.make(self._order_count)
        now = self._clock.timestamp_ns()
        self._bus.send(ALGOS_EXECUTE, SubmitAlgoOrder(
            strategy_id=self._id, parent_order_id=parent_order_id, instrument_id=instrument_id,
            side=side, quantity=size, parameters=parameters, limit_price=limit,
            ts_event=now, ts_init=now))
        return parent_order_id

    def _submit(
        self,
        instrument_id: str,
        side: OrderSide,
        order_type: OrderType,
        quantity: Number,
        *,
        price: Number | None = None,
        trigger_price: Number | None = None,
        **options: Any,
    ) -> str:
        command = self._order_command(instrument_id, side, order_type, quantity, price=price,
                                      trigger_price=trigger_price, **options)
        self._bus.send(RISK_EXECUTE, command)
        return command.client_order_id

    def _order_command(
        self,
        instrument_id: str,
        side: OrderSide,
        order_type: OrderType,
        quantity: Number,
        *,
        price: Number | None = None,
        trigger_price: Number | None = None,
        **options: Any,
    ) -> SubmitOrder:
        instrument = self._instruments.get(instrument_id)
        size = to_decimal(quantity)
        limit = None if price is None else to_decimal(price)
        trigger = None if trigger_price is None else to_decimal(trigger_price)
        if instrument is not None:  # unknown instruments go through unrounded: risk denies them
            size = round_down_to_increment(size, instrument.size_increment)
            if limit is not None:
                limit = round_to_increment(limit, instrument.price_increment)
            if trigger is not None:
                trigger = round_to_increment(trigger, instrument.price_increment)
        self._order_count += 1
        now = self._clock.timestamp_ns()
        return SubmitOrder(
            strategy_id=self._id,
            client_order_id=self._order_ids.make(self._order_count),
            instrument_id=instrument_id,
            side=side,
            order_type=order_type,
            quantity=size,
            price=limit,
            trigger_price=trigger,
            ts_event=now,
            ts_init=now,
            **options,
        )


def load_strategy_class(path: str) -> type[Strategy]:
    """Import `module:Class` and check it is a Strategy (users keep theirs anywhere importable)."""
    module_name, colon, class_name = path.partition(":")
    if not colon or not module_name or not class_name:
        raise ValueError(f"strategy class {path!r}: expected 'module:Class'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(
            f"strategy class {path!r}: cannot import {module_name}: {error}"
        ) from error
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not issubclass(cls, Strategy):
        raise ValueError(f"strategy class {path!r}: {class_name} is not a Strategy subclass")
    return cls
