"""The risk actor: every order command passes its pre-trade checks before it leaves.

Strategies send order commands to `RISK_EXECUTE`; risk forwards the ones that pass,
unchanged, to `ORDERS_EXECUTE`. A refused submission becomes an `OrderDenied` and a
refused modification an `OrderModifyRejected`, both sent to `ORDERS_PROCESS` so the order
manager records and publishes them like any other order event. Nothing here raises on a
bad order: a denial is an expected outcome.

A submission is checked in this fixed order; the first failure is the reason:

 1. trading state    HALTED refuses all; REDUCING only what shrinks the net position
 2. reduce_only      a reduce-only order must shrink the strategy's own position
 3. instrument       known to the graph
 4. quantity         > 0 and a multiple of the size increment
 5. prices           present exactly for the types that use them, on the price increment;
                     trailing offsets likewise (> 0), the trigger type one that can work
 6. min_quantity     of the instrument
 7. notional         >= the instrument's min_notional, <= max_order_notional
 8. position         max_position_quantity, across strategies, after fills (see below)
 9. open orders      max_open_orders, across strategies and instruments
10. order rate       max_orders_per_interval accepted submissions in a sliding window
11. price band       limit and trigger prices near the last price (skipped without one)
12. free balance     with `check_free_balance`: a buy's notional plus taker fee within the
                     free quote balance, a sell's quantity within the free base balance
                     (spot only: a perpetual takes margin, which its venue checks)

Limits left unset (None) are not checked at all.

Free balance is the portfolio's balance (fills, corrected by the venue's account states)
less what open and in-flight orders of the same side hold: for buys their leaves times
their price (limit, else trigger, else the last price), for sells their leaves. It is
the cash-account rule (a spot exchange refuses an order it cannot cover), so it is off
by default: a margin account or a backtest that shorts spot leaves it off.

The notional is quantity times the limit price, else the trigger price, else (market
orders) the last price of the `MarketCache`. A market order with no last price cannot
be valued: it passes the instrument's min_notional (the venue still enforces it) and is
denied only when max_order_notional is set.

Counting is by the worst case. The position projection adds this order and every open
same-side order's leaves quantity to the filled net position. Submissions risk let
through that the order manager has not recorded yet ("in flight": a strategy that sends
several orders from one handler) count as open orders too, so a burst cannot slip past
the open-order and position limits before the order manager catches up. A bracket's exit
is projected from the position its entry makes once it has filled, and without its
sibling exit (the two are one OCO pair): a venue-linked bracket sends its exits before
the entry trades, and counting them against the flat position would refuse every one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from decimal import Decimal
from math import isfinite
from typing import Annotated, ClassVar

import msgspec

from engine.actor import Actor
from engine.actors.orders import order_record
from engine.actors.risk_checks import (
    check_free_balance,
    check_instrument_known,
    check_min_notional,
    check_min_quantity,
    check_open_orders,
    check_order_notional,
    check_order_rate,
    check_position,
    check_price_band,
    check_prices,
    check_quantity,
    check_reduce_only,
    check_trading_state,
    check_trailing_terms,
    order_notional,
    reason_key,
)
from engine.cache import MarketCache
from engine.domain.enums import (
    TRAILING_TYPES,
    ContingencyType,
    InstrumentClass,
    OrderSide,
    OrderStatus,
    TradingState,
    TriggerType,
)
from engine.domain.money import ZERO, price_from_float
from engine.domain.order import Order
from engine.events.market import Instrument
from engine.events.orders import (
    CancelOrder,
    ModifyOrder,
    OrderModifyRejected,
    SetTradingState,
    SubmitOrder,
    command_rejected,
    order_denied,
)
from engine.events.system import TradingStateChanged
from engine.instruments import InstrumentRegistry
from engine.ports import BalancesView, OpenOrdersView, PositionsView
from engine.snapshot import counters_of, set_counters
from engine.topics import ORDERS_EXECUTE, ORDERS_PROCESS, RISK_EXECUTE, system_topic

__all__ = (
    "RiskActor",
    "RiskConfig",
    "RiskSnapshot",
    "RiskStatistics",
)

_PositiveInt = Annotated[int, msgspec.Meta(gt=0)]
# Enum members as module constants on the per-order path: a class attribute lookup on an
# enum costs ten times more.
_INITIALIZED = OrderStatus.INITIALIZED
_SUBMITTED = OrderStatus.SUBMITTED
_DEFAULT = TriggerType.DEFAULT
_BRACKET = ContingencyType.BRACKET
_TRAILING = TRAILING_TYPES


def _holding(
    quantity: Decimal,
    price: Decimal | None,
    trigger_price: Decimal | None,
    last_price: Decimal | None,
    buy: bool,
) -> Decimal | None:
    """What an order holds of the balance it draws on: quote value for a buy, base for a sell."""
    if not buy:
        return quantity
    return order_notional(quantity, price, trigger_price, last_price)


def _first_failure(reasons: Iterator[str | None]) -> str | None:
    """Return the first reason a lazy sequence of checks gives; later checks never run."""
    try:
        return next((reason for reason in reasons if reason is not None), None)
    except ArithmeticError as error:  # a Decimal too large or malformed to compute with
        return _invalid_number(error)


def _invalid_number(error: ArithmeticError) -> str:
    return f"invalid_number: {type(error).__name__} while checking the order"


_LimitCheck = Callable[[SubmitOrder, Instrument, Decimal, Decimal | None], str | None]
"""One configured limit: (the order, its instrument, the net position, the last price)."""


class RiskConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The risk limits; every limit left as None is unlimited.

    `max_position_quantity` bounds the absolute net position of one instrument, summed
    over strategies, as if this order and the open same-side orders all filled.
    `rate_interval_ns` is the sliding window `max_orders_per_interval` counts accepted
    submissions in, by the engine clock. `trading_state` is the state at start.
    `check_free_balance` refuses orders the free balance cannot cover (cash accounts). To
    forbid trading, use HALTED rather than a zero limit: limits must be > 0.
    """

    max_order_notional: Decimal | None = None
    max_position_quantity: Decimal | None = None
    max_open_orders: _PositiveInt | None = None
    max_orders_per_interval: _PositiveInt | None = None
    rate_interval_ns: _PositiveInt = 1_000_000_000
    price_band_fraction: Decimal | None = None
    trading_state: TradingState = TradingState.ACTIVE
    check_free_balance: bool = False

    def __post_init__(self) -> None:
        # msgspec.Meta bounds apply to decoding only and not to Decimal: check here, always.
        for name, decimal_value in (
            ("max_order_notional", self.max_order_notional),
            ("max_position_quantity", self.max_position_quantity),
            ("price_band_fraction", self.price_band_fraction),
        ):
            if decimal_value is not None and not (decimal_value.is_finite() and decimal_value > 0):
                raise ValueError(f"{name} {decimal_value}: must be a finite number > 0")
        for name, int_value in (
            ("max_open_orders", self.max_open_orders),
            ("max_orders_per_interval", self.max_orders_per_interval),
            ("rate_interval_ns", self.rate_interval_ns),
        ):
            if int_value is not None and int_value <= 0:
                raise ValueError(f"{name} {int_value}: must be > 0")


