"""Contracts from config, instruments from contract details, trading hours."""

from __future__ import annotations

from decimal import Decimal

from ib_async import Contract, ContractDetails

from adapters.ibkr import (
    IbkrContractConfig,
    instrument_from_details,
    make_contract,
    parse_trading_hours,
)
from adapters.ibkr.contracts import to_decimal

ES = IbkrContractConfig(instrument_id="ESH7.IBKR", sec_type="FUT", symbol="ES",
                        exchange="CME", expiry="202703")


def test_contracts_of_each_kind() -> None:
    stock = make_contract(IbkrContractConfig(instrument_id="AAPL.IBKR", sec_type="STK",
                                             symbol="AAPL", primary_exchange="NASDAQ"))
    pair = make_contract(IbkrContractConfig(instrument_id="EUR/USD.IBKR", sec_type="CASH",
                                            symbol="EUR"))
    future = make_contract(ES)

    assert (stock.secType, stock.exchange, stock.primaryExchange) == ("STK", "SMART", "NASDAQ")
    assert (pair.secType, pair.symbol, pair.currency, pair.exchange) == (
        "CASH", "EUR", "USD", "IDEALPRO")
    assert (future.secType, future.lastTradeDateOrContractMonth, future.exchange) == (
        "FUT", "202703", "CME")


def test_future_instrument_has_its_multiplier_and_whole_contracts_before_v164() -> None:
    details = ContractDetails(
        contract=Contract(secType="FUT", conId=1, symbol="ES", localSymbol="ESH7",
                          currency="USD", multiplier="50"),
        minTick=0.25, sizeIncrement=0.0,  # no size increment before server version 164
    )

    instrument = instrument_from_details(ES, details, "IBKR")

    assert (instrument.price_increment, instrument.size_increment, instrument.multiplier) == (
        Decimal("0.25"), Decimal(1), Decimal(50))
    assert (instrument.symbol, instrument.base_currency) == ("ESH7", "ESH7")


def test_trading_hours_skip_closed_days_and_read_the_zone() -> None:
    sessions = parse_trading_hours(
        "20261202:0930-20261202:1600;20261205:CLOSED;garbage", "US/Eastern")

    assert len(sessions) == 1
    assert sessions[0].start_ns == 1_796_221_800_000_000_000  # 14:30 UTC
    assert sessions[0].end_ns - sessions[0].start_ns == 6.5 * 3600 * 1_000_000_000


def test_to_decimal_lands_on_the_increment() -> None:
    assert to_decimal(149.95000000000002, Decimal("0.01")) == Decimal("149.95")
    assert to_decimal(1.08745, Decimal("0.00005")) == Decimal("1.08745")
