"""The composition root of the daemon: a daemon file in, a `TradingNode` with its bindings out.

`load_daemon_config` checks everything a file can get wrong before anything runs
(each mistake a ConfigError naming the file and the field); `build_node` turns the
checked config into objects: instruments, strategies, the cache the graph and the
simulated venue share, one binding per `[[venues]]` and `[[feeds]]` entry (through the
adapter registry, by `kind`), and the session recorder. The node runs them the same way
whatever they are (`engine.runtime.node`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec

from adapters.data.recording import AsyncRecordingStore, MarketData, RecordingWriter
from api.compose.parts import build_instruments, build_strategies, check_portfolio
from api.compose.registry import (
    REGISTRY,
    AdapterRegistry,
    FeedContext,
    LateOrdersView,
    VenueContext,
)
from api.compose.settings import DaemonFileConfig, daemon_file_type
from api.http import TOKEN_VARIABLE, ApiServer, api_token
from engine.actors.retention import apply_retention
from engine.cache import MarketCache
from engine.clock import LiveClock
from engine.config import apply_env_overrides, decode_config
from engine.errors import ConfigError
from engine.events.market import Instrument
from engine.graph import TradingGraph
from engine.instruments import InstrumentRegistry
from engine.persistence import JournalIdentity
from engine.runtime import FeedBinding, TradingNode, VenueBinding
from engine.strategy import Strategy

__all__ = (
    "DEFAULT_DAEMON_CONFIG",
    "SqliteSessionRecorder",
    "build_feeds",
    "build_node",
    "journal_identity",
    "load_daemon_config",
)

logger = logging.getLogger(__name__)

DEFAULT_DAEMON_CONFIG = Path(__file__).parents[1] / "defaults" / "paper.toml"


def load_daemon_config(
    path: str | Path | None,
    *,
    environ: Mapping[str, str] | None = None,
    registry: AdapterRegistry = REGISTRY,
) -> tuple[DaemonFileConfig, Path]:
    """Load and check a daemon config (the bundled paper config when `path` is None).

    Raises:
        ConfigError: naming the file and the field.
    """
    file = Path(path) if path is not None else DEFAULT_DAEMON_CONFIG
    where = str(file)
    try:
        data = file.read_bytes()
    except OSError as error:
        raise ConfigError("$", f"cannot read the file: {error.strerror}", file=where) from error
    try:
        raw = msgspec.toml.decode(data)
    except msgspec.DecodeError:
        raw = {}  # not TOML: decode_config reports it, with the same wording as everywhere
    if environ:
        raw = apply_env_overrides(raw, environ)
    registry.check_kinds(raw, file=where)
    try:
        config = decode_config(data, daemon_file_type(registry), file=where, environ=environ)
    except ConfigError as error:
        if error.path == "$.venue":  # the shape before [[venues]]: say what it is now
            raise ConfigError("$.venue", 'the daemon file lists its venues as [[venues]] '
                              'entries now: write [[venues]] with kind = "sim"',
                              file=where) from error
        raise
    if not config.venues:
        raise ConfigError("$.venues", "at least one venue is required", file=where)
    if not config.feeds:
        raise ConfigError("$.feeds", "at least one feed is required", file=where)
    venues: set[str] = set()
    for index, venue in enumerate(config.venues):
        if venue.venue in venues:
            raise ConfigError(f"$.venues[{index}].venue",
                              f"{venue.venue!r} is listed twice", file=where)
        venues.add(venue.venue)
    _check_mode(config, registry, where)
    known = {spec.to_instrument().instrument_id for spec in config.instruments}
    instruments_fed: set[str] = set()
    for index, feed in enumerate(config.feeds):
        at = f"$.feeds[{index}].instrument_id"
        if feed.instrument_id not in known:
            raise ConfigError(at, f"{feed.instrument_id!r} is not in [[instruments]]",
                              file=where)
        if feed.instrument_id in instruments_fed:
            # A restart resumes each instrument's feed after its last journaled item.
            raise ConfigError(at, f"{feed.instrument_id!r} already has a feed (one feed "
                              "per instrument)", file=where)
        instruments_fed.add(feed.instrument_id)
    return config, file


def _check_mode(config: DaemonFileConfig, registry: AdapterRegistry, where: str) -> None:
    """A paper file trades at simulated venues only, a live file at a live venue at least:
    the mode in the file is what the operator believes is at stake, and must be true."""
    venues: list[msgspec.Struct] = list(config.venues)
    live = [registry.is_live_venue(venue) for venue in venues]
    if config.mode == "paper":
        for index, (venue, is_live) in enumerate(zip(venues, live, strict=True)):
            if is_live:
                kind = venue.__struct_config__.tag
                raise ConfigError(f"$.venues[{index}].kind", f"{kind!r} sends real orders: "
                                  'set mode = "live", or trade on paper at kind = "sim"',
                                  file=where)
    elif not any(live):
        raise ConfigError("$.mode", '"live" needs a live venue ([[venues]] kind = "ccxt" '
                          'or "ibkr"); every venue here is simulated: use mode = "paper"',
                          file=where)


def build_feeds(
    config: DaemonFileConfig, file: Path, *, registry: AdapterRegistry = REGISTRY
) -> list[FeedBinding]:
    """One binding per `[[feeds]]` entry; relative paths resolve against the file's folder."""
    return [
        registry.build_feed(feed, FeedContext(base=file.parent, file=str(file),
                                              at=f"$.feeds[{index}]"))
        for index, feed in enumerate(config.feeds)
    ]


