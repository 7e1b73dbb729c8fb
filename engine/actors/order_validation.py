"""Checks on order events from venues, made where they enter the order manager.

A venue (or an adapter's bug) can send anything: a NaN or negative quantity, a price of
zero, an instrument the engine does not trade. Such an event must become a counted,
logged rejection, never an exception out of a core actor (which would stop the daemon,
and, journaled, stop it again on every restart). Decimal comparisons with NaN raise, so
finiteness is checked before any comparison.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from engine.events.fills import OrderFilled
from engine.events.orders import ExternalOrderAdopted, OrderDenied, OrderEvent, OrderUpdated
from engine.instruments import InstrumentRegistry

__all__ = ("invalid_amounts", "invalid_reason")

_WITH_TERMS: Final = (OrderUpdated, ExternalOrderAdopted)


def _positive(name: str, value: object) -> str | None:
    if not isinstance(value, Decimal):
        return f"{name} {value!r}: not a decimal"
    if not value.is_finite() or value <= 0:
        return f"{name} {value}: must be finite and > 0"
    return None


def _optional_positive(name: str, value: object) -> str | None:
    return None if value is None else _positive(name, value)


def invalid_reason(event: OrderEvent, instruments: InstrumentRegistry | None) -> str | None:
    """Why `event` cannot be applied as it stands, or None when it is well formed.

    Checks the instrument against `instruments` (an event of an order the engine knows
    is checked against that order's instrument instead, by the order manager) and the
    amounts of the event types that carry any.
    """
    # A denial is risk's own word about an order that never left (an unknown instrument
    # is one reason to deny): it is recorded, whatever it names.
    if (instruments is not None and type(event) is not OrderDenied
            and event.instrument_id not in instruments):
        return f"instrument {event.instrument_id!r}: not traded by this engine"
    return invalid_amounts(event)


def invalid_amounts(event: OrderEvent) -> str | None:
    """Why the amounts `event` carries are unusable (NaN, infinite, <= 0), or None."""
    if isinstance(event, OrderFilled):
        quantity, price, commission = event.last_quantity, event.last_price, event.commission
        # Finite first: comparing a NaN Decimal raises. The common case is one branch.
        if (quantity.is_finite() and price.is_finite() and commission.is_finite()
                and quantity > 0 and price > 0):
            return None
        if not isinstance(commission, Decimal) or not commission.is_finite():
            return f"commission {commission!r}: must be a finite decimal"
        return _positive("last_quantity", quantity) or _positive("last_price", price)
    if isinstance(event, _WITH_TERMS):
        return (
            _positive("quantity", event.quantity)
            or _optional_positive("price", event.price)
            or _optional_positive("trigger_price", event.trigger_price)
        )
    return None
