"""Invariant 2 end to end: a recorded paper session, replayed as a backtest, decides the same.

`tradebus run` trades the SMA cross on sample bars with `record = true`, which writes what
the graph handled to `tradebus-data/recording.sqlite`. A backtest over that recording
(the general replay path: no fixed topic) with the same instruments, strategy, venue,
risk and portfolio config must send the same orders in the same order and get the same
fills as the paper session's journal shows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from adapters.data import RecordingSource
from adapters.sim import SimVenue
from api.compose import (
    DEFAULT_DAEMON_CONFIG,
    build_instruments,
    build_strategies,
    load_daemon_config,
)
from engine.backtest import BacktestSettings, run_backtest
from engine.cache import MarketCache
from engine.events.fills import OrderFilled
from engine.events.market import BarType
from engine.events.orders import SubmitOrder
from engine.graph import TradingGraph
from engine.instruments import InstrumentRegistry
from engine.persistence import JournalReader
from engine.replay import ReplaySource
from engine.testing import order_key, session_prefixes
from engine.topics import ORDERS_PROCESS, RISK_EXECUTE

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "adapters" / "data" / "sample" / "btcusdt_1m.csv"
BARS = 500
SPEED = 10_000.0  # a one-minute bar every 6 ms: three seconds


def paper_session(folder: Path) -> Path:
    """Run a recorded paper session to its end in `folder`; return its config."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bars.csv").write_text("\n".join(SAMPLE.read_text().splitlines()[: BARS + 1])
                                     + "\n")
    text = DEFAULT_DAEMON_CONFIG.read_text()
    for old, new in [
        ('path = "sample:btcusdt_1m.csv"', 'path = "bars.csv"'),
        ("speed = 600.0", f"speed = {SPEED}\nstop_when_feeds_finish = true"),
        ('log_format = "auto"', 'log_format = "json"'),
    ]:
        if old not in text:
            raise ValueError(f"edit {old!r}: not in the bundled paper config")
        text = text.replace(old, new, 1)
    assert "record = true" in text
    config = folder / "paper.toml"
    config.write_text(text)
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("TRADEBUS__")}
    environment["TRADEBUS__API__PORT"] = "0"  # a free port: 8000 may be taken
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), environment.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-m", "api.cli", "run", str(config)], cwd=folder,
                          env=environment, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return config


def submit_key(command: SubmitOrder, prefixes: tuple[str, ...] = ()) -> tuple[Any, ...]:
    # A daemon session prefixes its ids, a backtest does not: compare the decision.
    return (order_key(command.client_order_id, prefixes), command.side, command.order_type,
            command.quantity)


def fill_key(fill: OrderFilled, prefixes: tuple[str, ...] = ()) -> tuple[Any, ...]:
    return (order_key(fill.client_order_id, prefixes), fill.side, fill.last_quantity,
            fill.last_price, fill.commission)


def test_daemon_recorded_paper_session_replays_as_backtest_with_same_decisions(
    tmp_path: Path,
) -> None:
    config_path = paper_session(tmp_path)
    data = tmp_path / "tradebus-data"
    reader = JournalReader(data / "journal.sqlite")
    journal = list(reader.records())
    assert reader.corruption is None
    prefix = session_prefixes(r.message for r in journal)
    assert len(prefix) == 1
    paper_submits = [submit_key(r.message, prefix) for r in journal
                     if r.kind == "command.submit_order" and r.topic == RISK_EXECUTE]
    paper_fills = [fill_key(r.message, prefix) for r in journal
                   if r.kind == "order.filled" and r.topic == ORDERS_PROCESS]
    assert len(paper_submits) > 10

    recording = RecordingSource(data / "recording.sqlite")
    recorded = list(recording)
    handled = [r.message for r in journal if r.kind == "bar"]
    assert recorded == handled  # the recording is what the graph handled, as it handled it
    assert len(recorded) == BARS

    config, file = load_daemon_config(config_path, environ={})
    instruments = build_instruments(config.instruments, str(file))
    strategies = build_strategies(config.strategies,
                                  {i.instrument_id for i in instruments}, str(file))
    cache = MarketCache()
    [venue_config] = config.venues  # the paper config's one simulated venue
    venue = SimVenue(venue_config, InstrumentRegistry(instruments), cache=cache)
    backtest_submits: list[tuple[Any, ...]] = []
    backtest_fills: list[tuple[Any, ...]] = []

    def observe(graph: TradingGraph) -> None:
        def record(topic: str, message: Any) -> None:
            if type(message) is SubmitOrder and topic == RISK_EXECUTE:
                backtest_submits.append(submit_key(message))
            elif type(message) is OrderFilled and topic == ORDERS_PROCESS:
                backtest_fills.append(fill_key(message))

        graph.bus.add_observer(record)

    result = run_backtest(
        settings=BacktestSettings(name="parity"),
        instruments=instruments,
        sources=[ReplaySource(recording)],
        bar_types=[BarType(instrument_id=feed.instrument_id, timeframe=feed.timeframe)
                   for feed in config.feeds],
        venues=[venue],
        strategies=strategies,
        portfolio=config.portfolio,
        risk=config.risk,
        observe=observe,
        cache=cache,
    )
    assert result.items_processed == BARS
    assert backtest_submits == paper_submits
    assert backtest_fills == paper_fills
