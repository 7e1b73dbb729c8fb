"""SimExecutionClient: the execution-client port (`engine.ports.ExecutionClient`) over a SimVenue.

Two ways to use it:

In a graph (backtest, paper daemon)
    The SimVenue stays an in-graph actor: market-driven, deterministic, its events sent
    to `ORDERS_PROCESS` on the graph's bus for the order manager. `SimExecutionClient(venue)`
    answers the reconciliation queries from the venue's records. Commands still reach
    the venue through the order manager; the client's own submit, cancel and modify go
    to the same endpoint, so they are handled alike, but they are not journaled inputs.

Standalone (the conformance suite, tests)
    `SimExecutionClient.standalone(...)` builds a SimVenue registered on its own
    `MessageBus` and `SimClock`, with an `EventForwarder` at `ORDERS_PROCESS` handing
    every event the venue sends to the client's `EventSink`. The test moves the market
    by advancing the clock and handing items to `sim_venue.process_market_data`.

What the venue has no notion of, the client says so plainly: without `cash_account` the
sim venue holds no balances (the portfolio books them from fills), so `account()` lists
none (with it, the account's balances, free and locked by open orders); it holds no
positions (spot semantics), so `positions()` is empty. Every request is answered
synchronously, so nothing here raises `OutcomeUnknown`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

import anyio
from anyio.abc import TaskStatus
from anyio.lowlevel import checkpoint

from adapters.sim.venue import SimVenue, SimVenueConfig, SimVenueStatistics
from engine.actor import Actor
from engine.bus import MessageBus
from engine.clock import Clock, SimClock
from engine.domain.enums import ContingencyType, OrderType
from engine.domain.reports import AccountReport, FillReport, OrderStatusReport, PositionReport
from engine.events.base import Event
from engine.events.market import Instrument
from engine.events.orders import CancelOrder, ModifyOrder, SubmitOrder
from engine.instruments import InstrumentRegistry
from engine.ports import EventSink
from engine.topics import ORDERS_PROCESS, venue_endpoint

__all__ = ("EventForwarder", "SimExecutionClient")

_DEFAULT_ACCOUNT_ID = "SIM-001"
"""The portfolio's default account id (`PortfolioConfig.account_id`)."""


class EventForwarder(Actor):
    """Stand in for the order manager at `ORDERS_PROCESS`: hand every event to `sink`.

    Used where a venue runs without a graph, so what the venue sends reaches a client's
    sink in the order it was sent, as a networked client's stream would deliver it.
    """

    def __init__(self, sink: EventSink, actor_id: str = "sim_event_forwarder") -> None:
        super().__init__(actor_id)
        self._sink = sink
        self._forwarded = 0

    def on_start(self) -> None:
        self.register_endpoint(ORDERS_PROCESS, self._forward)

    @property
    def forwarded(self) -> int:
        """How many events went to the sink."""
        return self._forwarded

    def _forward(self, event: Event) -> None:
        self._forwarded += 1
        self._sink(event)


