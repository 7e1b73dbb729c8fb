"""Engine instrument ids to IB contracts and back, and instruments from contract details.

`ContractMap` holds the configured mapping. `qualify` asks the gateway for each
contract's details once connected: the conId it returns is what executions, positions
and open orders are matched by, and the details give the instrument's rules. IB has no
size increment before server version 164 (whole units are then assumed, IB's own rule
for stocks and futures).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ib_async import IB, Contract, ContractDetails, Forex, Future, Stock

from adapters.ibkr.config import IbkrContractConfig
from engine.events.market import Instrument

__all__ = (
    "ContractMap",
    "QualifiedContract",
    "TradingSession",
    "instrument_from_details",
    "make_contract",
    "parse_trading_hours",
    "to_decimal",
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TradingSession:
    """One session of the contract's trading hours, in epoch nanoseconds."""

    start_ns: int
    end_ns: int


@dataclass(frozen=True, slots=True)
class QualifiedContract:
    """A configured contract as the gateway defines it."""

    config: IbkrContractConfig
    contract: Contract
    instrument: Instrument
    con_id: int
    time_zone: str
    trading_hours: tuple[TradingSession, ...]
    liquid_hours: tuple[TradingSession, ...]


def to_decimal(value: float | Decimal | None, increment: Decimal) -> Decimal:
    """A wire float as an exact multiple of `increment` (the nearest one); None is 0."""
    exact = value if isinstance(value, Decimal) else Decimal(repr(value or 0.0))
    return (exact / increment).to_integral_value() * increment


def make_contract(config: IbkrContractConfig) -> Contract:
    """The ib_async contract a config names (not yet qualified: conId 0)."""
    exchange = config.routed_exchange
    if config.sec_type == "STK":
        contract: Contract = Stock(config.symbol, exchange, config.currency,
                                   primaryExchange=config.primary_exchange)
    elif config.sec_type == "CASH":
        contract = Forex(pair=config.symbol + config.currency, exchange=exchange)
    else:
        contract = Future(config.symbol, config.expiry, exchange, currency=config.currency)
    return contract


def parse_trading_hours(text: str, time_zone: str) -> tuple[TradingSession, ...]:
    """Sessions from IB's "20261202:0930-20261202:1600;20261203:CLOSED" in `time_zone`.

    Closed days and entries that do not parse are left out (logged): hours are advice
    to a strategy, not something an order depends on.
    """
    try:
        zone = ZoneInfo(time_zone) if time_zone else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("trading hours: unknown time zone %r, read as UTC", time_zone)
        zone = ZoneInfo("UTC")
    sessions = []
    for part in filter(None, text.split(";")):
        if part.endswith(":CLOSED"):
            continue
        try:
            start, end = (datetime.strptime(t, "%Y%m%d:%H%M").replace(tzinfo=zone)
                          for t in part.split("-"))
        except ValueError:
            logger.warning("trading hours: entry %r not understood, skipped", part)
            continue
        sessions.append(TradingSession(int(start.timestamp()) * 1_000_000_000,
                                       int(end.timestamp()) * 1_000_000_000))
    return tuple(sessions)


def instrument_from_details(config: IbkrContractConfig, details: ContractDetails, venue: str
                            ) -> Instrument:
    """The engine instrument of one contract's details (increments, multiplier)."""
    contract = details.contract
    if contract is None or details.minTick <= 0:
        raise ValueError(f"contract details of {config.instrument_id}: no contract or min tick")
    price_increment = Decimal(repr(details.minTick)).normalize()
    size_increment = Decimal(repr(details.sizeIncrement)).normalize() if (
        details.sizeIncrement > 0) else Decimal(1)
    min_quantity = Decimal(repr(details.minSize)).normalize() if details.minSize > 0 else (
        size_increment)
    base = config.symbol if config.sec_type != "FUT" else (contract.localSymbol
                                                            or config.symbol)
    return Instrument(
        instrument_id=config.instrument_id,
        symbol=contract.localSymbol or config.symbol,
        venue=venue,
        base_currency=base,
        quote_currency=contract.currency or config.currency,
        price_increment=price_increment,
        size_increment=size_increment,
        min_quantity=min_quantity,
        multiplier=Decimal(contract.multiplier) if contract.multiplier else Decimal(1),
        ts_event=0,
        ts_init=0,
    )


class ContractMap:
    """The configured instruments of one venue, qualified against the gateway.

    Args:
        venue: the engine venue name (instrument ids end in `.<venue>`).
        contracts: the configured mapping.
    """

    def __init__(self, venue: str, contracts: tuple[IbkrContractConfig, ...]) -> None:
        self.venue = venue
        self._configs = {config.instrument_id: config for config in contracts}
        self._qualified: dict[str, QualifiedContract] = {}
        self._by_con_id: dict[int, str] = {}

    @property
    def instrument_ids(self) -> list[str]:
        return list(self._configs)

    def config(self, instrument_id: str) -> IbkrContractConfig | None:
        return self._configs.get(instrument_id)

    def qualified(self, instrument_id: str) -> QualifiedContract | None:
        """The contract once `qualify` found it (None before, or if the gateway did not)."""
        return self._qualified.get(instrument_id)

    def instrument_id_of(self, con_id: int) -> str | None:
        """The engine instrument id of a gateway conId (None: not configured here)."""
        return self._by_con_id.get(con_id)

    def add(self, qualified: QualifiedContract) -> None:
        """Know `qualified` (what `qualify` does with each contract the gateway defines)."""
        instrument_id = qualified.config.instrument_id
        if instrument_id not in self._configs:
            raise KeyError(f"instrument_id {instrument_id!r}: not in the venue's contracts")
        self._qualified[instrument_id] = qualified
        self._by_con_id[qualified.con_id] = instrument_id

    async def qualify(self, ib: IB, instrument_ids: list[str] | None = None
                      ) -> list[QualifiedContract]:
        """Ask the gateway for the details of each contract; return those it knows.

        A contract the gateway does not know (or finds ambiguous) is logged and left
        out: orders for it are then rejected, naming it.
        """
        found = []
        for instrument_id in instrument_ids or self.instrument_ids:
            config = self._configs.get(instrument_id)
            if config is None:
                raise KeyError(f"instrument_id {instrument_id!r}: not in the venue's contracts")
            details = await ib.reqContractDetailsAsync(make_contract(config))
            contract = details[0].contract if len(details) == 1 else None
            if contract is None:
                logger.error("contract %s: the gateway found %d matches, expected one",
                             instrument_id, len(details))
                continue
            detail = details[0]
            if config.routed_exchange == "SMART":
                contract.exchange = "SMART"  # the details name the listing exchange
            qualified = QualifiedContract(
                config=config, contract=contract,
                instrument=instrument_from_details(config, detail, self.venue),
                con_id=contract.conId, time_zone=detail.timeZoneId,
                trading_hours=parse_trading_hours(detail.tradingHours, detail.timeZoneId),
                liquid_hours=parse_trading_hours(detail.liquidHours, detail.timeZoneId),
            )
            self.add(qualified)
            found.append(qualified)
        return found
