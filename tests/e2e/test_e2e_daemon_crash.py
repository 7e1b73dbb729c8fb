"""Invariant 5 end to end: `tradebus run` killed with SIGKILL mid-session loses nothing.

One uninterrupted paper session is the reference. A second one, in a data directory of
its own, is killed (SIGKILL: no cleanup runs) about 40 % through, then started again in
the same directory and left to finish. Its journal must hold every bar exactly once, in
the CSV's order, no order twice, and rebuild (replayed through a fresh graph, as a
restart does) the reference's fills, positions, balances and open orders.

600 bars at 6,000x only keep the test short (six seconds a session). The result does not
depend on how fast bars are handled: engine time is an input (every clock reading while
an input is handled gives that input's time) and the recorded feed paces the timers, so
a bar handled late fills the same order on the same bar. The kill campaign
(test_e2e_daemon_kill_campaign.py) holds that at 100,000x with a strategy that is
sometimes slow, and compares the whole final state.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import daemon_support as support
import pytest
from daemon_support import bars_journaled, daemon_command, journal_path, read_journal

from adapters.data import CsvBarSource
from api.compose import build_node, load_daemon_config
from engine.clock import LiveClock
from engine.events.fills import OrderFilled
from engine.events.orders import SubmitOrder
from engine.persistence import JournalRecord
from engine.runtime import replay_inputs
from engine.testing import BAR_TYPE, order_key, session_prefixes
from engine.topics import RISK_EXECUTE

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BARS = 600
SPEED = 6_000.0  # a one-minute bar every 10 ms: 600 bars in six seconds


def write_bars(folder: Path) -> Path:
    """The first BARS rows of the sample, in a file of their own."""
    return support.write_bars(folder, BARS)


def write_config(folder: Path, bars: Path) -> Path:
    """The bundled paper config on `bars` at SPEED, not recording."""
    return support.write_config(folder, bars, speed=SPEED, record=False)


def run_to_the_end(config: Path) -> None:
    done = subprocess.run(**daemon_command(config), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]


def rebuild(config: Path, records: list[JournalRecord]) -> dict[str, Any]:
    """Replay a journal's inputs through a fresh graph, as the daemon's recovery does."""
    loaded, file = load_daemon_config(config, environ={})
    node = build_node(loaded, file=file, cwd=config.parent)
    clock = LiveClock(origin_ns=records[0].ts_init)
    clock.hold(records[0].ts_init)
    graph = node.build_graph(clock)
    fills: list[tuple[Any, ...]] = []
    submits: list[tuple[str, int]] = []
    prefixes = session_prefixes(record.message for record in records)

    def key(client_order_id: str) -> tuple[str, int]:
        return order_key(client_order_id, prefixes)

    def observe(topic: str, message: Any) -> None:
        if type(message) is OrderFilled and topic.startswith("orders."):
            fills.append((key(message.client_order_id), message.side, message.last_quantity,
                          message.last_price, message.commission))
        elif type(message) is SubmitOrder and topic == RISK_EXECUTE:
            submits.append(key(message.client_order_id))

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


def test_daemon_kill_9_mid_session_then_restart_loses_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    bars_file = write_bars(tmp_path)
    reference_config = write_config(tmp_path / "reference", bars_file)
    run_to_the_end(reference_config)

    config = write_config(tmp_path / "killed", bars_file)
    process = subprocess.Popen(**daemon_command(config), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while bars_journaled(journal_path(config.parent)) < 0.4 * BARS:
            assert process.poll() is None, "the session ended before it could be killed"
            assert time.monotonic() < deadline, "the session made no progress"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)
        assert process.stderr is not None
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    killed_at = read_journal(config.parent)
    bars_at_kill = sum(1 for record in killed_at if record.kind == "bar")
    assert 0.4 * BARS <= bars_at_kill < BARS  # mid-session
    assert not any(record.kind == "system.session_stopping" for record in killed_at)

    run_to_the_end(config)
    records = read_journal(config.parent)
    reference = read_journal(reference_config.parent)
    assert {record.session for record in records} == {1, 2}

    # (a) No event lost: every bar once, as an input, in the CSV's order.
    bars = [record for record in records if record.kind == "bar"]
    assert all(record.is_input for record in bars)
    csv_times = [bar.ts_event for bar in CsvBarSource(bars_file, BAR_TYPE)]
    assert len(csv_times) == BARS
    assert [record.message.ts_event for record in bars] == csv_times

    # (b) No order duplicated: each client order id submitted and sent on once.
    submitted = [record.message.client_order_id for record in records
                 if record.kind == "order.submitted"]
    assert submitted and len(submitted) == len(set(submitted))
    per_hop = Counter((record.topic, record.message.client_order_id) for record in records
                      if record.kind == "command.submit_order")
    assert set(per_hop.values()) == {1}
    # The same decisions as the uninterrupted run (ids differ only by session prefix).
    keys = session_prefixes(record.message for record in records)
    reference_keys = session_prefixes(record.message for record in reference)
    submitted_keys = [order_key(cid, keys) for cid in submitted]
    assert submitted_keys == [order_key(record.message.client_order_id, reference_keys)
                              for record in reference if record.kind == "order.submitted"]

    # (c) The same state as the uninterrupted run: fills in order, positions, balances,
    # open orders, every order's outcome.
    rebuilt, expected = rebuild(config, records), rebuild(reference_config, reference)
    assert len(expected["fills"]) > 10  # the comparison covers a real session
    assert rebuilt == expected
    assert rebuilt["submits"] == submitted_keys
    journal_fills = [(order_key(r.message.client_order_id, keys), r.message.side,
                      r.message.last_quantity, r.message.last_price, r.message.commission)
                     for r in records
                     if r.kind == "order.filled" and r.topic.startswith("orders.")]
    assert journal_fills == expected["fills"]
