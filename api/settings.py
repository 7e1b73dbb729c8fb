"""The root config of a `tradebus backtest` file: what to trade, on which data, how.

Each section is the config Struct of the part it configures (`[risk]` is
`RiskConfig`, `[venue]` is `SimVenueConfig`, ...); this module only gathers them, so a
part's options are documented once, next to the part.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from adapters.data.config import DataSourceConfig
from adapters.replay import ReplayFeedConfig
from adapters.sim import SimVenueConfig
from engine.actors.portfolio import PortfolioConfig
from engine.actors.risk import RiskConfig
from engine.backtest import BacktestSettings
from engine.config import Config
from engine.domain.ids import instrument_id
from engine.events.market import Instrument
from engine.runtime import OverflowPolicy

__all__ = (
    "BacktestFileConfig",
    "DaemonFileConfig",
    "InstrumentConfig",
    "RuntimeConfig",
    "StrategySpec",
)


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


class RuntimeConfig(Config, kw_only=True):
    """How the daemon runs: where it keeps its files, its clock, its queues, its logs.

    `speed` scales engine time against real time (paper sessions replaying recorded
    data); `clock_origin = "data"` starts engine time at the feeds' first item (and, after
    a restart, where the journal left off), `"wall"` at the real time. `data_capacity` and
    `overflow` bound each feed's inbox lane (market data only: order events never drop).
    """

    data_dir: str = "tradebus-data"
    journal: str = "journal.sqlite"
    journal_synchronous: Literal["normal", "full"] = "normal"
    record: bool = False
    recording: str = "recording.sqlite"
    cancel_open_orders_on_stop: bool = True
    stop_when_feeds_finish: bool = False
    speed: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    clock_origin: Literal["data", "wall"] = "data"
    data_capacity: Annotated[int, msgspec.Meta(gt=0)] = 10_000
    overflow: OverflowPolicy = OverflowPolicy.DROP_OLDEST
    log_format: Literal["auto", "json", "text"] = "auto"
    status_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 10.0


class DaemonFileConfig(Config, kw_only=True):
    """The config of `tradebus run` and `tradebus record`.

    `mode = "paper"` trades the feeds' data against the simulated `[venue]`; `"live"`
    needs a live execution adapter (ccxt, IBKR), which this version does not have yet.
    """

    mode: Literal["paper", "live"] = "paper"
    runtime: RuntimeConfig = RuntimeConfig()
    portfolio: PortfolioConfig
    risk: RiskConfig = RiskConfig()
    venue: SimVenueConfig = SimVenueConfig()
    instruments: list[InstrumentConfig]
    feeds: list[ReplayFeedConfig]
    strategies: list[StrategySpec] = []
