"""The simulated venue's cash account: balances, what open orders hold, and refusals.

A spot exchange refuses an order its account cannot cover when it is placed, not when
it would fill: a buy needs its quote value plus the taker fee, a sell the base quantity,
out of the *free* balance (the balance less what the account's other open orders
hold). This is that check, for a venue configured with `cash_account = true`:

- **Hold**: an accepted order holds, per unit of quantity, its buy price × (1 + taker
  fee) × multiplier in the quote currency (the limit price; a stop's trigger; a market
  or trailing order, the last known price), or 1 of the base currency for a sell. What
  it holds shrinks with each fill and goes when it closes (filled, canceled, expired);
  a modify holds again at its new terms.
- **Refusal**: a submit (or a modify) whose hold exceeds the free balance is refused
  with a reason naming the currency, what it needs, what is free and what open orders
  hold; an order that cannot be valued (a market order before any price) is refused.
- **Booking**: each fill moves the balances exactly as the portfolio books it: a buy
  adds the base and takes quantity × price × multiplier plus the commission of the
  quote (a sell the reverse). A market order can fill at a worse price than it held at;
  the balance then pays the difference (it may go below what was held, never unseen).

Plain values only (no clock, no bus): the venue calls it and keeps its state in its
snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Final

import msgspec

from adapters.sim.fees import notional
from engine.domain.enums import (
    LIMIT_PRICED_TYPES,
    TRIGGER_PRICED_TYPES,
    OrderSide,
    OrderType,
)
from engine.domain.money import ZERO, to_decimal
from engine.events.market import Instrument

__all__ = ("CashAccount", "CashAccountState", "Hold")

_BUY: Final = OrderSide.BUY


class Hold(msgspec.Struct, frozen=True, gc=False):
    """What one open order holds: `per_unit` of `currency` per unit still to fill."""

    currency: str
    per_unit: Decimal
    leaves: Decimal

    @property
    def amount(self) -> Decimal:
        return notional(self.per_unit, self.leaves)


class CashAccountState(msgspec.Struct, frozen=True, kw_only=True):
    """The account as plain values (part of the venue's snapshot)."""

    balances: dict[str, Decimal]
    holds: dict[str, Hold]
    """Venue order id -> what that open order holds."""


class CashAccount:
    """Balances and holds of the venue's one account (the engine nets its strategies)."""

    __slots__ = ("_balances", "_holds", "_held", "_taker_fee")

    def __init__(self, starting_balances: Mapping[str, Decimal], *,
                 taker_fee: Decimal | None = None) -> None:
        """`taker_fee`: the rate a buy's hold counts on (the highest of a fee tier table);
        None, each instrument's own."""
        self._taker_fee = taker_fee
        self._balances: dict[str, Decimal] = dict(starting_balances)
        self._holds: dict[str, Hold] = {}
        self._held: dict[str, Decimal] = {}  # currency -> what the holds add up to

    def balances(self) -> dict[str, Decimal]:
        return dict(self._balances)

    def held(self, currency: str) -> Decimal:
        return self._held.get(currency, ZERO)

    def free(self, currency: str) -> Decimal:
        return self._balances.get(currency, ZERO) - self.held(currency)

    # -- placing ----------------------------------------------------------------------------

    def hold_for(self, side: OrderSide, order_type: OrderType, quantity: Decimal, *,
                 price: Decimal | None, trigger_price: Decimal | None,
                 instrument: Instrument, last_price: float | None) -> Hold | str:
        """What an order of these terms (a submit's, or a modify's new ones) would hold
        for `quantity` still to fill, or why it cannot be valued."""
        if side is not _BUY:
            return Hold(instrument.base_currency, Decimal(1), quantity)
        value = (price if order_type in LIMIT_PRICED_TYPES
                 else trigger_price if order_type in TRIGGER_PRICED_TYPES else None)
        if value is None:  # market and trailing orders: the market now
            if last_price is None:
                return (f"cash account: no price known to value a {order_type} buy "
                        f"of {instrument.instrument_id}")
            value = to_decimal(last_price)
        fee = instrument.taker_fee if self._taker_fee is None else self._taker_fee
        per_unit = notional(notional(value, instrument.multiplier),
                            Decimal(1) + max(fee, ZERO))
        return Hold(instrument.quote_currency, per_unit, quantity)

    def refusal(self, hold: Hold, *, replacing: str | None = None) -> str:
        """Why the free balance cannot cover `hold` ("" when it can); `replacing`: the
        venue order id whose own hold would give way to it (a modify)."""
        currency = hold.currency
        free = self.free(currency)
        if replacing is not None:
            old = self._holds.get(replacing)
            if old is not None and old.currency == currency:
                free += old.amount
        need = hold.amount
        if need <= free:
            return ""
        return (f"insufficient balance: the order needs {need.normalize():f} {currency}, "
                f"{free.normalize():f} is free ({self.held(currency).normalize():f} held by "
                "open orders)")

    def hold(self, venue_order_id: str, hold: Hold) -> None:
        self.release(venue_order_id)
        self._holds[venue_order_id] = hold
        self._add(hold.currency, hold.amount)

    def release(self, venue_order_id: str) -> None:
        """The order closed (or is held again): what it held is free."""
        old = self._holds.pop(venue_order_id, None)
        if old is not None:
            self._add(old.currency, -old.amount)

    # -- filling ----------------------------------------------------------------------------

    def book_fill(self, venue_order_id: str, side: OrderSide, instrument: Instrument,
                  quantity: Decimal, price: Decimal, commission: Decimal) -> None:
        """Move the balances for one fill and shrink the order's hold by its quantity."""
        value = notional(notional(quantity, price), instrument.multiplier)
        base, quote = instrument.base_currency, instrument.quote_currency
        balances = self._balances
        if side is _BUY:
            balances[base] = balances.get(base, ZERO) + quantity
            balances[quote] = balances.get(quote, ZERO) - value - commission
        else:
            balances[base] = balances.get(base, ZERO) - quantity
            balances[quote] = balances.get(quote, ZERO) + value - commission
        hold = self._holds.get(venue_order_id)
        if hold is not None:
            taken = min(quantity, hold.leaves)
            self._holds[venue_order_id] = Hold(hold.currency, hold.per_unit,
                                               hold.leaves - taken)
            self._add(hold.currency, -notional(hold.per_unit, taken))

    def _add(self, currency: str, amount: Decimal) -> None:
        held = self._held.get(currency, ZERO) + amount
        if held:
            self._held[currency] = held
        else:
            self._held.pop(currency, None)

    # -- snapshots --------------------------------------------------------------------------

    def state(self) -> CashAccountState:
        return CashAccountState(balances=dict(self._balances), holds=dict(self._holds))

    def restore(self, state: CashAccountState) -> None:
        self._balances = dict(state.balances)
        self._holds = {}
        self._held = {}
        for venue_order_id, hold in state.holds.items():
            self.hold(venue_order_id, hold)
