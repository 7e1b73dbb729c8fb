"""FillLedger: a fill needs both halves, and one execId is delivered once, ever."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from ib_async import CommissionReport, Contract, Execution, Fill, Order

from adapters.ibkr.fills import FillLedger
from adapters.ibkr.orders import OrderRecord
from engine.domain.enums import LiquiditySide, OrderSide, OrderStatus, OrderType
from engine.events.orders import SubmitOrder
from engine.testing import make_instrument

INSTRUMENT = make_instrument(instrument_id="AAPL.IBKR", venue="IBKR", quote_currency="USD",
                             price_increment=Decimal("0.01"), size_increment=Decimal(1))
TIME = datetime(2026, 12, 2, 14, 30, 1, tzinfo=UTC)


def record(quantity: int = 5) -> OrderRecord:
    command = SubmitOrder(strategy_id="s", client_order_id="c-1", instrument_id="AAPL.IBKR",
                          side=OrderSide.BUY, order_type=OrderType.MARKET,
                          quantity=Decimal(quantity), ts_event=0, ts_init=0)
    return OrderRecord(command=command, order_id=7, contract=Contract(), order=Order(),
                       quantity=Decimal(quantity), price=None, trigger_price=None,
                       perm_id=1001, accepted=True, status=OrderStatus.ACCEPTED)


def fill(exec_id: str, shares: float, price: float) -> Fill:
    execution = Execution(execId=exec_id, time=TIME, shares=shares, price=price,
                          permId=1001, lastLiquidity=2)
    return Fill(Contract(), execution, CommissionReport(), TIME)


def test_a_fill_waits_for_its_commission_then_is_delivered_once() -> None:
    ledger, order = FillLedger(), record()
    execution = fill("e.01", 2.0, 150.004999)
    commission = CommissionReport(execId="e.01", commission=1.0, currency="USD")

    waiting = ledger.take(order, execution, CommissionReport(), INSTRUMENT, ts_init=9,
                          recovered=False)
    filled = ledger.take(order, execution, commission, INSTRUMENT, ts_init=9, recovered=False)
    again = ledger.take(order, execution, commission, INSTRUMENT, ts_init=9, recovered=True)

    assert waiting is None and again is None
    assert filled is not None
    assert (filled.last_quantity, filled.last_price, filled.commission) == (
        Decimal(2), Decimal("150.00"), Decimal("1.0"))
    assert (filled.liquidity_side, filled.trade_id, filled.venue_order_id) == (
        LiquiditySide.TAKER, "e.01", "1001")
    assert filled.ts_event == int(TIME.timestamp()) * 1_000_000_000
    assert (order.status, order.filled) == (OrderStatus.PARTIALLY_FILLED, Decimal(2))
    assert ledger.statistics().duplicates_ignored == 1
    assert ledger.statistics().awaiting_commission == 0


def test_the_last_fill_closes_the_order_and_recovered_fills_are_counted() -> None:
    ledger, order = FillLedger(), record(quantity=2)
    commission = CommissionReport(execId="e.02", commission=1.0, currency="USD")

    ledger.take(order, fill("e.02", 2.0, 150.0), commission, INSTRUMENT, ts_init=1,
                recovered=True)

    assert order.status is OrderStatus.FILLED
    assert ledger.statistics().recovered == 1


def test_executions_marked_delivered_are_never_delivered() -> None:
    ledger, order = FillLedger(), record()
    ledger.mark_delivered("e.03")

    taken = ledger.take(order, fill("e.03", 1.0, 150.0),
                        CommissionReport(execId="e.03", commission=1.0), INSTRUMENT,
                        ts_init=1, recovered=False)

    assert taken is None and order.filled == 0


def test_an_execution_without_a_positive_size_and_price_is_skipped_and_counted() -> None:
    ledger, order = FillLedger(), record()

    taken = ledger.take(order, fill("e.04", float("nan"), 150.0),
                        CommissionReport(execId="e.04", commission=1.0), INSTRUMENT,
                        ts_init=1, recovered=False)

    assert taken is None and order.filled == 0
    assert ledger.statistics().malformed == 1
