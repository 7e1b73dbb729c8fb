"""The adapter registry: kinds, their tagged configs, the unions, the factories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from adapters.ccxt import CcxtFeedEntry, CcxtVenueEntry
from adapters.ibkr import IbkrContractConfig, IbkrFeedConfig, IbkrVenueConfig
from api.compose import (
    REGISTRY,
    AdapterRegistry,
    FeedContext,
    LateOrdersView,
    VenueContext,
    default_registry,
)
from api.compose.replay import ReplayFeedBinding, ReplayFeedConfig, make_replay_feed
from api.compose.settings import DaemonFileConfig, daemon_file_type
from api.compose.sim import SimVenueBinding, SimVenueEntry, make_sim_venue
from engine.cache import MarketCache
from engine.config import Config
from engine.errors import ConfigError
from engine.instruments import InstrumentRegistry
from engine.runtime import ExecutionBridge
from engine.testing import make_graph, make_instrument


class PaperVenueConfig(Config, kw_only=True, frozen=True, tag_field="kind", tag="paper"):
    venue: str = "PAPER"


class UntaggedVenueConfig(Config, kw_only=True, frozen=True):
    venue: str = "X"


class LaxVenueConfig(msgspec.Struct, kw_only=True, frozen=True, tag_field="kind", tag="lax"):
    venue: str = "X"


class NamelessVenueConfig(Config, kw_only=True, frozen=True, tag_field="kind", tag="nameless"):
    host: str = "localhost"


def paper_factory(config: PaperVenueConfig, context: VenueContext) -> Any:
    return ("paper binding", config.venue, context.at)


def venue_context() -> VenueContext:
    return VenueContext(instruments=InstrumentRegistry([make_instrument()]), cache=MarketCache(),
                        file="daemon.toml", at="$.venues[0]")


def test_registry_register_venue_twice_for_one_kind_is_refused() -> None:
    registry = default_registry()

    with pytest.raises(ValueError, match="venue kind 'sim': already registered"):
        registry.register_venue("sim", SimVenueEntry, make_sim_venue)


def test_registry_register_feed_twice_for_one_kind_is_refused() -> None:
    registry = default_registry()

    with pytest.raises(ValueError, match="feed kind 'replay': already registered"):
        registry.register_feed("replay", ReplayFeedConfig, make_replay_feed)


@pytest.mark.parametrize(
    ("kind", "config_type", "reason"),
    [
        pytest.param("other", PaperVenueConfig, "must be tagged kind='other', was kind='paper'",
                     id="tag-is-another-kind"),
        pytest.param("x", UntaggedVenueConfig, "must be tagged kind='x', was untagged",
                     id="untagged"),
        pytest.param("lax", LaxVenueConfig, "must forbid unknown fields", id="lax"),
        pytest.param("nameless", NamelessVenueConfig, "has no field 'venue'", id="no-venue-name"),
        pytest.param("dict", dict, "is not a Struct", id="not-a-struct"),
    ],
)
def test_registry_register_venue_config_type_that_cannot_be_decoded_by_kind_is_refused(
    kind: str, config_type: type[Any], reason: str
) -> None:
    registry = AdapterRegistry()

    with pytest.raises(ValueError) as raised:
        registry.register_venue(kind, config_type, paper_factory)

    assert reason in str(raised.value)
    assert registry.venue_kinds == ()


def test_registry_default_has_the_simulated_and_the_live_kinds() -> None:
    assert (REGISTRY.venue_kinds, REGISTRY.feed_kinds) == (("ccxt", "ibkr", "sim"),
                                                           ("ccxt", "ibkr", "replay"))
    assert REGISTRY.venue_config_type() == CcxtVenueEntry | IbkrVenueConfig | SimVenueEntry
    assert REGISTRY.feed_config_type() == CcxtFeedEntry | IbkrFeedConfig | ReplayFeedConfig
    assert [REGISTRY.is_live_venue(config) for config in (
        SimVenueEntry(), CcxtVenueEntry(symbols=["BTC/USDT"]), IbkrVenueConfig())] == [
        False, True, True]


def ccxt_context(environ: dict[str, str]) -> VenueContext:
    btc = make_instrument(instrument_id="BTC/USDT.BINANCE", symbol="BTC/USDT",
                          venue="BINANCE")
    return VenueContext(instruments=InstrumentRegistry([btc]), cache=MarketCache(),
                        file="daemon.toml", at="$.venues[1]", environ=environ)


def test_registry_build_ccxt_venue_is_an_execution_bridge_over_the_ccxt_client() -> None:
    environ = {"TRADEBUS_BINANCE_API_KEY": "key", "TRADEBUS_BINANCE_SECRET": "secret"}
    config = CcxtVenueEntry(symbols=["BTC/USDT"])

    binding = REGISTRY.build_venue(config, ccxt_context(environ))

    assert isinstance(binding.actor, ExecutionBridge)
    client = binding.execution_client()
    assert client is not None and client is binding.actor.client
    assert (binding.venue, len(binding.tasks)) == ("BINANCE", 1)


@pytest.mark.parametrize(
    ("config", "environ", "field", "reason"),
    [
        pytest.param(CcxtVenueEntry(), {}, "$.venues[1].symbols", "needs the symbols",
                     id="no-symbols"),
        pytest.param(CcxtVenueEntry(symbols=["ETH/USDT"]), {}, "$.venues[1].symbols[0]",
                     "no instrument ETH/USDT.BINANCE", id="symbol-not-an-instrument"),
        pytest.param(CcxtVenueEntry(symbols=["BTC/USDT"]), {"TRADEBUS_BINANCE_SECRET": "s"},
                     "$.venues[1].api_key_env",
                     "environment variable TRADEBUS_BINANCE_API_KEY is not set",
                     id="key-unset"),
        pytest.param(CcxtVenueEntry(symbols=["BTC/USDT"], sandbox=True,
                                    urls={"https://api.binance.com": "http://127.0.0.1:1"}),
                     {}, "$.venues[1].urls", "not both", id="sandbox-and-urls"),
    ],
)
def test_registry_build_ccxt_venue_that_cannot_trade_names_the_field(
    config: CcxtVenueEntry, environ: dict[str, str], field: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        REGISTRY.build_venue(config, ccxt_context(environ))

    assert (raised.value.path, raised.value.file) == (field, "daemon.toml")
    assert reason in raised.value.reason


def test_registry_build_ibkr_venue_of_an_unknown_instrument_names_the_contract() -> None:
    contract = IbkrContractConfig(instrument_id="AAPL.IBKR", sec_type="STK", symbol="AAPL")

    with pytest.raises(ConfigError) as raised:
        REGISTRY.build_venue(IbkrVenueConfig(contracts=[contract]), venue_context())

    assert raised.value.path == "$.venues[0].contracts[0].instrument_id"


def test_late_orders_view_reads_the_graph_it_was_resolved_to() -> None:
    view = LateOrdersView()
    with pytest.raises(RuntimeError, match="before the graph was built"):
        view.open_order_count()
    graph = make_graph()

    view.resolve(graph.orders)

    assert (view.open_order_count(), view.open_orders(), view.order("x")) == (0, [], None)


def test_registry_venue_union_decodes_each_registered_kind() -> None:
    registry = default_registry()
    registry.register_venue("paper", PaperVenueConfig, paper_factory)

    decoded = msgspec.convert([{"kind": "paper"}, {"kind": "sim", "venue": "B"}],
                              type=list[registry.venue_config_type()])

    assert decoded == [PaperVenueConfig(), SimVenueEntry(venue="B")]
    assert registry.venue_kinds == ("ccxt", "ibkr", "paper", "sim")


def test_registry_build_venue_calls_the_factory_of_the_config_type() -> None:
    registry = default_registry()
    registry.register_venue("paper", PaperVenueConfig, paper_factory)
    context = venue_context()

    paper = registry.build_venue(PaperVenueConfig(venue="P"), context)
    sim = registry.build_venue(SimVenueEntry(venue="SIM"), context)

    assert paper == ("paper binding", "P", "$.venues[0]")
    assert isinstance(sim, SimVenueBinding)
    assert (sim.venue, sim.tasks) == ("SIM", ())
    client = sim.execution_client()
    assert client is not None and client.venue == "SIM"


def test_registry_build_venue_of_an_unregistered_config_type_is_a_lookup_error() -> None:
    with pytest.raises(LookupError, match="PaperVenueConfig: no registered kind"):
        REGISTRY.build_venue(PaperVenueConfig(), venue_context())


def test_registry_build_feed_of_a_missing_file_names_the_path(tmp_path: Path) -> None:
    context = FeedContext(base=tmp_path, file="daemon.toml", at="$.feeds[2]")
    config = ReplayFeedConfig(path="absent.csv", instrument_id="BTC/USDT.SIM")

    with pytest.raises(ConfigError) as raised:
        REGISTRY.build_feed(config, context)

    assert (raised.value.path, raised.value.file) == ("$.feeds[2].path", "daemon.toml")
    assert str(tmp_path / "absent.csv") in raised.value.reason


def test_registry_build_feed_of_csv_bars_declares_them_a_bar_source() -> None:
    context = FeedContext(base=Path.cwd(), file="daemon.toml", at="$.feeds[0]")
    config = ReplayFeedConfig(path="sample:btcusdt_1m.csv", instrument_id="BTC/USDT.SIM")

    feed = REGISTRY.build_feed(config, context)

    assert isinstance(feed, ReplayFeedBinding)
    assert feed.bar_type == config.bar_type
    assert feed.first_event_time() == 1_672_531_260_000_000_000  # the sample's first close
    assert not feed.finished.is_set()


@pytest.mark.parametrize(
    ("raw", "path", "reason"),
    [
        pytest.param({"venues": [{"venue": "SIM"}]}, "$.venues[0].kind",
                     "required field is missing (one of: ccxt, ibkr, sim)",
                     id="venue-without-kind"),
        pytest.param({"feeds": [{}, {"path": "x.csv"}]}, "$.feeds[0].kind",
                     "required field is missing (one of: ccxt, ibkr, replay)",
                     id="feed-without-kind"),
        pytest.param({"venues": [{"kind": "sim"}, {"kind": "fix"}]}, "$.venues[1].kind",
                     "unknown venue kind 'fix' (one of: ccxt, ibkr, sim)",
                     id="unknown-venue-kind"),
        pytest.param({"feeds": [{"kind": 3}]}, "$.feeds[0].kind",
                     "unknown feed kind 3 (one of: ccxt, ibkr, replay)", id="kind-not-a-string"),
    ],
)
def test_registry_check_kinds_names_the_entry_without_a_registered_kind(
    raw: dict[str, Any], path: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        REGISTRY.check_kinds(raw, file="daemon.toml")

    assert (raised.value.path, raised.value.reason) == (path, reason)


def test_daemon_file_type_is_the_documented_struct_for_the_default_kinds() -> None:
    registry = default_registry()
    same_kinds = daemon_file_type(registry)
    registry.register_venue("paper", PaperVenueConfig, paper_factory)

    extended = daemon_file_type(registry)

    assert same_kinds is DaemonFileConfig
    assert issubclass(extended, DaemonFileConfig) and extended is not DaemonFileConfig
    assert daemon_file_type(registry) is extended  # made once per set of kinds
