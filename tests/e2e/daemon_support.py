"""What the daemon's end-to-end tests share: paper configs, the subprocess, the journal,
its rebuild (as recovery does it) and a backtest of the session's recording."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio

from adapters.data import RecordingSource
from adapters.sim import SimVenue
from api.compose import (
    DEFAULT_DAEMON_CONFIG,
    build_instruments,
    build_node,
    build_strategies,
    load_daemon_config,
)
from engine.backtest import BacktestSettings, run_backtest
from engine.cache import MarketCache
from engine.clock import LiveClock
from engine.events.fills import OrderFilled
from engine.events.market import BarType
from engine.events.orders import SubmitOrder
from engine.graph import TradingGraph
from engine.instruments import InstrumentRegistry
from engine.persistence import JournalReader, JournalRecord
from engine.replay import ReplaySource
from engine.runtime import replay_inputs
from engine.testing import order_key, session_prefixes
from engine.topics import ORDERS_PROCESS, RISK_EXECUTE

FREE_API_PORT = {"TRADEBUS__API__PORT": "0"}
"""The environment the daemons of these tests load: an OS-chosen API port (8000 may be
taken, by a daemon running beside the tests)."""

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "adapters" / "data" / "sample" / "btcusdt_1m.csv"


def write_bars(folder: Path, bars: int) -> Path:
    """The first `bars` rows of the sample, in a file of their own."""
    lines = SAMPLE.read_text().splitlines()[: bars + 1]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bars.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_config(folder: Path, bars: Path, *, speed: float, record: bool,
                 edits: tuple[tuple[str, str], ...] = ()) -> Path:
    """The bundled paper config on `bars` at `speed`, stopping when the feed ends."""
    text = DEFAULT_DAEMON_CONFIG.read_text()
    for old, new in [
        ('path = "sample:btcusdt_1m.csv"', f'path = "{bars}"'),
        ("speed = 600.0", f"speed = {speed}\nstop_when_feeds_finish = true"),
        ('log_format = "auto"', 'log_format = "json"'),
        ("record = true", f"record = {'true' if record else 'false'}"),
        *edits,
    ]:
        if old not in text:
            raise ValueError(f"edit {old!r}: not in the bundled paper config")
        text = text.replace(old, new, 1)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "paper.toml"
    path.write_text(text)
    return path


def daemon_command(config: Path) -> dict[str, Any]:
    """`tradebus run config` as subprocess arguments (this worktree's code, a free port)."""
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("TRADEBUS__")}
    environment["TRADEBUS__API__PORT"] = "0"  # a free port: 8000 may be taken
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), str(ROOT / "tests" / "e2e"), environment.get("PYTHONPATH")]))
    return {"args": [sys.executable, "-m", "api.cli", "run", str(config)],
            "cwd": config.parent, "env": environment}


def journal_path(folder: Path) -> Path:
    return folder / "tradebus-data" / "journal.sqlite"


def bars_journaled(path: Path) -> int:
    """Committed bar records, read the way another process sees them (0 before the file)."""
    return records_journaled(path, "bar")


def records_journaled(path: Path, kind: str, *, inputs_only: bool = False) -> int:
    """Committed records of `kind` (only inputs: `inputs_only`), read the way another
    process sees them (0 before the file or its table exists)."""
    if not path.exists():
        return 0
    query = "SELECT count(*) FROM journal WHERE kind = ?" + (
        " AND is_input = 1" if inputs_only else "")
    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=1)
        try:
            return int(connection.execute(query, (kind,)).fetchone()[0])
        finally:
            connection.close()
    except sqlite3.OperationalError:  # the writer has not made the table yet
        return 0


