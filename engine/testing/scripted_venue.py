"""A scripted execution client: a venue whose answers a test writes down in advance.

It implements the `ExecutionClient` port with no matching of its own: a test sets what
the venue "knows" (open orders, order statuses, trade history, balances, positions) and
what a request does (answer, lose the answer, refuse for a lost connection), and reads
back every request the client received, with the gate state it was sent under. Used by
the reconciliation scenarios and the execution bridge tests; real adapters are tested
against fake venues that speak their wire protocol.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import msgspec
from anyio.abc import TaskStatus

from engine.domain.enums import ALL_ORDER_TYPES, ContingencyType, OrderType
from engine.domain.reports import AccountReport, FillReport, OrderStatusReport, PositionReport
from engine.errors import OutcomeUnknown, VenueUnavailable
from engine.events.base import Event
from engine.events.orders import CancelOrder, ModifyOrder, SubmitOrder

__all__ = ("ScriptedExecutionClient", "ScriptedStatistics")

Request = SubmitOrder | CancelOrder | ModifyOrder


class ScriptedStatistics(msgspec.Struct, frozen=True, kw_only=True):
    requests: int
    queries: int
    lost_answers: int
    refused: int


class ScriptedExecutionClient:
    """An `ExecutionClient` answering from lists a test fills in.

    `on_request(request)` decides what each submit, cancel or modify does: return None
    for a normal answer (the test delivers events itself through `deliver`), raise
    `OutcomeUnknown` or `VenueUnavailable` to play a lost answer or a dead connection.
    """

    def __init__(self, venue: str = "SIM", *, deliver: Callable[[Event], None] | None = None,
                 account_id: str = "acc") -> None:
        self._venue = venue
        self.deliver = deliver
        self.account_id = account_id
        self.open: list[OrderStatusReport] = []
        self.statuses: dict[str, OrderStatusReport] = {}  # client or venue id -> report
        self.fills: list[FillReport] = []
        self.balances: AccountReport | None = None
        self.position_reports: list[PositionReport] = []
        self.requests: list[Request] = []
        self.on_request: Callable[[Request], None] | None = None
        self.connected = anyio.Event()
        self.native_lists: frozenset[ContingencyType] = frozenset()
        """What `native_order_lists` says: a test sets the kinds it plays the venue links."""
        self.order_types: frozenset[OrderType] = ALL_ORDER_TYPES
        """What `native_order_types` says (every type unless a test says otherwise)."""
        self._queries = 0
        self._lost = 0
        self._refused = 0

    @property
    def venue(self) -> str:
        return self._venue

    @property
    def native_order_lists(self) -> frozenset[ContingencyType]:
        return self.native_lists

    def native_order_types(self, instrument_id: str) -> frozenset[OrderType]:
        return self.order_types

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self.connected.set()
        task_status.started()
        await anyio.sleep_forever()

    async def _request(self, request: Request) -> None:
        self.requests.append(request)
        await anyio.lowlevel.checkpoint()
        if self.on_request is not None:
            try:
                self.on_request(request)
            except OutcomeUnknown:
                self._lost += 1
                raise
            except VenueUnavailable:
                self._refused += 1
                raise

    async def submit_order(self, command: SubmitOrder) -> None:
        await self._request(command)

    async def cancel_order(self, command: CancelOrder, venue_order_id: str | None) -> None:
        await self._request(command)

    async def modify_order(self, command: ModifyOrder, venue_order_id: str | None) -> None:
        await self._request(command)

    async def open_orders(self, instrument_id: str | None = None) -> list[OrderStatusReport]:
        self._queries += 1
        return [r for r in self.open if instrument_id in (None, r.instrument_id)]

    async def order_status(
        self, *, instrument_id: str, client_order_id: str | None, venue_order_id: str | None
    ) -> OrderStatusReport | None:
        self._queries += 1
        for key in (client_order_id, venue_order_id):
            if key is not None and key in self.statuses:
                return self.statuses[key]
        return None

    async def fills_since(self, ts_ns: int, instrument_id: str | None = None) -> list[FillReport]:
        self._queries += 1
        return [f for f in self.fills
                if f.ts_event >= ts_ns and instrument_id in (None, f.instrument_id)]

    async def account(self) -> AccountReport:
        self._queries += 1
        if self.balances is not None:
            return self.balances
        return AccountReport(venue=self._venue, account_id=self.account_id, balances=())

    async def positions(self) -> list[PositionReport]:
        self._queries += 1
        return list(self.position_reports)

    def statistics(self) -> ScriptedStatistics:
        return ScriptedStatistics(requests=len(self.requests), queries=self._queries,
                                  lost_answers=self._lost, refused=self._refused)
