"""FillLedger: which executions became fills, which wait for their commission.

IB reports one execution twice over: execDetails (what traded) and commissionReport
(what it cost), matched by execId, and again in every execution list a connect or a
query asks for. A fill is complete only when both halves are in; the ledger delivers
each execId once, ever (across reconnects), and counts what it held back or refused.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import msgspec
from ib_async import CommissionReport, Fill

from adapters.ibkr.contracts import to_decimal
from adapters.ibkr.orders import OrderRecord
from adapters.ibkr.parsing import liquidity_side, to_ns
from engine.domain.enums import OrderStatus
from engine.events.fills import OrderFilled
from engine.events.market import Instrument

__all__ = ("FillLedger", "FillStatistics")

logger = logging.getLogger(__name__)


class FillStatistics(msgspec.Struct, frozen=True, kw_only=True):
    fills: int
    awaiting_commission: int
    duplicates_ignored: int
    recovered: int
    malformed: int
    """Executions with a size or price that is not a positive number (skipped, logged)."""


class FillLedger:
    """The execIds delivered and awaiting a commission (module docstring)."""

    def __init__(self) -> None:
        self._delivered: set[str] = set()
        self._awaiting: set[str] = set()
        self._fills = self._duplicates = self._recovered = self._malformed = 0

    def statistics(self) -> FillStatistics:
        return FillStatistics(fills=self._fills, awaiting_commission=len(self._awaiting),
                              duplicates_ignored=self._duplicates, recovered=self._recovered,
                              malformed=self._malformed)

    def is_delivered(self, exec_id: str) -> bool:
        return exec_id in self._delivered

    def mark_delivered(self, exec_id: str) -> None:
        """Count an execution as delivered without delivering it (an adopted order's past)."""
        self._delivered.add(exec_id)

    def await_commission(self, exec_id: str) -> None:
        if exec_id not in self._delivered:
            self._awaiting.add(exec_id)

    def take(self, record: OrderRecord, fill: Fill, commission: CommissionReport,
             instrument: Instrument, *, ts_init: int, recovered: bool) -> OrderFilled | None:
        """The OrderFilled of an execution whose two halves are in, once; else None.

        Books the fill on `record` (filled quantity, and FILLED once it is all filled).
        `recovered`: found by a (re)connect's sync, not the live stream (counted).
        """
        execution = fill.execution
        exec_id = execution.execId
        if exec_id in self._delivered:
            self._duplicates += 1
            return None
        if not commission.execId:
            self._awaiting.add(exec_id)
            return None
        quantity = to_decimal(execution.shares, instrument.size_increment)
        price = to_decimal(execution.price, instrument.price_increment)
        self._delivered.add(exec_id)
        self._awaiting.discard(exec_id)
        if not (quantity.is_finite() and quantity > 0 and price.is_finite() and price > 0):
            self._malformed += 1
            logger.error("execution %s of %s: size %r at %r is not a fill, skipped", exec_id,
                         record.command.client_order_id, execution.shares, execution.price)
            return None
        self._fills += 1
        self._recovered += recovered
        record.add_fill(quantity, price)
        if record.filled >= record.quantity:
            record.close(OrderStatus.FILLED)
        elif not record.closed:
            record.status = OrderStatus.PARTIALLY_FILLED
        return OrderFilled(
            **record.ids, venue_order_id=record.venue_order_id, trade_id=exec_id,
            side=record.command.side, last_quantity=quantity, last_price=price,
            commission=Decimal(repr(commission.commission)),
            commission_currency=commission.currency or instrument.quote_currency,
            liquidity_side=liquidity_side(execution.lastLiquidity),
            ts_event=to_ns(execution.time), ts_init=ts_init,
        )
