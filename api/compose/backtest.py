"""The composition root for backtests: config in, adapters and strategies chosen, run.

This is where `adapters` and `strategies` meet the engine (with the daemon's
composition in `api/compose/daemon.py`); the engine never imports them. Everything that
can be wrong in a config is checked here, before anything runs, and reported as a
ConfigError naming the file and field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from adapters.data import CsvBarSource, RecordingSource, SqliteBarSource, check_bars_csv
from adapters.data.config import CsvBarsConfig, RecordingDataConfig, resolve_data_path
from adapters.data.funding_csv import load_funding_csv
from adapters.sim import SimVenue
from api.compose.parts import build_instruments, build_strategies, check_portfolio
from api.compose.settings import BacktestFileConfig, DaemonFileConfig
from engine.backtest import BacktestResult, run_backtest
from engine.cache import MarketCache
from engine.config import load_config
from engine.errors import ConfigError, DataError
from engine.events.market import Instrument, timeframe_ns
from engine.graph import TradingGraph
from engine.instruments import InstrumentRegistry
from engine.replay import ReplaySource
from engine.strategy import Strategy
from engine.topics import bars_topic, funding_topic

__all__ = ("DEFAULT_BACKTEST_CONFIG", "PreparedBacktest", "prepare_backtest")

DEFAULT_BACKTEST_CONFIG = Path(__file__).parents[1] / "defaults" / "backtest.toml"


class PreparedBacktest:
    """A checked config turned into objects, ready to run once."""

    def __init__(
        self,
        config: BacktestFileConfig,
        *,
        file: Path,
        instruments: list[Instrument],
        strategies: list[Strategy],
        sources: list[ReplaySource],
        rows: int | None,
    ) -> None:
        self.config = config
        self.file = file
        self.instruments = instruments
        self.strategies = strategies
        self.sources = sources
        self.rows = rows
        self.funding_sources: list[ReplaySource] = []
        """The `[[funding]]` rates, replayed beside `sources` (research windows leave
        them out: they replay bar windows of `sources` alone)."""

    def run(
        self,
        *,
        progress: Callable[[int], None] | None = None,
        observe: Callable[[TradingGraph], None] | None = None,
    ) -> BacktestResult:
        """Run the backtest; `observe` sees the wired graph first (see `run_backtest`)."""
        config = self.config
        cache = MarketCache()
        venue = SimVenue(config.venue, InstrumentRegistry(self.instruments), cache=cache,
                         starting_balances=config.portfolio.starting_balances)
        return run_backtest(
            settings=config.backtest,
            instruments=self.instruments,
            sources=[*self.sources, *self.funding_sources],
            bar_types=[source.bar_type for source in config.data],
            venues=[venue],
            strategies=self.strategies,
            portfolio=config.portfolio,
            risk=config.risk,
            progress=progress,
            observe=observe,
            cache=cache,
        )


_DAEMON_SECTIONS = frozenset(DaemonFileConfig.__struct_encode_fields__) - frozenset(
    BacktestFileConfig.__struct_encode_fields__)
"""The daemon's config sections a backtest's has not: their environment overrides are
the daemon's (`TRADEBUS__API__PORT` set for it does not break `tradebus backtest`)."""


def prepare_backtest(
    path: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> PreparedBacktest:
    """Load and check a backtest config (the bundled demo when `path` is None).

    `environ` applies `TRADEBUS__SECTION__FIELD` overrides, as for the daemon; those of
    the daemon's own sections (`[api]`, `[runtime]`, ...) are the daemon's and left alone.
    """
    file = Path(path) if path is not None else DEFAULT_BACKTEST_CONFIG
    config = load_config(file, BacktestFileConfig, environ=environ,
                         other_sections=_DAEMON_SECTIONS)
    where = str(file)
    instruments = build_instruments(config.instruments, where)
    known = {i.instrument_id for i in instruments}
    check_portfolio(config.portfolio, instruments, where)
    if not config.strategies:
        raise ConfigError("$.strategies", "at least one strategy is required", file=where)
    if not config.data:
        raise ConfigError("$.data", "at least one data source is required", file=where)

    strategies = build_strategies(config.strategies, known, where)

    sources: list[ReplaySource] = []
    rows: int | None = 0
    for index, source in enumerate(config.data):
        at = f"$.data[{index}]"
        if source.instrument_id not in known:
            raise ConfigError(f"{at}.instrument_id",
                              f"{source.instrument_id!r} is not in [[instruments]]", file=where)
        try:
            timeframe_ns(source.timeframe)
        except ValueError as error:
            raise ConfigError(f"{at}.timeframe", str(error), file=where) from error
        data_path = resolve_data_path(source.path, base=file.parent)
        if not data_path.exists():
            raise ConfigError(f"{at}.path", f"no such file: {data_path}", file=where)
        if not data_path.is_file():
            raise ConfigError(f"{at}.path", f"{data_path}: not a file (a folder?)", file=where)
        topic = bars_topic(source.instrument_id, source.timeframe)
        if isinstance(source, CsvBarsConfig):
            # The header, a first row in epoch ms, at least one row: a full check would
            # read the file twice; a bad row further in stops the run as a DataError.
            try:
                summary = check_bars_csv(data_path, source.bar_type)
            except DataError as error:
                raise ConfigError(f"{at}.path", str(error), file=where) from error
            except OSError as error:
                raise ConfigError(f"{at}.path", f"{data_path}: cannot read: "
                                  f"{error.strerror}", file=where) from error
            sources.append(ReplaySource(CsvBarSource(data_path, source.bar_type), topic,
                                        source.instrument_id))
            if rows is not None:
                rows += summary.rows
        elif isinstance(source, RecordingDataConfig):
            # A recording may hold trades and quotes too: no fixed topic, each item's own.
            sources.append(ReplaySource(
                RecordingSource(data_path, session=source.session,
                                instrument_ids=[source.instrument_id]),
                None,
                source.instrument_id,
            ))
            rows = None
        else:
            sources.append(ReplaySource(
                SqliteBarSource(data_path, source.bar_type, start_ns=source.start_ns,
                                end_ns=source.end_ns),
                topic,
                source.instrument_id,
            ))
            rows = None
    prepared = PreparedBacktest(config, file=file, instruments=instruments,
                                strategies=strategies, sources=sources, rows=rows)
    prepared.funding_sources = _funding_sources(config, file, known, where)
    return prepared


def _funding_sources(config: BacktestFileConfig, file: Path, known: set[str],
                     where: str) -> list[ReplaySource]:
    """The `[[funding]]` files, read whole (a few rows a day), one source each."""
    sources: list[ReplaySource] = []
    for index, funding in enumerate(config.funding):
        at = f"$.funding[{index}]"
        if funding.instrument_id not in known:
            raise ConfigError(f"{at}.instrument_id",
                              f"{funding.instrument_id!r} is not in [[instruments]]", file=where)
        path = resolve_data_path(funding.path, base=file.parent)
        if not path.is_file():
            raise ConfigError(f"{at}.path", f"no such file: {path}", file=where)
        try:
            rates = load_funding_csv(path, funding.instrument_id)
        except DataError as error:
            raise ConfigError(f"{at}.path", str(error), file=where) from error
        sources.append(ReplaySource(rates, funding_topic(funding.instrument_id),
                                    funding.instrument_id))
    return sources