class SimExecutionClient:
    """Order entry and the reconciliation queries of a SimVenue (see the module docstring).

    Args:
        venue: the simulated venue; registered on a bus before the first command.
        account_id: the id `account()` reports (the portfolio's account).
    """

    def __init__(self, venue: SimVenue, *, account_id: str = _DEFAULT_ACCOUNT_ID) -> None:
        self._sim_venue = venue
        self._account_id = account_id
        self._endpoint = venue_endpoint(venue.config.venue)

    @classmethod
    def standalone(
        cls,
        config: SimVenueConfig,
        instruments: Iterable[Instrument],
        sink: EventSink,
        *,
        clock: SimClock | None = None,
        account_id: str = _DEFAULT_ACCOUNT_ID,
        starting_balances: Mapping[str, Decimal] | None = None,
    ) -> SimExecutionClient:
        """Return a client over a new SimVenue on a bus of its own, events going to `sink`.

        The bus fails fast (an exception in the sink reaches the caller of the command);
        `clock` (default: a SimClock at 0) is the venue's time, moved by the caller;
        `starting_balances` are a cash account's (`cash_account = true`).
        """
        bus = MessageBus()
        venue_clock = SimClock() if clock is None else clock
        forwarder = EventForwarder(sink)
        venue = SimVenue(config, InstrumentRegistry(list(instruments)),
                         starting_balances=starting_balances)
        for actor in (forwarder, venue):
            actor.register(bus, venue_clock)
            actor.start()
        return cls(venue, account_id=account_id)

    @property
    def venue(self) -> str:
        return self._sim_venue.config.venue

    @property
    def native_order_lists(self) -> frozenset[ContingencyType]:
        return frozenset()  # the engine links a simulated venue's lists (as in a backtest)

    def native_order_types(self, instrument_id: str) -> frozenset[OrderType]:
        return self._sim_venue.native_order_types(instrument_id)

    @property
    def sim_venue(self) -> SimVenue:
        """The venue actor: hand it market data (`process_market_data`) to move the market."""
        return self._sim_venue

    @property
    def clock(self) -> Clock:
        return self._sim_venue.clock

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Report started at once (there is nothing to connect to), then wait until cancelled."""
        task_status.started()
        await anyio.sleep_forever()

    # -- commands: answered by events in the sink (or at ORDERS_PROCESS in a graph) -----

    async def submit_order(self, command: SubmitOrder) -> None:
        """Send `command` to the venue; its answer is delivered before this returns."""
        await checkpoint()
        self._sim_venue.bus.send(self._endpoint, command)

    async def cancel_order(self, command: CancelOrder, venue_order_id: str | None) -> None:
        """Send `command`; the sim venue finds orders by client id (`venue_order_id` unused)."""
        await checkpoint()
        self._sim_venue.bus.send(self._endpoint, command)

    async def modify_order(self, command: ModifyOrder, venue_order_id: str | None) -> None:
        """Send `command`; the venue amends in place (no cancel-replace, no new venue id)."""
        await checkpoint()
        self._sim_venue.bus.send(self._endpoint, command)

    # -- queries: answered from the venue's records ---------------------------------------

    async def open_orders(self, instrument_id: str | None = None) -> list[OrderStatusReport]:
        await checkpoint()
        return self._sim_venue.open_order_reports(instrument_id)

    async def order_status(
        self, *, instrument_id: str, client_order_id: str | None, venue_order_id: str | None
    ) -> OrderStatusReport | None:
        """One order by venue order id (preferred) or client order id; None if never made here.

        An order of another instrument is not found, as an exchange scoping order ids per
        symbol would not find it.

        Raises:
            ValueError: neither id was given.
        """
        await checkpoint()
        report = self._sim_venue.order_report(
            client_order_id=client_order_id, venue_order_id=venue_order_id
        )
        if report is None or report.instrument_id != instrument_id:
            return None
        return report

    async def fills_since(self, ts_ns: int, instrument_id: str | None = None) -> list[FillReport]:
        await checkpoint()
        return self._sim_venue.fill_reports(ts_ns, instrument_id)

    async def account(self) -> AccountReport:
        """The cash or margin account's balances; none without one (the portfolio books
        them)."""
        await checkpoint()
        balances = self._sim_venue.balance_reports()
        return AccountReport(
            venue=self.venue,
            account_id=self._account_id,
            balances=() if balances is None else tuple(balances),
            ts_event=self.clock.timestamp_ns(),
        )

    async def positions(self) -> list[PositionReport]:
        """The margin account's perpetual positions; none otherwise (spot positions are
        balances)."""
        await checkpoint()
        return self._sim_venue.position_reports()

    def statistics(self) -> SimVenueStatistics:
        """The venue's counters (orders received, accepted, rejected, fills, ...)."""
        return self._sim_venue.statistics()
