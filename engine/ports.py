"""What the edges implement and what actors may read of each other.

Three ports every venue adapter implements, the simulated venue included:

`ExecutionClient`
    Takes order commands (submit, cancel, modify) and answers the queries
    reconciliation needs with typed reports (`engine.domain.reports`). What happens to
    an order is not the return value of a call: the client delivers order events
    (accepted, rejected, filled, canceled, ...) and account states into the sink it was
    built with, the node's inbox in a daemon, so every one is journaled as an input
    before its effects leave. A request that got no answer raises
    `engine.errors.OutcomeUnknown`; the caller marks the order in doubt and only a report
    settles it. The same client order id submitted twice must never make two orders.

`MarketDataClient`
    Subscribes and unsubscribes market data (`DataSubscription`), driven by the market
    data actor from the strategies' subscriptions, delivers the events into its sink,
    and restores every subscription by itself after a reconnect.

`InstrumentProvider`
    Loads instruments from the venue (increments, minimums, fees, multiplier), so a
    live config need not repeat them.

Each has `run(*, task_status)`, an anyio task that reports started once connected and
keeps the connection (reconnecting with backoff) until cancelled, and `statistics()`.
`engine.testing.conformance` holds the tests every execution client must pass.

Inside the graph, venue adapters are actors registered at `venue_endpoint(venue)`: they
take SubmitOrder, CancelOrder and ModifyOrder and answer with order events sent to
`ORDERS_PROCESS`. A simulated venue also implements `MarketDrivenVenue`: the kernel
hands it each market data item *before* publishing it, so an order placed at bar t
fills at bar t+1's open and the fill is handled before any strategy sees bar t+1 (the
order a real market has).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, Literal, Protocol

import anyio
import msgspec
from anyio.abc import TaskStatus

from engine.domain.enums import ContingencyType, OrderType
from engine.domain.order import Order
from engine.domain.reports import (
    AccountReport,
    FillReport,
    OrderStatusReport,
    PositionReport,
)
from engine.events.base import Event
from engine.events.market import Bar, BookDelta, FundingRate, Instrument, QuoteTick, TradeTick
from engine.events.orders import CancelOrder, ModifyOrder, SubmitOrder

__all__ = (
    "BalancesView",
    "DataSubscription",
    "EventSink",
    "ExecutionClient",
    "InstrumentProvider",
    "MarketData",
    "MarketDataClient",
    "MarketDataSink",
    "MarketDataSource",
    "MarketDrivenVenue",
    "OpenOrdersView",
    "PositionsView",
)

MarketData = Bar | TradeTick | QuoteTick | BookDelta | FundingRate

EventSink = Callable[[Event], None]
"""Where a client delivers order events and account states (the inbox's critical lane)."""
MarketDataSink = Callable[[MarketData], None]
"""Where a market data client delivers what it receives (the inbox's data lanes)."""


class DataSubscription(msgspec.Struct, frozen=True, kw_only=True):
    """One stream of market data: `kind` of `instrument_id` (bars of `timeframe`, books
    of `depth` levels where the venue offers a choice)."""

    kind: Literal["bars", "trades", "quotes", "book"]
    instrument_id: str
    timeframe: str | None = None
    depth: int | None = None


class ExecutionClient(Protocol):
    """A venue's order entry and account queries (see the module docstring)."""

    @property
    def venue(self) -> str: ...

    @property
    def native_order_lists(self) -> frozenset[ContingencyType]:
        """The kinds of order list this venue holds and links itself (IB's attached
        orders and OCA groups, say); empty for a venue that takes single orders only.

        The contingency actor sends every order of such a list at once, carrying its
        links (`contingency`, `order_list_id`, `parent_order_id`), and leaves the
        linking to the venue; every other list it holds and links in the engine.
        """
        ...

    def native_order_types(self, instrument_id: str) -> frozenset[OrderType]:
        """The order types this venue places for `instrument_id` (its capability flags).

        The node registers the others with the graph (`TradingGraph.emulate`): the order
        emulator holds those with a trigger in the engine and sends a market or limit
        order when it triggers (`engine.actors.emulator`).
        """
        ...

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Connect, report started, keep the connection (and private streams) until cancelled."""
        ...

    async def submit_order(self, command: SubmitOrder) -> None:
        """Send a new order. Raises OutcomeUnknown when no answer came."""
        ...

    async def cancel_order(self, command: CancelOrder, venue_order_id: str | None) -> None:
        """Ask the venue to cancel. Raises OutcomeUnknown when no answer came."""
        ...

    async def modify_order(self, command: ModifyOrder, venue_order_id: str | None) -> None:
        """Change an open order (cancel-replace where the venue cannot amend)."""
        ...

    async def open_orders(self, instrument_id: str | None = None) -> list[OrderStatusReport]:
        """Every order working at the venue now (ours and others')."""
        ...

    async def order_status(
        self, *, instrument_id: str, client_order_id: str | None, venue_order_id: str | None
    ) -> OrderStatusReport | None:
        """One order, open or closed; None when the venue has never seen it (a rejected
        order may be None too: reconciliation then books the submit as never arrived)."""
        ...

    async def fills_since(
        self, ts_ns: int, instrument_id: str | None = None
    ) -> list[FillReport]:
        """Trades at or after `ts_ns` (venue time), oldest first."""
        ...

    async def account(self) -> AccountReport:
        """Balances (total, free, locked) and margin."""
        ...

    async def positions(self) -> list[PositionReport]:
        """Venue-held positions (derivatives); empty for spot accounts."""
        ...

    def statistics(self) -> Any:
        """Counters of this client (a msgspec Struct): requests, errors, reconnects."""
        ...


class MarketDataClient(Protocol):
    """A venue's market data streams (see the module docstring)."""

    @property
    def venue(self) -> str: ...

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        ...

    async def subscribe(self, subscription: DataSubscription) -> None: ...

    async def unsubscribe(self, subscription: DataSubscription) -> None: ...

    def subscriptions(self) -> list[DataSubscription]:
        """What is subscribed now (restored after every reconnect)."""
        ...

    def statistics(self) -> Any: ...


class InstrumentProvider(Protocol):
    """Instruments as the venue defines them."""

    async def load(self, instrument_ids: list[str] | None = None) -> list[Instrument]:
        """The venue's instruments (only `instrument_ids` when given)."""
        ...


class MarketDrivenVenue(Protocol):
    """A venue whose matching is driven by the market data the graph sees.

    `matching` is False while an item would change nothing at the venue (no order
    working, no market state of its own to keep): the graph then does not call it, so
    an idle bar costs an attribute test, not a call. The venue keeps it true the moment
    anything works again.
    """

    matching: bool

    def process_market_data(self, message: MarketData) -> None: ...


class MarketDataSource(Protocol):
    """Recorded market data, yielded in `ts_init` order (the replay driver merges sources)."""

    def __iter__(self) -> Iterator[MarketData]: ...


class PositionsView(Protocol):
    """Read-only positions, for risk checks."""

    def net_quantity(self, instrument_id: str, strategy_id: str | None = None) -> Decimal: ...


class BalancesView(Protocol):
    """Read-only balances, for the free-balance check."""

    def balance(self, currency: str) -> Decimal: ...


class OpenOrdersView(Protocol):
    """Read-only open orders, for risk checks and strategies."""

    def open_orders(
        self, *, strategy_id: str | None = None, instrument_id: str | None = None
    ) -> list[Order]: ...

    def order(self, client_order_id: str) -> Order | None: ...

    def open_order_count(self) -> int: ...