def start_daemon(config: Path, *command_line: str,
                 environ: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`tradebus run config` (or another subcommand's `command_line`) in the background,
    `environ` added (credentials), its stderr appended to `<name>.log` beside `config`."""
    command = daemon_command(config)
    if command_line:
        command["args"] = [*command["args"][:3], *command_line]
    command["env"] = {**command["env"], **(environ or {})}
    name = command_line[0] if command_line else "daemon"
    with (config.parent / f"{name}.log").open("ab") as log:  # the child keeps its own copy
        return subprocess.Popen(**command, stdout=subprocess.DEVNULL, stderr=log)


def tail(log: Path) -> str:
    """The end of a daemon's log, for a failure message."""
    return log.read_text()[-3000:]


async def stop_daemon(process: subprocess.Popen[bytes], how: signal.Signals,
                      wait_s: float = 20.0) -> int:
    """Send `how` and wait (at most `wait_s`) for the process to end: its exit code."""
    process.send_signal(how)
    with anyio.fail_after(wait_s):
        while process.poll() is None:  # noqa: ASYNC110 (a subprocess offers no event here)
            await anyio.sleep(0.05)
    return process.returncode


def read_journal(folder: Path) -> list[JournalRecord]:
    reader = JournalReader(journal_path(folder))
    records = list(reader.records())
    assert reader.corruption is None, reader.corruption
    return records


def fill_key(fill: OrderFilled, prefixes: tuple[str, ...] = ()) -> tuple[Any, ...]:
    return (order_key(fill.client_order_id, prefixes), fill.side, fill.last_quantity,
            fill.last_price, fill.commission)


def submit_key(command: SubmitOrder, prefixes: tuple[str, ...] = ()) -> tuple[Any, ...]:
    # A daemon session prefixes its ids, a backtest does not: compare the decision.
    return (order_key(command.client_order_id, prefixes), command.side, command.order_type,
            command.quantity)


def journal_fills(records: list[JournalRecord]) -> list[tuple[Any, ...]]:
    """The fills the journal says the sessions made, in order."""
    prefixes = session_prefixes(record.message for record in records)
    return [fill_key(r.message, prefixes) for r in records
            if r.kind == "order.filled" and r.topic == ORDERS_PROCESS]


def rebuild(config: Path, records: list[JournalRecord]) -> dict[str, Any]:
    """Replay a journal's inputs through a fresh graph, as the daemon's recovery does."""
    loaded, file = load_daemon_config(config, environ=FREE_API_PORT)
    node = build_node(loaded, file=file, cwd=config.parent)
    clock = LiveClock(origin_ns=records[0].ts_init)
    clock.hold(records[0].ts_init)
    graph = node.build_graph(clock)
    fills: list[tuple[Any, ...]] = []
    submits: list[tuple[Any, ...]] = []
    prefixes = session_prefixes(record.message for record in records)

    def key(client_order_id: str) -> tuple[str, int]:
        return order_key(client_order_id, prefixes)

    def observe(topic: str, message: Any) -> None:
        if type(message) is OrderFilled and topic == ORDERS_PROCESS:
            fills.append(fill_key(message, prefixes))
        elif type(message) is SubmitOrder and topic == RISK_EXECUTE:
            submits.append(submit_key(message, prefixes))

    graph.bus.add_observer(observe)
    replay_inputs(graph, clock, records)
    return {
        "fills": fills,
        "submits": submits,
        "balances": graph.portfolio.balances(),
        "positions": [(p.strategy_id, p.instrument_id, p.side, p.quantity,
                       p.average_entry_price, p.realized_pnl, p.fees)
                      for p in graph.portfolio.positions()],
        "orders": [(key(o.client_order_id), o.side, o.quantity, o.status, o.filled_quantity,
                    o.average_fill_price) for o in graph.orders.orders()],
        "open_orders": [key(o.client_order_id) for o in graph.orders.open_orders()],
    }


def backtest_recording(config_path: Path, recording: RecordingSource) -> dict[str, Any]:
    """A backtest over a session's recording with the session's instruments, strategies,
    venue, risk and portfolio: the orders it sends and the fills it gets, in order."""
    config, file = load_daemon_config(config_path, environ=FREE_API_PORT)
    instruments = build_instruments(config.instruments, str(file))
    strategies = build_strategies(config.strategies,
                                  {i.instrument_id for i in instruments}, str(file))
    cache = MarketCache()
    [venue_config] = config.venues  # the paper config's one simulated venue
    venue = SimVenue(venue_config, InstrumentRegistry(instruments), cache=cache)
    submits: list[tuple[Any, ...]] = []
    fills: list[tuple[Any, ...]] = []

    def observe(graph: TradingGraph) -> None:
        def record(topic: str, message: Any) -> None:
            if type(message) is SubmitOrder and topic == RISK_EXECUTE:
                submits.append(submit_key(message))
            elif type(message) is OrderFilled and topic == ORDERS_PROCESS:
                fills.append(fill_key(message))

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
    return {"items": result.items_processed, "submits": submits, "fills": fills}
