"""tradebus engine: events, bus, actors, clocks, the graph and the backtest driver.

The names most programs need are re-exported here; each subpackage (`engine.events`,
`engine.domain`, `engine.actors`, `engine.indicators`, `engine.analysis`) exports the rest.
"""

from engine.actor import Actor, ActorState
from engine.backtest import BacktestResult, BacktestSettings, run_backtest
from engine.bus import BusStatistics, MessageBus
from engine.cache import MarketCache
from engine.clock import Clock, LiveClock, SimClock
from engine.config import Config, convert_config, decode_config, load_config
from engine.errors import (
    BusError,
    ConfigError,
    DataError,
    InvalidTransition,
    JournalError,
    MalformedMessage,
    TradebusError,
    UnknownEndpoint,
    VenueError,
    VenueUnavailable,
)
from engine.graph import TradingGraph
from engine.instruments import InstrumentRegistry
from engine.replay import ReplayDriver, ReplaySource
from engine.strategy import Strategy, StrategyConfig, load_strategy_class
from engine.taps import Tap, TapPolicy, TapStatistics

__all__ = (
    "Actor",
    "ActorState",
    "BacktestResult",
    "BacktestSettings",
    "BusError",
    "BusStatistics",
    "Clock",
    "Config",
    "ConfigError",
    "DataError",
    "InstrumentRegistry",
    "InvalidTransition",
    "JournalError",
    "LiveClock",
    "MalformedMessage",
    "MarketCache",
    "MessageBus",
    "ReplayDriver",
    "ReplaySource",
    "SimClock",
    "Strategy",
    "StrategyConfig",
    "Tap",
    "TapPolicy",
    "TapStatistics",
    "TradebusError",
    "TradingGraph",
    "UnknownEndpoint",
    "VenueError",
    "VenueUnavailable",
    "convert_config",
    "decode_config",
    "load_config",
    "load_strategy_class",
    "run_backtest",
)
