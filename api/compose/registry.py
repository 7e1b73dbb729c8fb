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
checked before anything is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, Union

import msgspec

from api.compose.replay import ReplayFeedConfig, make_replay_feed
from api.compose.sim import SimVenueEntry, make_sim_venue
from engine.cache import MarketCache
from engine.errors import ConfigError
from engine.instruments import InstrumentRegistry
from engine.runtime import FeedBinding, VenueBinding

__all__ = (
    "REGISTRY",
    "AdapterRegistry",
    "FeedContext",
    "FeedFactory",
    "VenueContext",
    "VenueFactory",
    "default_registry",
)

TAG_FIELD = "kind"

C = TypeVar("C", bound=msgspec.Struct)


@dataclass(frozen=True, slots=True)
class VenueContext:
    """What a venue factory may use: the node's instruments and the cache its graph uses.

    `file` and `at` (`$.venues[0]`) are for the ConfigErrors a factory raises.
    """

    instruments: InstrumentRegistry
    cache: MarketCache
    file: str
    at: str


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


class AdapterRegistry:
    """Venue and feed kinds, their config types and their factories."""

    def __init__(self) -> None:
        self._venues: dict[str, _Entry] = {}
        self._feeds: dict[str, _Entry] = {}

    # -- registering ---------------------------------------------------------------------

    def register_venue(
        self, kind: str, config_type: type[C], factory: VenueFactory[C]
    ) -> None:
        """Make `[[venues]] kind = "<kind>"` decode into `config_type`, built by `factory`.

        Raises:
            ValueError: the kind is taken, or `config_type` is not a Struct tagged with it
                that forbids unknown fields and has a `venue` field.
        """
        self._venues[kind] = _entry("venue", self._venues, kind, config_type, factory,
                                    required_field="venue")

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


def default_registry() -> AdapterRegistry:
    """The registry with every adapter this version ships: the `sim` venue, `replay` feeds."""
    registry = AdapterRegistry()
    registry.register_venue("sim", SimVenueEntry, make_sim_venue)
    registry.register_feed("replay", ReplayFeedConfig, make_replay_feed)
    return registry


REGISTRY = default_registry()
"""The registry the daemon file's unions are built from (`api.compose.settings`)."""
