"""The simulated venue's margin account: perpetual positions, margin, funding, liquidation.

A venue configured with `margin` trades perpetuals (`InstrumentClass.PERPETUAL`, linear,
settled in their quote currency) on one cross-margin account per settlement currency:

- **Balance**: the settlement currency's, from the account's starting balances. A fill
  adds the pnl it realizes and takes its commission; funding is added when paid.
- **Positions**: per strategy and instrument (each strategy trades as a sub-account of
  the one account, as the venue's reduce-only rule has it), kept by the same rules as
  the portfolio's (`engine.actors.positions`), so the balances agree exactly: a netted
  position would realize one strategy's pnl against another's entries.
- **Equity** = balance + each position's unrealized pnl at its mark (the last price).
- **Initial margin**: |quantity| x mark / `leverage` per position, and per working order
  its leaves x its price (limit, else trigger, else the last price) / leverage. A submit
  is refused when the margin of what it would add (the part of it beyond the strategy's
  position it reduces) exceeds equity less the margin already used ("insufficient
  margin").
- **Maintenance margin**: |quantity| x mark x `maintenance_margin_rate` per position.
  After every item of a perpetual, the account is valued at the item's worst price for
  each position in that instrument (a bar's low for a long, its high for a short; a
  trade's price; a quote's bid for a long, its ask for a short), the others at their
  last price. Below maintenance the venue **liquidates**: every working order of the
  account's perpetuals is canceled, and every position closed at that worst price as a
  taker (`ExternalOrderAdopted` with `liquidation = True` under the strategy whose
  position it is, then its `OrderFilled`).
- **Funding**: a `FundingRate` item makes every open position of its instrument pay
  quantity x mark x rate (longs pay a positive rate, shorts receive it) as a
  `FundingPayment`, at the item's `mark_price` or else the last price.

Plain values only (no clock, no bus): the venue calls it and keeps its state in its
snapshot.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Final

import msgspec

from engine.actors.positions import PositionState, apply_fill
from engine.domain.enums import OrderSide
from engine.domain.money import ZERO, price_from_float, to_decimal
from engine.events.market import Bar, Instrument, QuoteTick, TradeTick

__all__ = (
    "MarginAccount",
    "MarginAccountState",
    "MarginConfig",
    "funding_amount",
    "marks_of",
    "worst_price",
)

_BUY: Final = OrderSide.BUY


class MarginConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the venue's margin account lends (`[venue.margin]`).

    Attributes:
        leverage: positions and orders take 1 / leverage of their notional as initial
            margin (1: fully funded).
        maintenance_margin_rate: the fraction of a position's notional the equity must
            stay above; below it the venue liquidates. Must be below 1 / leverage, or a
            new position would be liquidated at once.
    """

    leverage: float = 10.0
    maintenance_margin_rate: float = 0.005

    def __post_init__(self) -> None:
        if not (math.isfinite(self.leverage) and self.leverage >= 1):
            raise ValueError(f"leverage {self.leverage}: must be >= 1")
        rate = self.maintenance_margin_rate
        if not (math.isfinite(rate) and 0 <= rate < 1 / self.leverage):
            raise ValueError(f"maintenance_margin_rate {rate}: must be >= 0 and below the "
                             f"initial margin 1 / leverage = {1 / self.leverage:g}")


class MarginAccountState(msgspec.Struct, frozen=True, kw_only=True):
    balances: dict[str, Decimal]
    positions: list[tuple[tuple[str, str], PositionState]]


