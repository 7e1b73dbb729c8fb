"""The root configs of the two files: `tradebus backtest` and `tradebus run` / `record`.

Each section is the config Struct of the part it configures (`[risk]` is
`RiskConfig`, `[venue]` is `SimVenueConfig`, ...); this module only gathers them, so a
part's options are documented once, next to the part. The daemon file's `[[venues]]`
and `[[feeds]]` are the tagged unions of the kinds in the adapter registry
(`api.compose.registry`), built when this module is imported.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

import msgspec

from adapters.data.config import DataSourceConfig, FundingCsvConfig
from adapters.sim import SimVenueConfig
from api.compose.registry import REGISTRY, AdapterRegistry
from api.http.config import ApiConfig
from engine.actors.portfolio import PortfolioConfig
from engine.actors.risk import RiskConfig
from engine.backtest import BacktestSettings
from engine.config import Config
from engine.domain.enums import InstrumentClass
from engine.domain.ids import instrument_id
from engine.events.market import Instrument
from engine.runtime import NodeConfig

__all__ = (
    "BacktestFileConfig",
    "DaemonFileConfig",
    "FeedConfig",
    "InstrumentConfig",
    "RuntimeConfig",
    "StrategySpec",
    "VenueConfig",
    "daemon_file_type",
)

VenueConfig = REGISTRY.venue_config_type()
"""A `[[venues]]` entry: one of the registered venue configs, chosen by its `kind`."""
FeedConfig = REGISTRY.feed_config_type()
"""A `[[feeds]]` entry: one of the registered feed configs, chosen by its `kind`."""


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
    multiplier: Decimal = Decimal(1)
    instrument_class: InstrumentClass = InstrumentClass.SPOT

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
            multiplier=self.multiplier,
            instrument_class=self.instrument_class,
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
    funding: list[FundingCsvConfig] = []


class RuntimeConfig(NodeConfig, kw_only=True, frozen=True):
    """How the daemon runs: the node's settings, plus where it keeps its files and its logs.

    The clock, inbox, durability and stop settings are the node's (`NodeConfig`);
    `data_dir`, the file names, `record` and `log_format` are the composition root's.
    """

    data_dir: str = "tradebus-data"
    journal: str = "journal.sqlite"
    record: bool = False
    recording: str = "recording.sqlite"
    log_format: Literal["auto", "json", "text"] = "auto"


class DaemonFileConfig(Config, kw_only=True):
    """The config of `tradebus run` and `tradebus record`.

    `mode = "paper"` trades the feeds' data at simulated venues only (`kind = "sim"`);
    `"live"` needs at least one live venue (`kind = "ccxt"`, `"ibkr"`): the mode is what
    the operator believes is at stake (`api.compose.daemon` checks it). `[api]` is the
    HTTP API's (`api.http.config.ApiConfig`).
    """

    mode: Literal["paper", "live"] = "paper"
    runtime: RuntimeConfig = RuntimeConfig()
    api: ApiConfig = ApiConfig()
    portfolio: PortfolioConfig
    risk: RiskConfig = RiskConfig()
    venues: list[VenueConfig]
    instruments: list[InstrumentConfig]
    feeds: list[FeedConfig]
    strategies: list[StrategySpec] = []


def daemon_file_type(registry: AdapterRegistry) -> type[DaemonFileConfig]:
    """The daemon file's Struct whose `venues` and `feeds` decode the kinds of `registry`.

    `DaemonFileConfig` itself for the kinds it was built with (the default registry's
    at import); for others (a test's registry, one with an extra adapter) a subclass
    with that registry's unions, made once per set of kinds.
    """
    venue_type, feed_type = registry.venue_config_type(), registry.feed_config_type()
    if (venue_type, feed_type) == (VenueConfig, FeedConfig):
        return DaemonFileConfig
    return _daemon_file_subclass(venue_type, feed_type)


@lru_cache(maxsize=16)
def _daemon_file_subclass(venue_type: Any, feed_type: Any) -> type[DaemonFileConfig]:
    annotations = {"venues": list[venue_type], "feeds": list[feed_type]}  # type: ignore[valid-type]
    subclass: type[DaemonFileConfig] = type(
        "DaemonFileConfig", (DaemonFileConfig,),
        {"__annotations__": annotations, "__module__": __name__},
        kw_only=True, frozen=True, forbid_unknown_fields=True,
    )
    return subclass
