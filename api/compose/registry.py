"""The adapter registry: which `kind` of `[[venues]]` and `[[feeds]]` entry builds what.

Each entry pairs a kind with its config Struct (tagged `kind = "<kind>"`, unknown fields
forbidden) and a factory that turns a decoded config into a binding the node speaks
(`engine.runtime.VenueBinding`, `FeedBinding`). The daemon file's `venues` and `feeds`
are the tagged unions of the registered config types, so a wrong kind or a field its
kind lacks fails decoding naming the field, and building a binding is one lookup by
config type: adding a venue is an adapter and a `register_venue` line in
`default_registry`, never a branch in the daemon or the node.

Every venue config has a `venue` field (its name) and every feed config an
`instrument_id` (the node keeps one feed per instrument), so the daemon file can be
checked before anything is built. A venue kind is registered as live or not: a
`mode = "live"` file needs a live venue, a `"paper"` one trades at simulated venues only.

The live adapters' libraries (ccxt, ib_async) take a noticeable time to import and every
`tradebus` command loads this module, so only their config Structs are imported here;
their factories import the rest when a binding is built.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar, Union

import msgspec

from adapters.ccxt.config import CcxtFeedEntry, CcxtVenueEntry
from adapters.ibkr.config import IbkrFeedConfig, IbkrVenueConfig
from api.compose.replay import ReplayFeedConfig, make_replay_feed
from api.compose.sim import SimVenueEntry, make_sim_venue
from engine.cache import MarketCache
from engine.domain.order import Order
from engine.errors import ConfigError
from engine.instruments import InstrumentRegistry
from engine.ports import OpenOrdersView
from engine.runtime import FeedBinding, VenueBinding

__all__ = (
    "REGISTRY",
    "AdapterRegistry",
    "FeedContext",
    "FeedFactory",
    "LateOrdersView",
    "VenueContext",
    "VenueFactory",
    "default_registry",
)

TAG_FIELD = "kind"

C = TypeVar("C", bound=msgspec.Struct)


class LateOrdersView:
    """The order manager's view, for bindings built before the graph that holds it.

    The composition root builds the venue bindings first (they are the node's inputs)
    and the node builds the graph later, on its own clock; an execution bridge only reads
    the view once commands flow, after the graph factory has called `resolve`.
    """

    def __init__(self) -> None:
        self._view: OpenOrdersView | None = None

    def resolve(self, view: OpenOrdersView) -> None:
        """Point at the graph's order manager (the graph factory calls this once)."""
        self._view = view

    def _target(self) -> OpenOrdersView:
        if self._view is None:
            raise RuntimeError("order manager view: read before the graph was built")
        return self._view

    def open_orders(
        self, *, strategy_id: str | None = None, instrument_id: str | None = None
    ) -> list[Order]:
        return self._target().open_orders(strategy_id=strategy_id, instrument_id=instrument_id)

    def order(self, client_order_id: str) -> Order | None:
        return self._target().order(client_order_id)

    def open_order_count(self) -> int:
        return self._target().open_order_count()


@dataclass(frozen=True, slots=True)
class VenueContext:
    """What a venue factory may use: the node's instruments and the cache its graph uses,
    the order manager's view (resolved once the graph is built) and the environment the
    credentials are read from (None: the process's).

    `file` and `at` (`$.venues[0]`) are for the ConfigErrors a factory raises.
    """

    instruments: InstrumentRegistry
    cache: MarketCache
    file: str
    at: str
    orders: OpenOrdersView = field(default_factory=LateOrdersView)
    environ: Mapping[str, str] | None = None
    starting_balances: Mapping[str, Decimal] | None = None
    """The account's starting balances (`[portfolio]`), for a venue that keeps them."""


@dataclass(frozen=True, slots=True)
class FeedContext:
    """What a feed factory may use: the folder relative paths resolve against."""

    base: Path
    file: str
    at: str


VenueFactory = Callable[[C, VenueContext], VenueBinding]
FeedFactory = Callable[[C, FeedContext], FeedBinding]


@dataclass(frozen=True, slots=True)
class _Entry:
    kind: str
    config_type: type[Any]
    factory: Callable[[Any, Any], Any]
    live: bool = False


class AdapterRegistry:
    """Venue and feed kinds, their config types and their factories."""

    def __init__(self) -> None:
        self._venues: dict[str, _Entry] = {}
        self._feeds: dict[str, _Entry] = {}

    # -- registering ---------------------------------------------------------------------

    def register_venue(
        self, kind: str, config_type: type[C], factory: VenueFactory[C], *, live: bool = False
    ) -> None:
        """Make `[[venues]] kind = "<kind>"` decode into `config_type`, built by `factory`.

        `live`: the kind sends orders to a real venue (only a `mode = "live"` file may
        list it); otherwise it is simulated (a `"paper"` file's).

        Raises:
            ValueError: the kind is taken, or `config_type` is not a Struct tagged with it
                that forbids unknown fields and has a `venue` field.
        """
        entry = _entry("venue", self._venues, kind, config_type, factory,
                       required_field="venue")
        self._venues[kind] = _Entry(entry.kind, entry.config_type, entry.factory, live)

    def register_feed(self, kind: str, config_type: type[C], factory: FeedFactory[C]) -> None:
        """Make `[[feeds]] kind = "<kind>"` decode into `config_type`, built by `factory`.

        Raises:
            ValueError: the kind is taken, or `config_type` is not a Struct tagged with it
                that forbids unknown fields and has an `instrument_id` field.
        """
        self._feeds[kind] = _entry("feed", self._feeds, kind, config_type, factory,
                                   required_field="instrument_id")

    # -- reading -------------------------------------------------------------------------

    @property
    def venue_kinds(self) -> tuple[str, ...]:
        return tuple(sorted(self._venues))

    @property
    def feed_kinds(self) -> tuple[str, ...]:
        return tuple(sorted(self._feeds))

    def is_live_venue(self, config: msgspec.Struct) -> bool:
        """Whether a decoded `[[venues]]` entry trades at a real venue (its kind's `live`)."""
        return _lookup("venue", self._venues, config).live

    def venue_config_type(self) -> Any:
        """The tagged union of the registered venue configs (what `[[venues]]` decodes into)."""
        return _union("venue", self._venues)

    def feed_config_type(self) -> Any:
        """The tagged union of the registered feed configs (what `[[feeds]]` decodes into)."""
        return _union("feed", self._feeds)

    def check_kinds(self, raw: Mapping[str, Any], *, file: str) -> None:
        """Require a registered `kind` in every `[[venues]]` and `[[feeds]]` entry of `raw`.

        Decoding alone does not: a union of one type decodes an entry without a tag as
        that type, so a config would silently change meaning when a second kind arrives.
        Run on the raw TOML before decoding; it also names the kinds there are.

        Raises:
            ConfigError: at `$.<section>[i].kind`.
        """
        for section, noun, kinds in (("venues", "venue", self.venue_kinds),
                                     ("feeds", "feed", self.feed_kinds)):
            entries = raw.get(section)
            if not isinstance(entries, list):
                continue  # missing or mistyped: decoding reports it
            for index, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    continue
                at = f"$.{section}[{index}].{TAG_FIELD}"
                known = ", ".join(kinds)
                if TAG_FIELD not in entry:
                    raise ConfigError(at, f"required field is missing (one of: {known})",
                                      file=file)
                if entry[TAG_FIELD] not in kinds:
                    raise ConfigError(at, f"unknown {noun} kind {entry[TAG_FIELD]!r} "
                                      f"(one of: {known})", file=file)

    # -- building ------------------------------------------------------------------------

    def build_venue(self, config: msgspec.Struct, context: VenueContext) -> VenueBinding:
        """Build the binding of one decoded `[[venues]]` entry."""
        binding: VenueBinding = _lookup("venue", self._venues, config).factory(config, context)
        return binding

    def build_feed(self, config: msgspec.Struct, context: FeedContext) -> FeedBinding:
        """Build the binding of one decoded `[[feeds]]` entry."""
        binding: FeedBinding = _lookup("feed", self._feeds, config).factory(config, context)
        return binding


def _entry(
    noun: str,
    entries: Mapping[str, _Entry],
    kind: str,
    config_type: type[Any],
    factory: Callable[..., Any],
    *,
    required_field: str,
) -> _Entry:
    if kind in entries:
        raise ValueError(f"{noun} kind {kind!r}: already registered "
                         f"({entries[kind].config_type.__qualname__})")
    if not (isinstance(config_type, type) and issubclass(config_type, msgspec.Struct)):
        raise ValueError(f"{noun} kind {kind!r}: config type {config_type!r} is not a Struct")
    struct_config = config_type.__struct_config__
    if struct_config.tag_field != TAG_FIELD or struct_config.tag != kind:
        was = ("untagged" if struct_config.tag_field is None
               else f"{struct_config.tag_field}={struct_config.tag!r}")
        raise ValueError(f"{noun} kind {kind!r}: config type {config_type.__qualname__} must "
                         f"be tagged {TAG_FIELD}={kind!r}, was {was}")
    if not struct_config.forbid_unknown_fields:
        raise ValueError(f"{noun} kind {kind!r}: config type {config_type.__qualname__} "
                         "must forbid unknown fields (a typo must not pass)")
    if required_field not in config_type.__struct_fields__:
        raise ValueError(f"{noun} kind {kind!r}: config type {config_type.__qualname__} "
                         f"has no field {required_field!r}")
    return _Entry(kind, config_type, factory)


def _union(noun: str, entries: Mapping[str, _Entry]) -> Any:
    if not entries:
        raise LookupError(f"no {noun} kind is registered")
    # A one-member Union is the type itself, which also decodes an entry without a tag:
    # `check_kinds` requires the tag.
    return Union[tuple(entries[kind].config_type for kind in sorted(entries))]  # noqa: UP007


def _lookup(
    noun: str, entries: Mapping[str, _Entry], config: msgspec.Struct
) -> _Entry:
    kind = config.__struct_config__.tag
    entry = entries.get(kind) if isinstance(kind, str) else None
    if entry is None or entry.config_type is not type(config):
        raise LookupError(f"{noun} config {type(config).__qualname__}: no registered kind")
    return entry


def make_ccxt_venue(config: CcxtVenueEntry, context: VenueContext) -> VenueBinding:
    """Build a `kind = "ccxt"` venue (imports ccxt: seconds, paid only by a ccxt venue).

    Raises:
        ConfigError: no `symbols`, a symbol not in `[[instruments]]` at this venue, an
            unsupported exchange, `sandbox` with `urls`, or a credential variable unset.
    """
    at, file = context.at, context.file
    if not config.symbols:
        raise ConfigError(f"{at}.symbols", "a ccxt venue needs the symbols it trades "
                          '(for example ["BTC/USDT"])', file=file)
    for index, symbol in enumerate(config.symbols):
        if f"{symbol}.{config.venue}" not in context.instruments:
            raise ConfigError(f"{at}.symbols[{index}]", f"{symbol!r}: no instrument "
                              f"{symbol}.{config.venue} in [[instruments]]", file=file)
    if config.exchange_id != "binance":
        raise ConfigError(f"{at}.exchange_id", f"{config.exchange_id!r}: only 'binance' "
                          "(spot) is supported", file=file)
    if config.sandbox and config.urls:
        raise ConfigError(f"{at}.urls", "give sandbox or urls, not both (sandbox switches "
                          "ccxt to the testnet's own URLs)", file=file)
    for name, variable in (("api_key_env", config.api_key_env),
                           ("secret_env", config.secret_env)):
        environ = context.environ if context.environ is not None else os.environ
        if not environ.get(variable):
            raise ConfigError(f"{at}.{name}", f"environment variable {variable} is not set "
                              "(the credential is read from it)", file=file)
    from adapters.ccxt.binding import CcxtVenueBinding

    return CcxtVenueBinding(config, orders=context.orders, environ=context.environ)


def make_ibkr_venue(config: IbkrVenueConfig, context: VenueContext) -> VenueBinding:
    """Build a `kind = "ibkr"` venue (imports ib_async, only when an IBKR venue is built).

    Raises:
        ConfigError: no contracts, or a contract whose instrument is not in [[instruments]].
    """
    _check_instruments(context, [c.instrument_id for c in config.contracts],
                       f"{context.at}.contracts")
    from adapters.ibkr.binding import IbkrVenueBinding

    return IbkrVenueBinding(config, orders=context.orders)


def _check_instruments(context: VenueContext, instrument_ids: Sequence[str], at: str) -> None:
    if not instrument_ids:
        raise ConfigError(at, "a live venue needs the instruments it trades", file=context.file)
    for index, instrument in enumerate(instrument_ids):
        if instrument not in context.instruments:
            raise ConfigError(f"{at}[{index}].instrument_id",
                              f"{instrument!r} is not in [[instruments]]", file=context.file)


def make_ccxt_feed(config: CcxtFeedEntry, context: FeedContext) -> FeedBinding:
    """Build a `kind = "ccxt"` feed (ccxt is imported when the feed runs)."""
    from adapters.ccxt.feed import make_ccxt_feed as make

    return make(config, context)


def make_ibkr_feed(config: IbkrFeedConfig, context: FeedContext) -> FeedBinding:
    """Build a `kind = "ibkr"` feed (imports ib_async, only when an IBKR feed is built)."""
    from adapters.ibkr.feed import IbkrFeedBinding

    return IbkrFeedBinding(config)


def default_registry() -> AdapterRegistry:
    """The registry with every adapter this version ships: the `sim` venue and `replay`
    feeds, and the live `ccxt` and `ibkr` venues and feeds."""
    registry = AdapterRegistry()
    registry.register_venue("sim", SimVenueEntry, make_sim_venue)
    registry.register_venue("ccxt", CcxtVenueEntry, make_ccxt_venue, live=True)
    registry.register_venue("ibkr", IbkrVenueConfig, make_ibkr_venue, live=True)
    registry.register_feed("replay", ReplayFeedConfig, make_replay_feed)
    registry.register_feed("ccxt", CcxtFeedEntry, make_ccxt_feed)
    registry.register_feed("ibkr", IbkrFeedConfig, make_ibkr_feed)
    return registry


REGISTRY = default_registry()
"""The registry the daemon file's unions are built from (`api.compose.settings`)."""
