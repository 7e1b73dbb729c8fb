"""Netting position arithmetic: pure functions from (position, fill) to the next position,
and from what a fill did to the events and closed trades that report it.

A position is netted per (strategy, instrument): one signed quantity (long > 0, short < 0).
A fill in the position's direction adds to it (the average entry price is weighted by
quantity); a fill against it realizes pnl on the closed part, ``(exit - average entry) x
closed quantity x direction``; a fill larger than the position closes it and opens the
other side with the remainder at the fill price.

Why a cost basis instead of a stored average: the state keeps the open quantity's cost
(signed quantity x average entry, an exact sum of fill notionals), so the average never
has to be stored rounded. A partial reduction takes a pro-rata share of the cost basis,
and a flipping fill splits its fee pro rata between the closed and the new position. Those
shares are rounded half-even to ``1E-10`` (finer if the amount itself is finer) and the
remainder stays with the other part. Rounding therefore moves at most 1E-10 between
realized and unrealized pnl and never creates or loses money: realized + unrealized pnl is
exactly the fills' cash flow plus the open quantity at the mark price.

Amounts (cost, pnl, fees) are in the instrument's quote currency. Only fills change a
position, and fills are rare next to market data, so each one builds a new frozen state.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Final

import msgspec

from engine.analysis import ClosedTrade
from engine.domain.enums import OrderSide, PositionSide
from engine.domain.money import ZERO
from engine.events.fills import PositionChanged, PositionClosed, PositionEvent, PositionOpened

__all__ = (
    "SPLIT_EXPONENT",
    "Position",
    "PositionChange",
    "PositionState",
    "PositionStep",
    "apply_fill",
    "closed_trade",
    "position_event",
    "snapshot",
)

SPLIT_EXPONENT: Final = -10
"""Pro-rata shares (cost basis on a partial close, a fee on a flip) round to 1E-10 or finer."""


_LONG: Final = PositionSide.LONG
_SHORT: Final = PositionSide.SHORT
_FLAT: Final = PositionSide.FLAT


def _side_of(quantity: Decimal) -> PositionSide:
    if quantity > 0:
        return _LONG
    if quantity < 0:
        return _SHORT
    return _FLAT


class Position(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A read-only snapshot of one open netted position, for strategies, risk and the API.

    ``quantity`` is signed; ``cost_basis`` is ``quantity x average_entry_price`` kept
    exact, so ``unrealized_pnl`` carries no rounding of the average.
    """

    instrument_id: str
    strategy_id: str
    side: PositionSide
    quantity: Decimal
    average_entry_price: Decimal
    cost_basis: Decimal
    realized_pnl: Decimal
    fees: Decimal
    opened_ns: int

    def unrealized_pnl(self, mark_price: Decimal) -> Decimal:
        """Return the pnl of closing the whole position at `mark_price`, before fees."""
        return mark_price * self.quantity - self.cost_basis


