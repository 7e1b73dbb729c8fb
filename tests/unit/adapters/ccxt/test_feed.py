"""The `ccxt` feed kind: the entry checked, decoded by the default registry (which lists
it), and streaming the fake's market."""

from __future__ import annotations

from dataclasses import dataclass

import anyio
import msgspec
import pytest

from adapters.ccxt import CcxtFeedBinding, CcxtFeedEntry, make_ccxt_feed
from api.compose.registry import AdapterRegistry, default_registry
from engine.errors import ConfigError
from engine.events.market import BarType, TradeTick
from engine.ports import MarketData
from tests.fakes.binance import FakeBinance

TS_INIT = 42


@dataclass(frozen=True)
class Location:
    at: str = "$.feeds[0]"
    file: str = "live.toml"


class FixedClock:
    def timestamp_ns(self) -> int:
        return TS_INIT

    async def sleep_until(self, ts_ns: int) -> None:
        await anyio.sleep_forever()


def registry_with_ccxt() -> AdapterRegistry:
    return default_registry()


def test_feed_entry_decodes_through_a_registry_union() -> None:
    registry = registry_with_ccxt()
    raw = {"kind": "ccxt", "instrument_id": "BTC/USDT.BINANCE", "stream": "bars",
           "timeframe": "5m", "urls": {"https://api.binance.com": "http://127.0.0.1:1"}}

    entry = msgspec.convert(raw, type=registry.feed_config_type())

    assert type(entry) is CcxtFeedEntry
    assert make_ccxt_feed(entry, Location()).bar_type == BarType(
        instrument_id="BTC/USDT.BINANCE", timeframe="5m")
    assert registry.feed_kinds == ("ccxt", "ibkr", "replay")


def test_feed_entry_with_unknown_field_fails_naming_it() -> None:
    raw = {"kind": "ccxt", "instrument_id": "BTC/USDT.BINANCE", "strem": "bars"}

    with pytest.raises(msgspec.ValidationError, match="strem"):
        msgspec.convert(raw, type=registry_with_ccxt().feed_config_type())


@pytest.mark.parametrize(("overrides", "field"), [
    ({"instrument_id": "BTCUSDT"}, "$.feeds[0].instrument_id"),
    ({"timeframe": "1x"}, "$.feeds[0].timeframe"),
    ({"exchange_id": "kraken"}, "$.feeds[0].exchange_id"),
], ids=["instrument_id", "timeframe", "exchange_id"])
def test_make_ccxt_feed_refuses_a_bad_entry_naming_the_field(
    overrides: dict[str, str], field: str
) -> None:
    entry = CcxtFeedEntry(**{"instrument_id": "BTC/USDT.BINANCE", **overrides})

    with pytest.raises(ConfigError) as raised:
        make_ccxt_feed(entry, Location())

    assert raised.value.path == field


async def test_feed_streams_trades_stamped_with_the_node_clock(fake: FakeBinance) -> None:
    binding = make_ccxt_feed(CcxtFeedEntry(instrument_id="BTC/USDT.BINANCE", stream="trades",
                                           urls=fake.urls), Location())
    delivered: list[MarketData] = []

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(lambda: binding.run(clock=FixedClock(), deliver=delivered.append,
                                             resume_after=None))
        with anyio.fail_after(5):
            while not delivered:
                fake.trade("100.25", "0.5")
                await anyio.sleep(0.1)
        tasks.cancel_scope.cancel()

    tick = delivered[0]
    assert isinstance(binding, CcxtFeedBinding) and type(tick) is TradeTick
    assert (tick.price, tick.size, tick.ts_init) == (100.25, 0.5, TS_INIT)
    assert binding.bar_type is None and not binding.finished.is_set()
    assert binding.statistics() is not None
