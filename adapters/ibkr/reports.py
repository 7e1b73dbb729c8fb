"""The execution client's reconciliation answers, built from its records or ib_async's objects.

Pure functions: an `OrderRecord` (an order this client placed or adopted), an ib_async
Trade it has no record of, or an execution become the port's report types, with every
quantity and price on the instrument's increments.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from ib_async import AccountValue, CommissionReport, Fill, Position, Trade

from adapters.ibkr.contracts import ContractMap, to_decimal
from adapters.ibkr.orders import OrderRecord
from adapters.ibkr.parsing import liquidity_side, order_type_of, side_of, time_in_force_of, to_ns
from engine.domain.enums import (
    LIMIT_PRICED_TYPES,
    TRAILING_TYPES,
    TRIGGER_PRICED_TYPES,
    OrderSide,
    OrderStatus,
    TimeInForce,
)
from engine.domain.reports import (
    AccountReport,
    BalanceReport,
    FillReport,
    OrderStatusReport,
    PositionReport,
)

__all__ = ("account_report", "fill_report", "position_reports", "record_report", "trade_report")

_NOT_A_CURRENCY = ("", "BASE")
_UNSET = 1e300  # ib_async leaves unset doubles at sys.float_info.max


def _trail_stop(value: float, increment: Decimal) -> Decimal | None:
    return None if value >= _UNSET or value <= 0 else to_decimal(value, increment)


def record_report(venue: str, record: OrderRecord, price_increment: Decimal
                  ) -> OrderStatusReport:
    """One of this client's orders as it stands (average fill price on the increment)."""
    command = record.command
    average = None
    if record.filled:
        average = (record.notional / record.filled).quantize(price_increment)
    return OrderStatusReport(
        venue=venue, instrument_id=command.instrument_id,
        client_order_id=command.client_order_id, venue_order_id=record.venue_order_id,
        side=command.side, order_type=command.order_type, quantity=record.quantity,
        status=record.status, filled_quantity=record.filled, average_fill_price=average,
        price=record.price, trigger_price=record.trigger_price,
        time_in_force=command.time_in_force, reason=record.reason,
    )


def trade_report(venue: str, trade: Trade, contracts: ContractMap) -> OrderStatusReport | None:
    """An order the gateway reports that this client has no record of (another client's,
    or an earlier run's: its orderRef is then the client order id). None when its
    instrument is not configured here or the gateway gave it no permId yet."""
    instrument_id = contracts.instrument_id_of(trade.contract.conId)
    qualified = contracts.qualified(instrument_id) if instrument_id else None
    if qualified is None or instrument_id is None or not trade.order.permId:
        return None
    instrument = qualified.instrument
    order, state = trade.order, trade.orderStatus
    filled = to_decimal(state.filled, instrument.size_increment)
    quantity = to_decimal(order.totalQuantity, instrument.size_increment)
    if state.status in ("Cancelled", "ApiCancelled"):
        status = OrderStatus.CANCELED
    elif state.status == "Filled" or (quantity and filled >= quantity):
        status = OrderStatus.FILLED
    elif state.status == "Inactive":
        status = OrderStatus.REJECTED
    else:
        status = OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.ACCEPTED
    order_type = order_type_of(order.orderType)
    has_limit = order_type in LIMIT_PRICED_TYPES
    has_stop = order_type in TRIGGER_PRICED_TYPES
    increment = instrument.price_increment
    # A trailing stop's trigger is trailStopPrice (its auxPrice is the trailing amount).
    trigger = (to_decimal(order.auxPrice, increment) if has_stop
               else _trail_stop(order.trailStopPrice, increment)
               if order_type in TRAILING_TYPES else None)
    return OrderStatusReport(
        venue=venue, instrument_id=instrument_id,
        client_order_id=order.orderRef or None, venue_order_id=str(order.permId),
        side=side_of(order.action), order_type=order_type, quantity=quantity,
        status=status, filled_quantity=filled,
        average_fill_price=to_decimal(state.avgFillPrice, increment) if filled else None,
        price=to_decimal(order.lmtPrice, increment) if has_limit else None,
        trigger_price=trigger,
        time_in_force=time_in_force_of(order.tif) if order.tif else TimeInForce.GTC,
    )


def fill_report(venue: str, fill: Fill, commission: CommissionReport | None,
                contracts: ContractMap, client_order_id: str | None) -> FillReport | None:
    """One execution with its commission (0 while none arrived); None when its instrument
    is not configured here."""
    execution = fill.execution
    instrument_id = contracts.instrument_id_of(fill.contract.conId)
    qualified = contracts.qualified(instrument_id) if instrument_id else None
    if qualified is None or instrument_id is None:
        return None
    instrument = qualified.instrument
    return FillReport(
        venue=venue, instrument_id=instrument_id,
        client_order_id=client_order_id or execution.orderRef or None,
        venue_order_id=str(execution.permId), trade_id=execution.execId,
        side=OrderSide.BUY if execution.side == "BOT" else OrderSide.SELL,
        last_quantity=to_decimal(execution.shares, instrument.size_increment),
        last_price=to_decimal(execution.price, instrument.price_increment),
        commission=Decimal(repr(commission.commission)) if commission else Decimal(0),
        commission_currency=(commission.currency if commission else "")
        or instrument.quote_currency,
        liquidity_side=liquidity_side(execution.lastLiquidity),
        ts_event=to_ns(execution.time),
    )


def account_report(venue: str, account: str, values: Iterable[AccountValue], ts_ns: int
                   ) -> AccountReport:
    """Balances from TotalCashValue per currency (free: AvailableFunds in it, if given),
    margin from InitMarginReq and AvailableFunds."""
    by_key = {(v.tag, v.currency): v.value for v in values}
    balances = []
    for (tag, currency), value in sorted(by_key.items()):
        if tag == "TotalCashValue" and currency not in _NOT_A_CURRENCY:
            total = Decimal(value)
            free = min(total, Decimal(by_key.get(("AvailableFunds", currency), value)))
            balances.append(BalanceReport(currency=currency, total=total, free=free,
                                          locked=total - free))

    def first(wanted: str) -> Decimal | None:
        return next((Decimal(v) for (tag, currency), v in sorted(by_key.items())
                     if tag == wanted and currency not in _NOT_A_CURRENCY), None)

    return AccountReport(venue=venue, account_id=account, balances=tuple(balances),
                         margin_used=first("InitMarginReq"),
                         margin_available=first("AvailableFunds"), ts_event=ts_ns)


def position_reports(venue: str, positions: Iterable[Position], contracts: ContractMap,
                     ts_ns: int) -> list[PositionReport]:
    """Positions of the configured instruments; IB's average cost includes the
    multiplier, the report's entry price does not."""
    reports = []
    for position in positions:
        instrument_id = contracts.instrument_id_of(position.contract.conId)
        qualified = contracts.qualified(instrument_id) if instrument_id else None
        if qualified is None or instrument_id is None:
            continue
        instrument = qualified.instrument
        reports.append(PositionReport(
            venue=venue, instrument_id=instrument_id,
            quantity=to_decimal(position.position, instrument.size_increment),
            average_entry_price=to_decimal(position.avgCost / float(instrument.multiplier),
                                           instrument.price_increment),
            ts_event=ts_ns,
        ))
    return reports
