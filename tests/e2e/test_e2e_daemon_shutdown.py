"""`tradebus run` stopped by signals while bars stream: graceful once, forced twice.

A fast session over the whole sample, with a small inbox lane and a status line every
100 ms, plus a strategy that rests a limit order far below the market, so there is an
open order to cancel. SIGTERM mid-stream must end it with code 0: the session's last
input is its `system.session_stopping` marker, the journal reads back clean, no order is
left open (`cancel_open_orders_on_stop`), and the status lines count what the inbox
dropped. Two SIGTERMs in a row exit at once with code 130, the committed journal intact.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from api.compose import DEFAULT_DAEMON_CONFIG
from engine.persistence import JournalReader, JournalRecord

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "adapters" / "data" / "sample" / "btcusdt_1m.csv"
BARS = 20_000

RESTING_MODULE = '''
"""Rest one buy limit order 9.5 % under the first close (the sample's first 3,000 bars
never trade that low), so a stop has an open order to cancel."""

from engine.domain.enums import OrderSide
from engine.events.market import BarType
from engine.strategy import Strategy


class Resting(Strategy):
    def on_start(self):
        self.placed = False
        self.subscribe_bars(BarType(instrument_id="BTC/USDT.SIM", timeframe="1m"))

    def on_bar(self, bar):
        if not self.placed:
            self.placed = True
            self.limit_order("BTC/USDT.SIM", OrderSide.BUY, "0.01", round(bar.close * 0.905, 2))
'''

SLOW_STOP = '''

import time


class SlowToStop(Resting):
    """Take two seconds to stop: a graceful stop still under way when the next signal comes."""

    def on_stop(self):
        time.sleep(2)
'''

OPEN_KINDS = frozenset({"order.submitted", "order.accepted", "order.triggered", "order.updated",
                        "order.pending_cancel", "order.pending_update",
                        "order.outcome_unknown"})
KEEP_STATE_KINDS = frozenset({"order.cancel_rejected", "order.modify_rejected"})


def start_session(folder: Path, strategy: str = "Resting") -> subprocess.Popen[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "resting_strategy.py").write_text(RESTING_MODULE + SLOW_STOP)
    text = DEFAULT_DAEMON_CONFIG.read_text()
    for old, new in [
        ('path = "sample:btcusdt_1m.csv"', f'path = "{SAMPLE}"'),
        ("speed = 600.0", "speed = 240000.0"),
        ("data_capacity = 10000", "data_capacity = 50"),
        ("status_interval_s = 10.0", "status_interval_s = 0.1"),
        ('log_format = "auto"', 'log_format = "json"'),
        ("record = true", "record = false"),
        # Open orders stay working across a stop by default; this test checks the cancel.
        ("cancel_open_orders_on_stop = false", "cancel_open_orders_on_stop = true"),
    ]:
        if old not in text:
            raise ValueError(f"edit {old!r}: not in the bundled paper config")
        text = text.replace(old, new, 1)
    text += f'\n[[strategies]]\nid = "resting"\nclass = "resting_strategy:{strategy}"\n'
    config = folder / "paper.toml"
    config.write_text(text)
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("TRADEBUS__")}
    environment["TRADEBUS__API__PORT"] = "0"  # a free port: 8000 may be taken
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), str(folder), environment.get("PYTHONPATH")]))
    return subprocess.Popen([sys.executable, "-m", "api.cli", "run", str(config)],
                            cwd=folder, env=environment, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def wait_for_bars(process: subprocess.Popen[str], journal: Path, bars: int) -> None:
    """Return once the journal has committed `bars` bars (the session is mid-stream)."""
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "the session ended before the signal"
        assert time.monotonic() < deadline, "the session made no progress"
        if journal.exists():
            try:
                connection = sqlite3.connect(f"{journal.as_uri()}?mode=ro", uri=True, timeout=1)
                try:
                    count = connection.execute(
                        "SELECT count(*) FROM journal WHERE kind = 'bar'").fetchone()[0]
                finally:
                    connection.close()
                if count >= bars:
                    return
            except sqlite3.OperationalError:  # no table yet
                pass
        time.sleep(0.01)


def finish(process: subprocess.Popen[str]) -> tuple[int, list[dict[str, Any]]]:
    try:
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return process.returncode, lines


def read_journal(folder: Path) -> list[JournalRecord]:
    reader = JournalReader(folder / "tradebus-data" / "journal.sqlite")
    records = list(reader.records())
    assert reader.corruption is None, reader.corruption
    assert [record.seq for record in records] == list(range(1, len(records) + 1))
    return records


def order_states(records: list[JournalRecord]) -> dict[str, str]:
    """Each order's last state, from the order events its strategy was told of."""
    states: dict[str, str] = {}
    for record in records:
        if record.kind.startswith("order.") and record.topic.startswith("events.order."):
            if record.kind not in KEEP_STATE_KINDS:
                states[record.message.client_order_id] = record.kind
    return states


def test_daemon_sigterm_while_streaming_stops_cleanly(tmp_path: Path) -> None:
    process = start_session(tmp_path)
    wait_for_bars(process, tmp_path / "tradebus-data" / "journal.sqlite", 2_000)
    process.send_signal(signal.SIGTERM)
    code, logs = finish(process)
    assert code == 0, logs[-5:]

    records = read_journal(tmp_path)
    bars = sum(1 for record in records if record.kind == "bar")
    assert 2_000 <= bars < BARS  # stopped mid-stream
    inputs = [record for record in records if record.is_input]
    assert inputs[-1].kind == "system.session_stopping"
    assert inputs[-1].message.cancel_open_orders is True
    assert {record.session for record in records} == {1}

    states = order_states(records)
    resting = [state for order, state in states.items() if "resting-" in order]
    assert resting == ["order.canceled"]  # it was open at the stop, and the stop canceled it
    assert [order for order, state in states.items() if state in OPEN_KINDS] == []

    messages = [line["message"] for line in logs if line.get("component") == "engine.runtime.node"]
    assert any(message.startswith("session 1 stopped") for message in messages)
    status = [message for message in messages if message.startswith("status:")]
    assert status  # the status line reports the inbox, drops included
    dropped = int(status[-1].rsplit("dropped ", 1)[1])
    assert dropped >= 0 and bars + dropped <= BARS


def test_daemon_second_sigterm_exits_at_once_with_journal_intact(tmp_path: Path) -> None:
    process = start_session(tmp_path, strategy="SlowToStop")
    wait_for_bars(process, tmp_path / "tradebus-data" / "journal.sqlite", 1_000)
    process.send_signal(signal.SIGTERM)
    # The second signal only once the first was taken: two pending SIGTERMs merge into one.
    assert process.stderr is not None
    while "stopping gracefully" not in (line := process.stderr.readline()):
        assert line, "the daemon never acknowledged the first SIGTERM"
    process.send_signal(signal.SIGTERM)
    code, logs = finish(process)
    assert code == 130, logs[-5:]
    assert any("again" in line["message"] for line in logs if line["level"] == "error")
    # Exited inside the graceful stop, not after it.
    assert not any(line["message"].startswith("session 1 stopped") for line in logs)
    records = read_journal(tmp_path)  # the committed prefix reads back whole
    assert sum(1 for record in records if record.kind == "bar") >= 1_000
