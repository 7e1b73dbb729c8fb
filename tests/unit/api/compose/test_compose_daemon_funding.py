"""A paper daemon trading a perpetual pays funding from its feed's funding file (issue 9).

The replay feed plays the funding rates among the bars on the same clock; the simulated
venue pays each open position at each rate, as in a backtest of the same files. The
rates are journaled inputs like the bars, so a restart (from a snapshot or from the
whole journal) rebuilds the same funding, and the recording holds them, so a backtest
of it pays the same.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.data import RecordingSource
from adapters.sim import SimVenue
from api.compose import build_instruments, build_strategies, load_daemon_config
from api.compose.replay import ReplayFeedBinding, ReplayFeedConfig
from engine.backtest import BacktestSettings, run_backtest
from engine.cache import MarketCache
from engine.errors import ConfigError
from engine.events import BarType, FundingRate
from engine.graph import TradingGraph
from engine.instruments import InstrumentRegistry
from engine.replay import ReplaySource
from engine.topics import funding_topic
from tests.unit.api.compose.test_compose_daemon_perpetual import perpetual_config
from tests.unit.api.compose.test_compose_daemon_restart import (
    FREE_API_PORT,
    make_node,
    run_and_look,
    run_and_look_fed,
)

MINUTE_MS = 60_000
FIRST_BAR_MS = 1_672_531_200_000  # the bundled sample's first bar
RATES = [
    # (ts in ms, rate, mark price or ""): before the strategy is long (nothing to pay), at
    # a bar's time, between two bars at its own mark price, and a negative rate (a long
    # receives it).
    (FIRST_BAR_MS + 2 * MINUTE_MS, "0.0001", ""),
    (FIRST_BAR_MS + 30 * MINUTE_MS, "0.0003", ""),
    (FIRST_BAR_MS + 60 * MINUTE_MS + 30_000, "0.0002", "31000"),
    (FIRST_BAR_MS + 90 * MINUTE_MS, "-0.0005", ""),
]


def funded_config(folder: Path, *, snapshots: bool = True, record: bool = False) -> Path:
    path = perpetual_config(folder)
    (folder / "funding.csv").write_text(
        "ts,rate,mark_price\n" + "".join(f"{ts},{rate},{mark}\n" for ts, rate, mark in RATES))
    text = path.read_text()
    text = text.replace('timeframe = "1m"\n', 'timeframe = "1m"\nfunding = "funding.csv"\n', 1)
    assert 'funding = "funding.csv"' in text
    if not snapshots:
        text = re.sub(r"^snapshot_interval_s = .*$", "snapshot_interval_s = 0.0", text,
                      flags=re.MULTILINE)
    if record:
        text = re.sub(r"^record = .*$", "record = true", text, flags=re.MULTILINE)
    path.write_text(text)
    return path


def paid(graph: TradingGraph | None) -> tuple[Decimal, int]:
    assert graph is not None
    return (graph.portfolio.funding(strategy_id="rsi", instrument_id="BTC/USDT.SIM"),
            graph.portfolio.statistics().funding_payments)


def expected_funding(folder: Path, quantity: Decimal) -> Decimal:
    """What a position of `quantity`, long from before the second rate on, pays: at each
    rate, quantity x mark x rate, the mark being the row's or else the close of the last
    bar closed at or before the rate (a bar of CSV time t closes at t + 1 minute)."""
    closes = {int(line.split(",")[0]) + MINUTE_MS: Decimal(line.split(",")[4])
              for line in (folder / "bars.csv").read_text().splitlines()[1:]}
    total = Decimal(0)
    for ts, rate, mark in RATES[1:]:
        price = Decimal(mark) if mark else closes[max(t for t in closes if t <= ts)]
        total -= quantity * price * Decimal(rate)
    return total


@pytest.mark.anyio
async def test_a_paper_session_on_a_perpetual_pays_its_feeds_funding(tmp_path: Path) -> None:
    node = await run_and_look_fed(funded_config(tmp_path))

    assert node.graph is not None
    long = node.graph.portfolio.net_quantity("BTC/USDT.SIM", "rsi")
    assert long == Decimal("0.5")
    [buy] = node.graph.portfolio.fills()
    assert RATES[0][0] * 1_000_000 < buy.ts_event < RATES[1][0] * 1_000_000
    funding, payments = paid(node.graph)
    assert payments == 3  # the first rate came before the strategy was long
    assert funding == expected_funding(tmp_path, long)
    # The balance is the start less the fee, plus the funding (a perpetual's fill moves
    # no notional).
    assert node.graph.portfolio.balances() == {
        "USDT": Decimal("10000000") - buy.commission + funding}


@pytest.mark.anyio
@pytest.mark.parametrize("snapshots", [True, False], ids=["from-snapshot", "full-replay"])
async def test_a_restart_rebuilds_the_same_funding(tmp_path: Path, snapshots: bool) -> None:
    path = funded_config(tmp_path, snapshots=snapshots)
    first = await run_and_look_fed(path)
    before = paid(first.graph)
    assert first.graph is not None
    balances = first.graph.portfolio.balances()

    second, _ = await run_and_look(path)

    assert paid(second.graph) == before
    assert second.graph is not None
    assert second.graph.portfolio.balances() == balances
    assert second.recovery is not None
    if not snapshots:  # the whole journal replayed: the rates among its market data
        assert second.recovery.data_by_topic[funding_topic("BTC/USDT.SIM")] == len(RATES)
    [report] = second.reconciliations  # the venue's account agrees with the books
    assert report.agrees, report


@pytest.mark.anyio
async def test_a_backtest_of_the_recording_pays_the_same_funding(tmp_path: Path) -> None:
    path = funded_config(tmp_path, record=True)
    node = await run_and_look_fed(path)
    session = paid(node.graph)
    assert node.graph is not None
    recording = next((tmp_path / "tradebus-data").glob("recording*.sqlite"))
    rates = [item for item in RecordingSource(recording) if isinstance(item, FundingRate)]
    assert [r.rate for r in rates] == [float(rate) for _, rate, _ in RATES]

    graph = backtest_recording(path, recording)

    assert paid(graph) == session
    assert graph.portfolio.balances() == node.graph.portfolio.balances()


def backtest_recording(config_path: Path, recording: Path) -> TradingGraph:
    config, file = load_daemon_config(config_path, environ=FREE_API_PORT)
    instruments = build_instruments(config.instruments, str(file))
    strategies = build_strategies(config.strategies,
                                  {i.instrument_id for i in instruments}, str(file))
    cache = MarketCache()
    [venue_config] = config.venues
    venue = SimVenue(venue_config, InstrumentRegistry(instruments), cache=cache,
                     starting_balances=config.portfolio.starting_balances)
    graphs: list[TradingGraph] = []
    run_backtest(
        settings=BacktestSettings(name="funding"), instruments=instruments,
        sources=[ReplaySource(RecordingSource(recording))],
        bar_types=[BarType(instrument_id="BTC/USDT.SIM", timeframe="1m")],
        venues=[venue], strategies=strategies, portfolio=config.portfolio, risk=config.risk,
        observe=graphs.append, cache=cache,
    )
    return graphs[0]


def test_the_feed_starts_at_a_rate_before_its_first_bar(tmp_path: Path) -> None:
    """The session's clock origin is the feed's first item, rate or bar."""
    (tmp_path / "funding.csv").write_text(f"ts,rate\n{FIRST_BAR_MS - MINUTE_MS},0.0001\n")
    funded = ReplayFeedBinding(ReplayFeedConfig(
        path="sample:btcusdt_1m.csv", instrument_id="BTC/USDT.SIM", funding="funding.csv"),
        base=tmp_path)
    plain = ReplayFeedBinding(ReplayFeedConfig(
        path="sample:btcusdt_1m.csv", instrument_id="BTC/USDT.SIM"))

    assert funded.first_event_time() == (FIRST_BAR_MS - MINUTE_MS) * 1_000_000
    assert plain.first_event_time() == (FIRST_BAR_MS + MINUTE_MS) * 1_000_000  # its close


def config_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        make_node(path)
    return raised.value


def test_a_missing_funding_file_is_a_config_error_naming_the_field(tmp_path: Path) -> None:
    path = funded_config(tmp_path)
    (tmp_path / "funding.csv").unlink()
    error = config_error(path)
    assert error.path == "$.feeds[0].funding"
    assert "no such file" in str(error)


def test_a_bad_funding_row_is_a_config_error_naming_its_line(tmp_path: Path) -> None:
    path = funded_config(tmp_path)
    with (tmp_path / "funding.csv").open("a") as file:
        file.write(f"{FIRST_BAR_MS + 95 * MINUTE_MS},lots,\n")
    error = config_error(path)
    assert error.path == "$.feeds[0].funding"
    assert "funding.csv:6: not a number" in str(error)


def test_a_recording_feed_takes_no_funding_file(tmp_path: Path) -> None:
    path = funded_config(tmp_path)
    text = path.read_text().replace('path = "bars.csv"', 'path = "old.sqlite"', 1)
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        make_node(path)
    message = str(raised.value)
    assert "feeds[0]" in message and "funding" in message and "recording" in message
