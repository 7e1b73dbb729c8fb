"""The composition root: config files in, the engine wired to adapters and strategies out.

Only this package imports `adapters` and `strategies` (with the engine): the command
line (`api.cli`) and the coming HTTP app (`api.http`) ask it for a prepared backtest,
a `TradingNode` or a feed recording and run what they get.

    settings.py   the Structs of the backtest and daemon files
    parts.py      instruments and strategies, built and checked (both files)
    backtest.py   a backtest file -> PreparedBacktest
    daemon.py     a daemon file -> TradingNode (venue and feed bindings by kind)
    record.py     a daemon file's feeds -> a recording
    registry.py   venue and feed kinds -> config Struct + binding factory
    sim.py        the `sim` venue kind;  replay.py: the `replay` feed kind
"""

from api.compose.backtest import DEFAULT_BACKTEST_CONFIG, PreparedBacktest, prepare_backtest
from api.compose.daemon import (
    DEFAULT_DAEMON_CONFIG,
    SqliteSessionRecorder,
    build_feeds,
    build_node,
    load_daemon_config,
)
from api.compose.parts import build_instruments, build_strategies
from api.compose.record import FeedRecording
from api.compose.registry import (
    REGISTRY,
    AdapterRegistry,
    FeedContext,
    LateOrdersView,
    VenueContext,
    default_registry,
)
from api.compose.settings import BacktestFileConfig, DaemonFileConfig

__all__ = (
    "DEFAULT_BACKTEST_CONFIG",
    "DEFAULT_DAEMON_CONFIG",
    "REGISTRY",
    "AdapterRegistry",
    "BacktestFileConfig",
    "DaemonFileConfig",
    "FeedContext",
    "FeedRecording",
    "LateOrdersView",
    "PreparedBacktest",
    "SqliteSessionRecorder",
    "VenueContext",
    "build_feeds",
    "build_instruments",
    "build_strategies",
    "build_node",
    "default_registry",
    "load_daemon_config",
    "prepare_backtest",
)
