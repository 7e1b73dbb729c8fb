"""Reports from ib_async's objects: on the increments, statuses in the engine's words."""

from __future__ import annotations

from decimal import Decimal

from ib_async import AccountValue, Contract, Order, OrderStatus, Trade

from adapters.ibkr import ContractMap, IbkrContractConfig
from adapters.ibkr.contracts import QualifiedContract
from adapters.ibkr.reports import account_report, trade_report
from engine.domain.enums import OrderSide, OrderStatus as Status, OrderType
from engine.testing import make_instrument

AAPL = IbkrContractConfig(instrument_id="AAPL.IBKR", sec_type="STK", symbol="AAPL")


def contracts() -> ContractMap:
    contract_map = ContractMap("IBKR", (AAPL,))
    instrument = make_instrument(instrument_id="AAPL.IBKR", venue="IBKR",
                                 price_increment=Decimal("0.01"), size_increment=Decimal(1))
    contract_map.add(QualifiedContract(
        config=AAPL, contract=Contract(conId=265598), instrument=instrument, con_id=265598,
        time_zone="", trading_hours=(), liquid_hours=()))
    return contract_map


def test_trade_report_of_a_partly_filled_stop_limit() -> None:
    order = Order(action="SELL", totalQuantity=10.0, orderType="STP LMT", lmtPrice=99.5,
                  auxPrice=100.0, tif="DAY", permId=77, orderRef="c-9")
    state = OrderStatus(status="Submitted", filled=4.0, avgFillPrice=99.55)

    report = trade_report("IBKR", Trade(Contract(conId=265598), order, state, [], []),
                          contracts())

    assert report is not None
    assert (report.client_order_id, report.venue_order_id, report.side, report.order_type) == (
        "c-9", "77", OrderSide.SELL, OrderType.STOP_LIMIT)
    assert (report.status, report.filled_quantity, report.average_fill_price) == (
        Status.PARTIALLY_FILLED, Decimal(4), Decimal("99.55"))
    assert (report.price, report.trigger_price) == (Decimal("99.50"), Decimal("100.00"))


def test_trade_report_of_a_trailing_stop_reads_its_trigger_from_trail_stop_price() -> None:
    order = Order(action="SELL", totalQuantity=10.0, orderType="TRAIL", auxPrice=1.5,
                  trailStopPrice=98.5, tif="GTC", permId=78, orderRef="c-10")

    report = trade_report("IBKR", Trade(Contract(conId=265598), order,
                                        OrderStatus(status="Submitted"), [], []), contracts())

    assert report is not None
    assert (report.order_type, report.price, report.trigger_price) == (
        OrderType.TRAILING_STOP_MARKET, None, Decimal("98.50"))


def test_trade_of_an_instrument_not_configured_has_no_report() -> None:
    trade = Trade(Contract(conId=1), Order(permId=5), OrderStatus(status="Submitted"), [], [])

    assert trade_report("IBKR", trade, contracts()) is None


def test_account_report_cash_per_currency_and_margin() -> None:
    values = [AccountValue("DU1", "TotalCashValue", "1000.50", "USD", ""),
              AccountValue("DU1", "AvailableFunds", "900.50", "USD", ""),
              AccountValue("DU1", "TotalCashValue", "5", "BASE", ""),
              AccountValue("DU1", "InitMarginReq", "100", "USD", "")]

    report = account_report("IBKR", "DU1", values, 3)

    [usd] = report.balances
    assert (usd.currency, usd.total, usd.free, usd.locked) == (
        "USD", Decimal("1000.50"), Decimal("900.50"), Decimal("100.00"))
    assert (report.margin_used, report.margin_available, report.ts_event) == (
        Decimal(100), Decimal("900.50"), 3)
