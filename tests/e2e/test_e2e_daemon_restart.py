"""A graceful restart trades exactly as an uninterrupted run (issue 7).

One uninterrupted paper session of the bundled SMA cross is the reference. A second one,
in a data directory of its own, is stopped gracefully (SIGTERM) about 40 % through, then
started again in the same directory and left to finish. The strategy's indicators must
survive the stop (`on_save`/`on_load`): the journal holds the same submits and fills as
the reference, and rebuilds the same positions, balances and orders.

The session setup (600 bars at 6,000x, why not the whole sample) is the kill -9 test's:
see tests/e2e/test_e2e_daemon_crash.py, whose helpers this test reuses.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from test_e2e_daemon_crash import (
    BARS,
    bars_journaled,
    daemon_command,
    journal_path,
    read_journal,
    rebuild,
    run_to_the_end,
    write_bars,
    write_config,
)

from engine.testing import order_key, session_prefixes

pytestmark = pytest.mark.e2e


def stop_gracefully_at(config: Path, fraction: float) -> None:
    """Run `config` until `fraction` of the bars are journaled, then SIGTERM it (exit 0)."""
    process = subprocess.Popen(**daemon_command(config), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while bars_journaled(journal_path(config.parent)) < fraction * BARS:
            assert process.poll() is None, "the session ended before it could be stopped"
            assert time.monotonic() < deadline, "the session made no progress"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr[-3000:]


RSI = """
[[strategies]]
id = "rsi"
class = "strategies.rsi_reversion:RsiMeanReversion"
[strategies.params]
instrument_id = "BTC/USDT.SIM"
period = 14
quantity = "0.5"
"""


def session_config(folder: Path, bars: Path, strategies: str) -> Path:
    """The kill -9 test's session, with the RSI strategy beside the SMA cross if asked."""
    config = write_config(folder, bars)
    if strategies == "sma+rsi":
        config.write_text(config.read_text() + RSI)
    return config


@pytest.mark.parametrize(("strategies", "fraction"), [("sma", 0.4), ("sma+rsi", 0.4),
                                                     ("sma+rsi", 0.7)])
def test_daemon_graceful_restart_trades_as_an_uninterrupted_run(
    tmp_path: Path, strategies: str, fraction: float
) -> None:
    bars_file = write_bars(tmp_path)
    reference_config = session_config(tmp_path / "reference", bars_file, strategies)
    run_to_the_end(reference_config)

    config = session_config(tmp_path / "restarted", bars_file, strategies)
    stop_gracefully_at(config, fraction)
    stopped_at = read_journal(config.parent)
    bars_at_stop = sum(1 for record in stopped_at if record.kind == "bar")
    assert fraction * BARS <= bars_at_stop < BARS  # mid-session
    assert [r.kind for r in stopped_at if r.is_input][-1] == "system.session_stopping"

    run_to_the_end(config)
    records = read_journal(config.parent)
    reference = read_journal(reference_config.parent)
    assert {record.session for record in records} == {1, 2}
    assert [r.message.ts_event for r in records if r.kind == "bar"] == [
        r.message.ts_event for r in reference if r.kind == "bar"]

    # The same decisions as the uninterrupted run (ids differ only by session prefix).
    keys = session_prefixes(record.message for record in records)
    reference_keys = session_prefixes(record.message for record in reference)

    def fills(journal: list, prefixes: object) -> list[tuple[object, ...]]:
        return [(order_key(r.message.client_order_id, prefixes), r.message.side,
                 r.message.last_quantity, r.message.last_price, r.message.commission)
                for r in journal if r.kind == "order.filled" and r.topic.startswith("orders.")]

    assert [order_key(r.message.client_order_id, keys) for r in records
            if r.kind == "order.submitted"] == [
        order_key(r.message.client_order_id, reference_keys) for r in reference
        if r.kind == "order.submitted"]
    journal_fills = fills(records, keys)
    assert len(journal_fills) > 10  # the comparison covers a real session
    assert journal_fills == fills(reference, reference_keys)
    # And the same final state: positions, balances, every order's outcome.
    assert rebuild(config, records) == rebuild(reference_config, reference)