class RiskStatistics(msgspec.Struct, frozen=True, kw_only=True):
    """Counters since construction.

    `commands_checked` counts submissions and modifications run through the checks;
    `commands_denied` those refused (OrderDenied or OrderModifyRejected), also by reason
    key; `commands_forwarded` every command sent on, cancellations included.
    """

    trading_state: TradingState
    commands_checked: int
    commands_denied: int
    commands_forwarded: int
    denied_by_reason: dict[str, int]


_COUNTERS = ("_checked", "_denied", "_forwarded")


class RiskSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Risk's counters and windows: the trading state, recent acceptances, in-flight orders."""

    trading_state: TradingState
    accepted_ns: list[int]
    in_flight: dict[str, SubmitOrder]
    denied_by_reason: dict[str, int]
    counters: dict[str, int]


class RiskActor(Actor):
    """Check order commands against the limits and the trading state; forward or refuse."""

    def __init__(
        self,
        config: RiskConfig,
        instruments: InstrumentRegistry,
        positions: PositionsView,
        orders: OpenOrdersView,
        cache: MarketCache,
        balances: BalancesView | None = None,
    ) -> None:
        super().__init__("risk")
        if config.check_free_balance and balances is None:
            raise ValueError("risk: check_free_balance needs a balances view")
        self._balances = balances
        self._config = config
        self._instruments = instruments
        self._positions = positions
        self._orders = orders
        self._cache = cache
        self._trading_state = config.trading_state
        self._accepted_ns: deque[int] = deque()
        self._in_flight: dict[str, SubmitOrder] = {}
        self._price_memo: dict[str, tuple[float, Decimal]] = {}
        self._checked = 0
        self._denied = 0
        self._forwarded = 0
        self._denied_by_reason: dict[str, int] = {}
        # Built once: only the limits the config sets are ever asked (see _submit_refusal).
        self._limit_checks = self._limit_pipeline(config)
        self._limits_need_price = (config.max_order_notional is not None
                                   or config.price_band_fraction is not None
                                   or config.check_free_balance)

    def on_start(self) -> None:
        self.register_endpoint(RISK_EXECUTE)

    # -- public ----------------------------------------------------------------------------

    @property
    def trading_state(self) -> TradingState:
        return self._trading_state

    # -- snapshots (engine.snapshot) ------------------------------------------------------

    snapshot_type: ClassVar[type[msgspec.Struct]] = RiskSnapshot

    def snapshot_state(self) -> RiskSnapshot:
        # The price memo is left out: a cache of one conversion, refilled on first use.
        return RiskSnapshot(
            trading_state=self._trading_state,
            accepted_ns=list(self._accepted_ns),
            in_flight=dict(self._in_flight),
            denied_by_reason=dict(self._denied_by_reason),
            counters=counters_of(self, _COUNTERS),
        )

    def restore_state(self, state: RiskSnapshot) -> None:
        self._trading_state = state.trading_state
        self._accepted_ns = deque(state.accepted_ns)
        self._in_flight = dict(state.in_flight)
        self._denied_by_reason = dict(state.denied_by_reason)
        set_counters(self, state.counters, _COUNTERS)

    def statistics(self) -> RiskStatistics:
        return RiskStatistics(
            trading_state=self._trading_state,
            commands_checked=self._checked,
            commands_denied=self._denied,
            commands_forwarded=self._forwarded,
            denied_by_reason=dict(sorted(self._denied_by_reason.items())),
        )

    # -- handlers ----------------------------------------------------------------------------

    def on_submit_order(self, command: SubmitOrder) -> None:
        self._settle_in_flight()
        self._checked += 1
        try:
            reason = self._submit_refusal(command)
        except ArithmeticError as error:  # a Decimal too large or malformed to compute with
            reason = _invalid_number(error)
        now = self._clock.timestamp_ns()
        if reason is None:
            if self._config.max_orders_per_interval is not None:
                self._accepted_ns.append(now)
            self._in_flight[command.client_order_id] = command
            self._forward(command)
            return
        self._count_denial(reason)
        self._bus.send(ORDERS_PROCESS, order_denied(command, reason, now))

    def on_cancel_order(self, command: CancelOrder) -> None:
        # Canceling only lowers exposure, so it goes through in every state, HALTED included.
        self._forward(command)

    def on_modify_order(self, command: ModifyOrder) -> None:
        """Check the order as it would be after the change; refuse with OrderModifyRejected.

        Only an order risk can see is checked (the order manager's open orders and risk's
        own in-flight submissions); anything else goes on to the order manager, which
        owns the answer for unknown or closed orders.
        """
        self._settle_in_flight()
        order = self._current_order(command.client_order_id)
        if order is None or not order.is_open:
            self._forward(command)
            return
        self._checked += 1
        reason = _first_failure(self._modify_checks(command, order))
        if reason is None:
            self._forward(command)
            return
        self._count_denial(reason)
        rejected = command_rejected(
            OrderModifyRejected, command, reason, self._clock.timestamp_ns()
        )
        self._bus.send(ORDERS_PROCESS, rejected)

    def on_set_trading_state(self, command: SetTradingState) -> None:
        """Switch the trading state; publish TradingStateChanged only when it changes."""
        if command.state is self._trading_state:
            return
        self._trading_state = command.state
        now = self._clock.timestamp_ns()
        changed = TradingStateChanged(
            state=command.state, reason=command.reason, ts_event=now, ts_init=now
        )
        self._bus.publish(system_topic(self._id), changed)

    # -- checks ------------------------------------------------------------------------------

    def _submit_refusal(self, command: SubmitOrder) -> str | None:
        """The first check `command` fails (the module docstring's order), or None.

        The checks every order takes run inline; the configured limits are the pipeline
        `_limit_checks` built once from the config, so a limit left unset costs nothing.
        """
        side, quantity = command.side, command.quantity
        net_quantity = self._positions.net_quantity(command.instrument_id)
        reason = check_trading_state(self._trading_state, net_quantity, side, quantity)
        if reason is None and command.reduce_only:
            reason = check_reduce_only(
                True, self._positions.net_quantity(command.instrument_id, command.strategy_id),
                side, quantity)
        if reason is not None:
            return reason
        instrument = self._instruments.get(command.instrument_id)
        if instrument is None:
            return check_instrument_known(command.instrument_id, False)
        order_type = command.order_type
        reason = check_quantity(quantity, instrument.size_increment) or check_prices(
            order_type, command.price, command.trigger_price, instrument.price_increment)
        if reason is None and (
                order_type in _TRAILING or command.trailing_offset is not None
                or command.limit_offset is not None or command.trigger_type is not _DEFAULT):
            reason = check_trailing_terms(
                order_type, command.trailing_offset, command.trailing_offset_type,
                command.limit_offset, command.trigger_type, instrument.price_increment,
            )
        if reason is not None:
            return reason
        reason = check_min_quantity(quantity, instrument.min_quantity)
        if reason is not None:
            return reason
        # The last price (a float made Decimal and rounded) is only worth computing when a
        # check needs it; with none set this saves the conversion on every order.
        min_notional = instrument.min_notional > 0
        last_price = (self._last_price(instrument)
                      if min_notional or self._limits_need_price else None)
        if min_notional or self._config.max_order_notional is not None:
            notional = order_notional(quantity, command.price, command.trigger_price, last_price)
            reason = check_min_notional(notional, instrument.min_notional) or (
                check_order_notional(notional, self._config.max_order_notional,
                                     command.instrument_id))
            if reason is not None:
                return reason
        for check in self._limit_checks:
            reason = check(command, instrument, net_quantity, last_price)
            if reason is not None:
                return reason
        return None

    def _limit_pipeline(self, config: RiskConfig) -> tuple[_LimitCheck, ...]:
        """The checks of the limits `config` sets, in the module docstring's order."""
        checks: list[_LimitCheck] = []
        if config.max_position_quantity is not None:
            checks.append(self._position_limit)
        if config.max_open_orders is not None:
            checks.append(self._open_orders_limit)
        if config.max_orders_per_interval is not None:
            checks.append(self._rate_limit)
        if config.price_band_fraction is not None:
            checks.append(self._price_band_limit)
        if config.check_free_balance:
            checks.append(self._free_balance_check)
        return tuple(checks)

    def _position_limit(self, command: SubmitOrder, instrument: Instrument,
                        net_quantity: Decimal, last_price: Decimal | None) -> str | None:
        base, own_list = net_quantity, None
        if command.contingency is _BRACKET and command.parent_order_id is not None:
            base = self._after_entry(command.parent_order_id, net_quantity)
            own_list = command.order_list_id
        same_side = self._same_side_leaves(command.instrument_id, command.side, excluding=None,
                                           excluding_list=own_list)
        return check_position(base, command.side, command.quantity, same_side,
                              self._config.max_position_quantity)

    def _open_orders_limit(self, command: SubmitOrder, instrument: Instrument,
                           net_quantity: Decimal, last_price: Decimal | None) -> str | None:
        open_count = self._orders.open_order_count() + len(self._in_flight)
        return check_open_orders(open_count, self._config.max_open_orders)

    def _rate_limit(self, command: SubmitOrder, instrument: Instrument,
                    net_quantity: Decimal, last_price: Decimal | None) -> str | None:
        config = self._config
        return check_order_rate(self._recent_submissions(), config.max_orders_per_interval,
                                config.rate_interval_ns)

    def _price_band_limit(self, command: SubmitOrder, instrument: Instrument,
                          net_quantity: Decimal, last_price: Decimal | None) -> str | None:
        fraction = self._config.price_band_fraction
        return check_price_band("price", command.price, last_price, fraction) or (
            check_price_band("trigger_price", command.trigger_price, last_price, fraction))

    def _free_balance_check(
        self, command: SubmitOrder, instrument: Instrument, net_quantity: Decimal,
        last_price: Decimal | None,
    ) -> str | None:
        balances = self._balances
        if balances is None:  # refused in __init__; kept for the type checker
            return "free_balance: no balances to check against"
        if instrument.instrument_class is InstrumentClass.PERPETUAL:
            return None  # a cash-account rule: a perpetual takes margin (the venue's check)
        buy = command.side is OrderSide.BUY
        currency = instrument.quote_currency if buy else instrument.base_currency
        held = ZERO
        for order in self._orders.open_orders(instrument_id=None):
            other = self._instruments.get(order.instrument_id)
            if order.side is not command.side or other is None:
                continue
            if (other.quote_currency if buy else other.base_currency) != currency:
                continue
            value = _holding(order.leaves_quantity, order.price, order.trigger_price,
                             self._last_price(other), buy)
            if value is None:
                continue
            held += value
        for submitted in self._in_flight.values():
            other = self._instruments.get(submitted.instrument_id)
            if submitted.side is not command.side or other is None or (
                (other.quote_currency if buy else other.base_currency) != currency
            ):
                continue
            value = _holding(submitted.quantity, submitted.price, submitted.trigger_price,
                             self._last_price(other), buy)
            held += value if value is not None else ZERO
        required = _holding(command.quantity, command.price, command.trigger_price,
                            last_price, buy)
        if required is not None and buy:
            required += required * instrument.taker_fee
        return check_free_balance(required, balances.balance(currency) - held, currency)

    def _modify_checks(self, command: ModifyOrder, order: Order) -> Iterator[str | None]:
        config = self._config
        quantity = order.quantity if command.quantity is None else command.quantity
        price = order.price if command.price is None else command.price
        trigger_price = command.trigger_price
        if trigger_price is None:
            trigger_price = order.trigger_price
        leaves = quantity - order.filled_quantity
        grows = quantity > order.quantity
        net_quantity = self._positions.net_quantity(order.instrument_id)
        # HALTED refuses every change; REDUCING only a larger order that does not reduce.
        if grows or self._trading_state is TradingState.HALTED:
            yield check_trading_state(self._trading_state, net_quantity, order.side, leaves)
        instrument = self._instruments.get(order.instrument_id)
        yield check_instrument_known(order.instrument_id, instrument is not None)
        if instrument is None:
            return
        if command.quantity is not None:
            yield check_quantity(command.quantity, instrument.size_increment)
        if order.order_type in _TRAILING:
            price = command.price  # the venue sets a trailing-stop-limit's limit
        yield check_prices(order.order_type, price, trigger_price, instrument.price_increment)
        if command.trailing_offset is not None or command.limit_offset is not None:
            trailing_offset, limit_offset = command.offsets_over(order.trailing_offset,
                                                                 order.limit_offset)
            yield check_trailing_terms(
                order.order_type, trailing_offset, order.trailing_offset_type, limit_offset,
                order.trigger_type, instrument.price_increment,
            )
        yield check_min_quantity(quantity, instrument.min_quantity)
        last_price = self._last_price(instrument)
        notional = order_notional(quantity, price, trigger_price, last_price)
        yield check_min_notional(notional, instrument.min_notional)
        yield check_order_notional(notional, config.max_order_notional, order.instrument_id)
        if grows:
            same_side = self._same_side_leaves(
                order.instrument_id, order.side, excluding=order.client_order_id
            )
            yield check_position(
                net_quantity, order.side, leaves, same_side, config.max_position_quantity
            )
        # Only the new prices: an unchanged price was checked when the order went out.
        yield check_price_band("price", command.price, last_price, config.price_band_fraction)
        yield check_price_band(
            "trigger_price", command.trigger_price, last_price, config.price_band_fraction
        )

    # -- state helpers ---------------------------------------------------------------------------

    def _settle_in_flight(self) -> None:
        """Forget in-flight submissions the order manager has recorded past INITIALIZED."""
        for client_order_id in list(self._in_flight):
            order = self._orders.order(client_order_id)
            if order is not None and order.status is not _INITIALIZED:
                del self._in_flight[client_order_id]

    def _current_order(self, client_order_id: str) -> Order | None:
        submitted = self._in_flight.get(client_order_id)
        if submitted is None:
            return self._orders.order(client_order_id)
        return order_record(submitted, status=_SUBMITTED)

    def _after_entry(self, entry_id: str, net_quantity: Decimal) -> Decimal:
        """The net position once a bracket's entry has filled: where its exits work from
        (a venue-linked exit is active only then; an engine-held one follows the fills)."""
        entry = self._current_order(entry_id)
        if entry is None or not entry.is_open:
            return net_quantity
        return net_quantity + entry.side.sign * entry.leaves_quantity

    def _same_side_leaves(
        self, instrument_id: str, side: OrderSide, *, excluding: str | None,
        excluding_list: str | None = None,
    ) -> Decimal:
        """Open and in-flight leaves on `side`, but `excluding` and the orders of the list
        `excluding_list` (a bracket exit's sibling is the other leg of one OCO pair)."""
        if not self._in_flight and not self._orders.open_order_count():
            return ZERO  # the usual case: nothing else is working
        open_leaves = sum(
            (
                order.leaves_quantity
                for order in self._orders.open_orders(instrument_id=instrument_id)
                if order.side is side and order.client_order_id != excluding
                and (excluding_list is None or order.order_list_id != excluding_list)
            ),
            ZERO,
        )
        in_flight = sum(
            (
                submitted.quantity
                for submitted in self._in_flight.values()
                if submitted.instrument_id == instrument_id
                and submitted.side is side
                and submitted.client_order_id != excluding
                and (excluding_list is None or submitted.order_list_id != excluding_list)
            ),
            ZERO,
        )
        return open_leaves + in_flight

    def _recent_submissions(self) -> int:
        """Count accepted submissions in (now - rate_interval_ns, now], dropping older ones."""
        horizon = self._clock.timestamp_ns() - self._config.rate_interval_ns
        accepted = self._accepted_ns
        while accepted and accepted[0] <= horizon:
            accepted.popleft()
        return len(accepted)

    def _last_price(self, instrument: Instrument) -> Decimal | None:
        last = self._cache.last_price(instrument.instrument_id)
        if last is None or not isfinite(last):
            return None
        # Orders cluster on the same bar: convert a given last price once.
        memo = self._price_memo.get(instrument.instrument_id)
        if memo is not None and memo[0] == last:
            return memo[1]
        price = price_from_float(last, instrument.price_increment)
        self._price_memo[instrument.instrument_id] = (last, price)
        return price

    # -- egress ------------------------------------------------------------------------------------

    def _forward(self, command: SubmitOrder | CancelOrder | ModifyOrder) -> None:
        self._forwarded += 1
        self._bus.send(ORDERS_EXECUTE, command)

    def _count_denial(self, reason: str) -> None:
        self._denied += 1
        key = reason_key(reason)
        self._denied_by_reason[key] = self._denied_by_reason.get(key, 0) + 1