def build_node(
    config: DaemonFileConfig,
    *,
    file: Path,
    cwd: Path | None = None,
    registry: AdapterRegistry = REGISTRY,
    environ: Mapping[str, str] | None = None,
    new_journal: bool = False,
) -> TradingNode:
    """Build the node a checked daemon config describes (`data_dir` is relative to `cwd`).

    The node refuses a journal another config wrote (`journal_identity`); `new_journal`
    has it move an existing journal aside (kept, renamed) and start a new one.

    With `[api] enabled` (the default) the node runs the HTTP API as a service; its
    bearer token comes from `environ` (`TRADEBUS_API_TOKEN`), never from the file.

    Raises:
        ConfigError: a strategy, instrument, venue or feed that cannot be built, or an
            API listening beyond loopback without a token.
    """
    where = str(file)
    token = api_token(environ)
    if config.api.enabled and not config.api.is_loopback and token is None:
        raise ConfigError("$.api.host", f"{config.api.host!r} is not a loopback address: "
                          f"set {TOKEN_VARIABLE} to listen there", file=where)
    instruments = build_instruments(config.instruments, where)
    check_portfolio(config.portfolio, instruments, where)
    strategies = build_strategies(config.strategies,
                                  {instrument.instrument_id for instrument in instruments},
                                  where)
    # The graph and the simulated venues read one cache: the venue's idle check is then
    # one branch per item (see SimVenue).
    cache = MarketCache()
    shared_instruments = InstrumentRegistry(instruments)
    orders = LateOrdersView()  # the graph is built later, by the node: resolved then
    venues: list[VenueBinding] = [
        registry.build_venue(venue, VenueContext(instruments=shared_instruments,
                                                 cache=cache, file=where,
                                                 at=f"$.venues[{index}]", orders=orders,
                                                 environ=environ,
                                                 starting_balances=(
                                                     config.portfolio.starting_balances)))
        for index, venue in enumerate(config.venues)
    ]
    runtime = config.runtime
    apply_retention([binding.actor for binding in venues], runtime.retention)
    data_dir = ((cwd if cwd is not None else Path.cwd()) / runtime.data_dir).resolve()
    feeds = build_feeds(config, file, registry=registry)
    _check_writable_dir(data_dir, where)
    server = (ApiServer(config.api, token, data_dir=data_dir,
                        recording=data_dir / runtime.recording) if config.api.enabled
              else None)
    node = TradingNode(
        runtime,
        graph_factory=_CoreGraph(config, instruments, cache, orders),
        strategies=strategies,
        venues=venues,
        feeds=feeds,
        journal_path=data_dir / runtime.journal,
        recorder=SqliteSessionRecorder(data_dir / runtime.recording) if runtime.record
        else None,
        mode=config.mode,
        services=[server.run] if server is not None else [],
        journal_identity=journal_identity(config, instruments, strategies),
        new_journal=new_journal,
    )
    if server is not None:
        server.attach(node)
    return node