class PositionState(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One position and its round trip so far (the portfolio's own; readers get `Position`).

    The entry and exit sums cover the whole round trip (from flat back to flat); they give
    the averages a closed trade reports.
    """

    strategy_id: str
    instrument_id: str
    quantity: Decimal
    cost_basis: Decimal
    realized_pnl: Decimal
    fees: Decimal
    opened_ns: int
    peak_quantity: Decimal
    entry_quantity: Decimal
    entry_notional: Decimal
    exit_quantity: Decimal = ZERO
    exit_notional: Decimal = ZERO

    @property
    def side(self) -> PositionSide:
        return _side_of(self.quantity)

    @property
    def average_entry_price(self) -> Decimal:
        """Average cost of the open quantity; once flat, the round trip's average entry."""
        if self.quantity:
            return abs(self.cost_basis) / abs(self.quantity)
        return self.entry_notional / self.entry_quantity

    @property
    def average_exit_price(self) -> Decimal:
        """Quantity-weighted average price of every reduction so far (zero before any)."""
        return self.exit_notional / self.exit_quantity if self.exit_quantity else ZERO


class PositionChange(StrEnum):
    OPENED = "opened"
    CHANGED = "changed"
    CLOSED = "closed"


class PositionStep(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What one fill (or, on a flip, one part of it) did to one position.

    ``state`` is the position after the step (quantity 0 when CLOSED); ``position_side``
    is the side the step applied to (for CLOSED, the side that was closed);
    ``fill_quantity`` is the unsigned part of the fill applied here.
    """

    change: PositionChange
    state: PositionState
    position_side: PositionSide
    fill_quantity: Decimal
    fill_price: Decimal


_P_OPENED: Final = PositionChange.OPENED
_P_CHANGED: Final = PositionChange.CHANGED
_P_CLOSED: Final = PositionChange.CLOSED


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f"amount {value}: must be finite")
    return exponent


def _share(amount: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """Return ``amount x part / whole`` rounded half-even to SPLIT_EXPONENT or finer."""
    value = amount * part / whole
    exponent = min(_exponent(amount), SPLIT_EXPONENT)
    if _exponent(value) >= exponent:
        return value
    return value.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_EVEN)


def _open(
    strategy_id: str, instrument_id: str, signed: Decimal, price: Decimal, fee: Decimal,
    ts_ns: int,
) -> PositionStep:
    quantity = abs(signed)
    state = PositionState(
        strategy_id=strategy_id,
        instrument_id=instrument_id,
        quantity=signed,
        cost_basis=signed * price,
        realized_pnl=ZERO,
        fees=fee,
        opened_ns=ts_ns,
        peak_quantity=quantity,
        entry_quantity=quantity,
        entry_notional=quantity * price,
    )
    return PositionStep(
        change=_P_OPENED, state=state, position_side=state.side,
        fill_quantity=quantity, fill_price=price,
    )


def _increase(state: PositionState, signed: Decimal, price: Decimal, fee: Decimal) -> PositionStep:
    quantity = state.quantity + signed
    new = msgspec.structs.replace(
        state,
        quantity=quantity,
        cost_basis=state.cost_basis + signed * price,
        fees=state.fees + fee,
        peak_quantity=max(state.peak_quantity, abs(quantity)),
        entry_quantity=state.entry_quantity + abs(signed),
        entry_notional=state.entry_notional + abs(signed) * price,
    )
    return PositionStep(
        change=_P_CHANGED, state=new, position_side=new.side,
        fill_quantity=abs(signed), fill_price=price,
    )


def _reduce(state: PositionState, closed: Decimal, price: Decimal, fee: Decimal) -> PositionStep:
    """Close `closed` (unsigned, at most the open quantity) of `state` at `price`."""
    held = abs(state.quantity)
    removed = state.cost_basis if closed == held else _share(state.cost_basis, closed, held)
    direction = 1 if state.quantity > 0 else -1
    cash_flow = direction * closed * price  # what closing pays out (long) or costs (short)
    new = msgspec.structs.replace(
        state,
        quantity=state.quantity - direction * closed,
        cost_basis=state.cost_basis - removed,
        realized_pnl=state.realized_pnl + cash_flow - removed,
        fees=state.fees + fee,
        exit_quantity=state.exit_quantity + closed,
        exit_notional=state.exit_notional + closed * price,
    )
    change = _P_CLOSED if closed == held else _P_CHANGED
    return PositionStep(
        change=change, state=new, position_side=state.side, fill_quantity=closed,
        fill_price=price,
    )


def apply_fill(
    state: PositionState | None,
    *,
    strategy_id: str,
    instrument_id: str,
    side: OrderSide,
    quantity: Decimal,
    price: Decimal,
    fee: Decimal,
    ts_ns: int,
) -> tuple[PositionState | None, tuple[PositionStep, ...]]:
    """Apply one fill; return the open position after it (None when flat) and the steps.

    `fee` is the fill's commission in the quote currency. A flip gives two steps, CLOSED
    then OPENED, with the fee split pro rata by quantity.
    """
    if quantity <= 0 or price <= 0:
        raise ValueError(f"fill quantity {quantity} price {price}: both must be > 0")
    signed = side.sign * quantity
    if state is None or not state.quantity:
        step = _open(strategy_id, instrument_id, signed, price, fee, ts_ns)
        return step.state, (step,)
    if (state.quantity > 0) == (signed > 0):
        step = _increase(state, signed, price, fee)
        return step.state, (step,)
    held = abs(state.quantity)
    if quantity <= held:
        step = _reduce(state, quantity, price, fee)
        return (None if step.change is _P_CLOSED else step.state), (step,)
    closing_fee = _share(fee, held, quantity)
    closing = _reduce(state, held, price, closing_fee)
    opening = _open(
        strategy_id, instrument_id, side.sign * (quantity - held), price, fee - closing_fee,
        ts_ns,
    )
    return opening.state, (closing, opening)


def snapshot(state: PositionState) -> Position:
    """Return the read-only view of `state`."""
    return Position(
        instrument_id=state.instrument_id,
        strategy_id=state.strategy_id,
        side=state.side,
        quantity=state.quantity,
        average_entry_price=state.average_entry_price,
        cost_basis=state.cost_basis,
        realized_pnl=state.realized_pnl,
        fees=state.fees,
        opened_ns=state.opened_ns,
    )


def position_event(step: PositionStep, *, ts_event: int, ts_init: int) -> PositionEvent:
    """Return the PositionOpened, PositionChanged or PositionClosed that reports `step`.

    ``last_fill_quantity`` is the unsigned part of the fill applied to this position (on
    a flip, the closed part in PositionClosed and the remainder in PositionOpened).
    """
    state = step.state
    change = step.change
    # One constructor call with keywords, no shared dict to splat: built on every fill
    # that anybody (a strategy, the journal, a tap) listens to.
    if change is _P_CLOSED:
        return PositionClosed(
            strategy_id=state.strategy_id, instrument_id=state.instrument_id,
            side=_side_of(state.quantity), quantity=state.quantity,
            average_entry_price=state.average_entry_price, realized_pnl=state.realized_pnl,
            fees=state.fees, opened_ns=state.opened_ns, last_fill_price=step.fill_price,
            last_fill_quantity=step.fill_quantity, ts_event=ts_event, ts_init=ts_init,
            closed_ns=ts_event, average_exit_price=state.average_exit_price,
            peak_quantity=state.peak_quantity)
    event_type = PositionOpened if change is _P_OPENED else PositionChanged
    return event_type(
        strategy_id=state.strategy_id, instrument_id=state.instrument_id,
        side=_side_of(state.quantity), quantity=state.quantity,
        average_entry_price=state.average_entry_price, realized_pnl=state.realized_pnl,
        fees=state.fees, opened_ns=state.opened_ns, last_fill_price=step.fill_price,
        last_fill_quantity=step.fill_quantity, ts_event=ts_event, ts_init=ts_init)


def closed_trade(step: PositionStep, *, closed_ns: int) -> ClosedTrade:
    """Return the round trip a CLOSED `step` ended: averages over all its entries and exits."""
    if step.change is not _P_CLOSED:
        raise ValueError(f"position step {step.change}: only a closed position is a trade")
    state = step.state
    return ClosedTrade(
        instrument_id=state.instrument_id,
        side=str(step.position_side),
        opened_ns=state.opened_ns,
        closed_ns=closed_ns,
        quantity=state.peak_quantity,
        average_entry_price=state.average_entry_price,
        average_exit_price=state.average_exit_price,
        realized_pnl=state.realized_pnl,
        fees=state.fees,
    )