class MarginAccount:
    """Balances and net perpetual positions of one account (see the module docstring)."""

    def __init__(self, config: MarginConfig, starting_balances: Mapping[str, Decimal]) -> None:
        self._leverage = to_decimal(config.leverage)
        self._maintenance = to_decimal(config.maintenance_margin_rate)
        self.balances: dict[str, Decimal] = dict(starting_balances)
        # (strategy id, instrument id) -> the strategy's position (its sub-account's)
        self.positions: dict[tuple[str, str], PositionState] = {}

    # -- values --------------------------------------------------------------------------

    def position(self, strategy_id: str, instrument_id: str) -> Decimal:
        state = self.positions.get((strategy_id, instrument_id))
        return ZERO if state is None else state.quantity

    def net(self, instrument_id: str) -> Decimal:
        """The account's net quantity of `instrument_id`, all strategies together."""
        return sum((state.quantity for (_, i), state in self.positions.items()
                    if i == instrument_id), ZERO)

    def holds(self, instrument_id: str) -> bool:
        """True when some strategy has a position in `instrument_id`."""
        return any(i == instrument_id for _, i in self.positions)

    def net_cost(self, instrument_id: str) -> Decimal:
        return sum((state.cost_basis for (_, i), state in self.positions.items()
                    if i == instrument_id), ZERO)

    def equity(self, currency: str, marks: Mapping[str, Decimal],
               instruments: Mapping[str, Instrument]) -> Decimal:
        """Balance plus unrealized pnl of the positions settled in `currency`."""
        total = self.balances.get(currency, ZERO)
        for (_, instrument_id), state in self.positions.items():
            mark = marks.get(instrument_id)
            if mark is not None and instruments[instrument_id].quote_currency == currency:
                total += mark * state.quantity - state.cost_basis
        return total

    def position_margin(self, currency: str, marks: Mapping[str, Decimal],
                        instruments: Mapping[str, Instrument], *, maintenance: bool) -> Decimal:
        """Initial (or maintenance) margin of the positions settled in `currency`."""
        total = ZERO
        for (_, instrument_id), state in self.positions.items():
            mark = marks.get(instrument_id)
            if mark is not None and instruments[instrument_id].quote_currency == currency:
                notional = abs(state.quantity) * mark
                total += notional * self._maintenance if maintenance else (
                    notional / self._leverage)
        return total

    def order_margin(self, quantity: Decimal, price: Decimal) -> Decimal:
        return quantity * price / self._leverage

    def added_quantity(self, strategy_id: str, instrument_id: str, side: OrderSide,
                       quantity: Decimal) -> Decimal:
        """The part of an order beyond the strategy's position it reduces (all of it when
        it adds)."""
        held = self.position(strategy_id, instrument_id)
        if held == 0 or (held > 0) is (side is _BUY):
            return quantity
        return max(quantity - abs(held), ZERO)

    def refusal(self, *, currency: str, needed: Decimal, marks: Mapping[str, Decimal],
                instruments: Mapping[str, Instrument], open_orders: Decimal) -> str:
        """Why an order needing `needed` initial margin is refused ('' when it is not)."""
        if needed <= 0:
            return ""
        equity = self.equity(currency, marks, instruments)
        used = self.position_margin(currency, marks, instruments, maintenance=False)
        free = equity - used - open_orders
        if needed <= free:
            return ""
        return (f"insufficient margin: the order needs {_shown(needed)} {currency} of "
                f"initial margin at {_shown(self._leverage)}x leverage, {_shown(free)} is free "
                f"(equity {_shown(equity)}, positions {_shown(used)}, open orders "
                f"{_shown(open_orders)})")

    def below_maintenance(self, currency: str, marks: Mapping[str, Decimal],
                          instruments: Mapping[str, Instrument]) -> bool:
        if not any(instruments[i].quote_currency == currency for _, i in self.positions):
            return False
        return self.equity(currency, marks, instruments) < self.position_margin(
            currency, marks, instruments, maintenance=True)

    # -- booking -------------------------------------------------------------------------

    def book_fill(self, strategy_id: str, instrument: Instrument, side: OrderSide,
                  quantity: Decimal, price: Decimal, commission: Decimal,
                  commission_currency: str, ts_ns: int) -> None:
        """The fill's realized pnl and commission on the balance, its quantity on the
        strategy's position (the portfolio's arithmetic, one implementation)."""
        instrument_id = instrument.instrument_id
        key = (strategy_id, instrument_id)
        before = self.positions.get(key)
        state, steps = apply_fill(before, strategy_id=strategy_id, instrument_id=instrument_id,
                                  side=side, quantity=quantity, price=price, fee=ZERO,
                                  ts_ns=ts_ns)
        realized = steps[0].state.realized_pnl - (
            before.realized_pnl if before is not None else ZERO)
        currency = instrument.quote_currency
        self.balances[currency] = self.balances.get(currency, ZERO) + realized
        self.balances[commission_currency] = (
            self.balances.get(commission_currency, ZERO) - commission)
        if state is None:
            del self.positions[key]
        else:
            self.positions[key] = state

    def book_funding(self, currency: str, amount: Decimal) -> None:
        self.balances[currency] = self.balances.get(currency, ZERO) + amount

    def state(self) -> MarginAccountState:
        return MarginAccountState(balances=dict(self.balances),
                                  positions=list(self.positions.items()))

    def restore(self, state: MarginAccountState) -> None:
        self.balances = dict(state.balances)
        self.positions = dict(state.positions)


def _shown(value: Decimal) -> str:
    """A Decimal for a reason text: no trailing zeros, never in exponent form."""
    return format(value.normalize(), "f")


def worst_price(item: Bar | TradeTick | QuoteTick, long: bool,
                increment: Decimal) -> Decimal | None:
    """The item's price least favourable to a long (or short) position: a bar's low (its
    high), a trade's price, a quote's bid (its ask); None when it is not finite."""
    if type(item) is Bar:
        value = item.low if long else item.high
    elif type(item) is TradeTick:
        value = item.price
    else:
        quote: QuoteTick = item  # type: ignore[assignment]
        value = quote.bid_price if long else quote.ask_price
    if not math.isfinite(value):
        return None
    return price_from_float(value, increment)


def funding_amount(quantity: Decimal, mark: Decimal, rate: Decimal) -> Decimal:
    """What a position of `quantity` receives (> 0) or pays (< 0) at `rate`."""
    return -quantity * mark * rate


def marks_of(instrument_ids: Iterable[str], last_price: Callable[[str], float | None],
             instruments: Mapping[str, Instrument]) -> dict[str, Decimal]:
    """The last price of each instrument, on its increment (unpriced ones left out)."""
    marks: dict[str, Decimal] = {}
    for instrument_id in instrument_ids:
        value = last_price(instrument_id)
        if value is not None and math.isfinite(value):
            marks[instrument_id] = price_from_float(value, instruments[instrument_id]
                                                    .price_increment)
    return marks