def journal_identity(
    config: DaemonFileConfig, instruments: list[Instrument], strategies: list[Strategy]
) -> JournalIdentity:
    """Whose journal it is: what a replay's history depends on, one readable field each.

    The mode, the account (`[portfolio]`), each venue's config (a live venue's identity
    fields only: `_venue_identity`), each instrument's spec
    and each strategy's class and parameters (as built: defaults included, so writing a
    default out does not count as a change). Not the runtime, risk, feed or API
    settings: an operator may change those between sessions, and the journal's inputs
    (the data, the session markers) already say what they did.
    """
    fields: dict[str, object] = {"mode": config.mode}
    _flatten(fields, "account", _builtins(config.portfolio))
    for venue in config.venues:
        _flatten(fields, f"venue {venue.venue}", _venue_identity(venue))
    for instrument in instruments:
        spec = _builtins(instrument)
        for stamp in ("ts_event", "ts_init"):
            spec.pop(stamp, None)
        _flatten(fields, f"instrument {instrument.instrument_id}", spec)
    for strategy in strategies:
        kind = type(strategy)
        fields[f"strategy {strategy.id} class"] = f"{kind.__module__}:{kind.__qualname__}"
        _flatten(fields, f"strategy {strategy.id} parameter", _builtins(strategy.config))
    return JournalIdentity.of(fields)


def _venue_identity(venue: msgspec.Struct) -> dict[str, object]:
    """A venue's part of the identity: every field (the simulated venue's fill rules make
    its history), or only the `journal_identity_fields` its entry names (a live venue:
    its fills are inputs, so only which account it is matters, not how it is reached)."""
    built = _builtins(venue)
    names: tuple[str, ...] | None = getattr(type(venue), "journal_identity_fields", None)
    if names is None:
        return built
    kept: dict[str, object] = {"kind": built.get("kind")}
    for name in names:
        value: object = built
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        kept[name] = value
    return kept


def _builtins(value: object) -> dict[str, object]:
    built = msgspec.to_builtins(value, enc_hook=repr)  # repr: a Secret stays redacted
    return built if isinstance(built, dict) else {"value": built}


def _flatten(fields: dict[str, object], prefix: str, value: dict[str, object]) -> None:
    for key, item in value.items():
        if isinstance(item, dict):
            _flatten(fields, f"{prefix} {key}", item)
        else:
            fields[f"{prefix} {key}"] = item


def _check_writable_dir(data_dir: Path, where: str) -> None:
    """Make the data dir now and refuse one the daemon could not write its journal to.

    Found here, it is one line naming the field; found by the node, a traceback.
    """
    at = "$.runtime.data_dir"
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(at, f"{data_dir}: cannot create the folder: "
                          f"{error.strerror or error}", file=where) from error
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise ConfigError(at, f"{data_dir}: not writable", file=where)


class _CoreGraph:
    """The node's graph factory: the core graph on the node's clock, sharing `cache`, its
    order manager the view the live venues' bridges were given (`orders`)."""

    def __init__(
        self, config: DaemonFileConfig, instruments: list[Instrument], cache: MarketCache,
        orders: LateOrdersView,
    ) -> None:
        self._config = config
        self._instruments = instruments
        self._cache = cache
        self._orders = orders

    def __call__(self, clock: LiveClock) -> TradingGraph:
        graph = TradingGraph(clock=clock, instruments=self._instruments,
                             portfolio=self._config.portfolio, risk=self._config.risk,
                             cache=self._cache)
        # A daemon keeps closed history only within its window (a backtest keeps it all).
        apply_retention(graph.actors(), self._config.runtime.retention)
        self._orders.resolve(graph.orders)
        return graph


class SqliteSessionRecorder:
    """Record each session's handled market data to a recording file (one session per run),
    first aligned with the journal (what a crash left unwritten is written from it)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @asynccontextmanager
    async def open(
        self, started_ns: int, journaled: Iterable[MarketData]
    ) -> AsyncIterator[RecordingWriter]:
        async with AsyncRecordingStore(self.path) as store:
            aligned = await store.align_to(journaled)
            if aligned.foreign:
                logger.warning("recording %s: its items are not the journal's; it is not "
                               "topped up from the journal", self.path)
            elif aligned.dropped or aligned.appended:
                logger.info("recording %s: aligned with the journal (%d items it lacked "
                            "appended, %d the journal lacks dropped)", self.path,
                            aligned.appended, aligned.dropped)
            await store.new_session(started_ns, note="daemon session")
            yield RecordingWriter(store)
