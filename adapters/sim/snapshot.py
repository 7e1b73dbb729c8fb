"""The simulated venue's state as plain values: what a graph snapshot holds of it.

A daemon restarts from a snapshot plus the journal after it; every field here is what
the venue cannot rebuild from its config (`adapters.sim.venue.SimVenue.snapshot_state`
and `restore_state` read and write them). Fields added later have defaults, so older
snapshots still decode.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from adapters.sim.account import CashAccountState
from adapters.sim.book_matching import BookMatcherState
from adapters.sim.fee_tiers import FeeTiersState
from adapters.sim.latency import DelayLineState
from adapters.sim.margin import MarginAccountState
from adapters.sim.matching import OrderTerms
from adapters.sim.records import ClosedOrder, WorkingOrder
from engine.domain.order_book import OrderBookState
from engine.events.codec import AnyMessage
from engine.events.fills import OrderFilled
from engine.events.market import Bar, QuoteTick, TradeTick
from engine.events.orders import CancelOrder, ModifyOrder, SubmitOrder

__all__ = (
    "CLOSED",
    "REJECTED",
    "WORKING",
    "SimVenueSnapshot",
    "WorkingOrderState",
    "working_order",
    "working_state",
)

REJECTED, WORKING, CLOSED = 0, 1, 2
"""What a client order id came to, in `SimVenueSnapshot.order_ids`."""


class WorkingOrderState(msgspec.Struct, frozen=True, kw_only=True):
    """A `WorkingOrder` as plain values: one field per slot, same names."""

    accepted_ns: int
    command: SubmitOrder
    expire_ns: int | None
    fill_or_kill: bool
    filled: Decimal
    once: bool
    quantity: Decimal
    terms: OrderTerms
    updated_ns: int
    venue_order_id: str
    working: bool


class SimVenueSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The venue's order book and history: every client order id in arrival order (what
    it came to), the working orders, the closed records, the books, the fills sent."""

    order_ids: list[tuple[str, int]]
    working: dict[str, WorkingOrderState]
    closed: dict[str, ClosedOrder]
    books: dict[str, list[str]]
    fill_events: list[OrderFilled]
    own_cache: dict[str, Bar | TradeTick | QuoteTick] | None
    counters: dict[str, int]
    closed_ids: list[tuple[int, str]] = []
    """Under a retention policy: (engine time, client order id) of each record held of a
    closed or rejected order, in the order they closed."""
    positions: list[tuple[str, str, Decimal]] | None = None
    """(strategy id, instrument id, net position) the venue's fills made, non-zero ones
    (None in a snapshot from before the venue kept them: rebuilt from the fills held)."""
    book_matching: BookMatcherState | None = None
    """What book matching remembers (liquidity taken, queue positions)."""
    own_books: list[OrderBookState] = []
    """The books of the venue's own cache (with `own_cache`)."""
    account: CashAccountState | None = None
    """The cash account's balances and holds (with `cash_account`)."""
    fee_tiers: FeeTiersState | None = None
    """The fills in the fee tiers' volume window (with `fee_tiers`)."""
    inbound: DelayLineState[SubmitOrder | CancelOrder | ModifyOrder] | None = None
    """Commands on their way to the venue (with `command_latency_ns`)."""
    outbound: DelayLineState[AnyMessage] | None = None
    """The venue's answers on their way to the engine (with `event_latency_ns`)."""
    margin: MarginAccountState | None = None
    """The margin account's balances and positions (with `margin`)."""


def working_state(order: WorkingOrder) -> WorkingOrderState:
    """The snapshot form of a working order."""
    return WorkingOrderState(**{slot: getattr(order, slot) for slot in WorkingOrder.__slots__})


def working_order(state: WorkingOrderState) -> WorkingOrder:
    """A working order again, from its snapshot form."""
    order = WorkingOrder.__new__(WorkingOrder)
    for slot in WorkingOrder.__slots__:
        setattr(order, slot, getattr(state, slot))
    return order
