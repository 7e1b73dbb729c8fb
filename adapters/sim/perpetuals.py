"""The simulated venue's perpetuals desk: which instruments, what margin an order needs,
what funding each position pays, when the account must be liquidated.

The rules are `adapters.sim.margin`'s (read them there); this is where the venue asks
them, with its own state passed in (its positions per strategy, its working orders, its
last prices), so `adapters.sim.venue` keeps only the bookkeeping of what the desk
decides: the events, its order records, its counters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

from adapters.sim.margin import (
    MarginAccount,
    MarginConfig,
    funding_amount,
    marks_of,
    worst_price,
)
from adapters.sim.records import WorkingOrder
from engine.domain.enums import InstrumentClass
from engine.domain.money import ZERO, price_from_float, to_decimal
from engine.events.fills import FundingPayment
from engine.events.market import Bar, FundingRate, Instrument, QuoteTick, TradeTick
from engine.events.orders import SubmitOrder
from engine.instruments import InstrumentRegistry

__all__ = ("PerpetualsDesk",)

LastPrice = Callable[[str], float | None]


class PerpetualsDesk:
    """The perpetuals of one venue, and its margin account when it has one."""

    def __init__(self, venue: str, instruments: InstrumentRegistry,
                 margin: MarginConfig | None,
                 starting_balances: Mapping[str, Decimal] | None) -> None:
        self.venue = venue
        self.ids = frozenset(
            i.instrument_id for i in instruments
            if i.venue == venue and i.instrument_class is InstrumentClass.PERPETUAL)
        self.registry = {i: instruments.require(i) for i in self.ids}
        self.account = (MarginAccount(margin, starting_balances)
                        if margin is not None and starting_balances is not None else None)

    def funding(self, rate: FundingRate, positions: Mapping[tuple[str, str], Decimal],
                last_price: LastPrice, now: int) -> list[FundingPayment] | None:
        """The payment of every open position of the rate's instrument (booked on the
        margin account); None when no finite mark price or rate makes one."""
        instrument = self.registry[rate.instrument_id]
        mark_value = rate.mark_price if rate.mark_price is not None else (
            last_price(rate.instrument_id))
        if mark_value is None or not (math.isfinite(mark_value) and math.isfinite(rate.rate)):
            return None
        mark = price_from_float(mark_value, instrument.price_increment)
        rate_value = to_decimal(rate.rate)
        currency = instrument.quote_currency
        payments: list[FundingPayment] = []
        for (strategy_id, instrument_id), quantity in positions.items():
            if instrument_id != rate.instrument_id or not quantity:
                continue
            amount = funding_amount(quantity, mark, rate_value)
            if self.account is not None:
                self.account.book_funding(currency, amount)
            payments.append(FundingPayment(
                strategy_id=strategy_id, instrument_id=instrument_id, venue=self.venue,
                currency=currency, amount=amount, rate=rate_value, mark_price=mark,
                quantity=quantity, ts_event=rate.ts_event, ts_init=now))
        return payments

    def refusal(self, command: SubmitOrder, last_price: LastPrice,
                working: Callable[[str], Iterable[WorkingOrder]]) -> str:
        """Why the margin account cannot carry `command` ('' when it can)."""
        account = self.account
        assert account is not None  # asked only of a venue with a margin account
        instrument = self.registry[command.instrument_id]
        added = account.added_quantity(command.strategy_id, command.instrument_id,
                                       command.side, command.quantity)
        if added <= 0:
            return ""  # it only reduces the position: no margin
        price = command.price or command.trigger_price
        if price is None:
            last = last_price(command.instrument_id)
            if last is None or not math.isfinite(last):
                return "insufficient margin: a market order before any price cannot be valued"
            price = price_from_float(last, instrument.price_increment)
        marks = marks_of(self.ids, last_price, self.registry)
        currency = instrument.quote_currency
        return account.refusal(
            currency=currency, needed=account.order_margin(added, price), marks=marks,
            instruments=self.registry,
            open_orders=self._open_order_margin(currency, marks, working))

    def _open_order_margin(self, currency: str, marks: Mapping[str, Decimal],
                           working: Callable[[str], Iterable[WorkingOrder]]) -> Decimal:
        """The initial margin the working orders of perpetuals settled in `currency` take."""
        account = self.account
        assert account is not None
        total = ZERO
        for instrument_id in sorted(self.ids):
            if self.registry[instrument_id].quote_currency != currency:
                continue
            for order in working(instrument_id):
                price = order.terms.price or order.terms.trigger_price or marks.get(
                    instrument_id)
                if price is not None:
                    total += account.order_margin(order.leaves, price)
        return total

    def liquidation_marks(self, instrument_id: str, item: Bar | TradeTick | QuoteTick,
                          last_price: LastPrice) -> dict[str, Decimal] | None:
        """After an item of a perpetual: the marks to liquidate at (the item's worst price
        for the position in it, the last price for the others) when the account is below
        maintenance with them; None when it is not."""
        account = self.account
        if account is None or not account.positions:
            return None
        held = account.net(instrument_id)
        if not account.holds(instrument_id):
            return None
        instrument = self.registry[instrument_id]
        # The account's net decides which side of the item is the worst for it.
        worst = worst_price(item, held >= 0, instrument.price_increment)
        if worst is None:
            return None
        marks = marks_of(self.ids, last_price, self.registry)
        marks[instrument_id] = worst
        if account.below_maintenance(instrument.quote_currency, marks, self.registry):
            return marks
        return None

    def settled_in(self, currency: str) -> list[Instrument]:
        """The venue's perpetuals settled in `currency`, in id order."""
        return [self.registry[i] for i in sorted(self.ids)
                if self.registry[i].quote_currency == currency]
