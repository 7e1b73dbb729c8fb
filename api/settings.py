"""The root config of a `tradebus backtest` file: what to trade, on which data, how.

Each section is the config Struct of the part it configures (`[risk]` is
`RiskConfig`, `[venue]` is `SimVenueConfig`, ...); this module only gathers them, so a
part's options are documented once, next to the part.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from adapters.data.config import DataSourceConfig
from adapters.sim import SimVenueConfig
from engine.actors.portfolio import PortfolioConfig
from engine.actors.risk import RiskConfig
from engine.backtest import BacktestSettings
from engine.config import Config
from engine.domain.ids import instrument_id
from engine.events.market import Instrument

__all__ = ("BacktestFileConfig", "InstrumentConfig", "StrategySpec")


class InstrumentConfig(Config, kw_only=True):
    symbol: str
    venue: str = "SIM"
    base_currency: str
    quote_currency: str
    price_increment: Decimal
    size_increment: Decimal
    min_quantity: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)
    maker_fee: Decimal = Decimal(0)
    taker_fee: Decimal = Decimal(0)

    def to_instrument(self) -> Instrument:
        return Instrument(
            instrument_id=instrument_id(self.symbol, self.venue),
            symbol=self.symbol,
            venue=self.venue,
            base_currency=self.base_currency,
            quote_currency=self.quote_currency,
            price_increment=self.price_increment,
            size_increment=self.size_increment,
            min_quantity=self.min_quantity,
            min_notional=self.min_notional,
            maker_fee=self.maker_fee,
            taker_fee=self.taker_fee,
            ts_event=0,
            ts_init=0,
        )


class StrategySpec(Config, kw_only=True):
    """One strategy: its id, its class as `module:Class`, and its typed parameters."""

    id: str
    class_path: str = msgspec.field(name="class")
    params: dict[str, Any] = {}


class BacktestFileConfig(Config, kw_only=True):
    backtest: BacktestSettings = BacktestSettings()
    portfolio: PortfolioConfig
    risk: RiskConfig = RiskConfig()
    venue: SimVenueConfig = SimVenueConfig()
    instruments: list[InstrumentConfig]
    data: list[DataSourceConfig]
    strategies: list[StrategySpec]
