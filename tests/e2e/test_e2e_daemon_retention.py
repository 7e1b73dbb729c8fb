"""A daemon with a small retention window trades, restarts and rebuilds as one without.

The bundled SMA cross on 600 bars (the kill -9 test's session) runs once with the
default window (nothing is let go in a session this short) as the reference, and once
with a window of 3 closed orders, fills and trades (and a one-minute horizon), stopped
gracefully 40 % through and started again in the same directory. Its recovery replays
the journal through a graph that lets history go as the session did: the journal's
decisions (submits, fills) and the rebuilt books (balances, positions, open orders)
must equal the reference's, while the rebuilt order manager holds only the window.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_e2e_daemon_crash import (
    journal_path,
    read_journal,
    rebuild,
    run_to_the_end,
    write_bars,
    write_config,
)
from test_e2e_daemon_restart import stop_gracefully_at

pytestmark = pytest.mark.e2e

WINDOW = """
[runtime.retention]
closed_orders = 3
fills = 3
closed_trades = 3
late_fill_horizon_s = 60.0
"""


def test_daemon_with_a_small_window_restarts_and_trades_as_one_that_keeps_all(
    tmp_path: Path,
) -> None:
    bars = write_bars(tmp_path)
    reference_config = write_config(tmp_path / "reference", bars)
    run_to_the_end(reference_config)
    config = write_config(tmp_path / "retaining", bars)
    config.write_text(config.read_text() + WINDOW)

    stop_gracefully_at(config, 0.4)
    run_to_the_end(config)

    records = read_journal(config.parent)
    assert journal_path(config.parent).exists() and {r.session for r in records} == {1, 2}
    rebuilt = rebuild(config, records)
    reference = rebuild(reference_config, read_journal(reference_config.parent))
    assert len(reference["fills"]) > 10  # a real session: more closed orders than the window
    for part in ("fills", "submits", "balances", "positions", "open_orders"):
        assert rebuilt[part] == reference[part], part

    def closed(books: dict[str, list]) -> list:
        return [order for order in books["orders"] if order[0] not in books["open_orders"]]

    assert len(closed(reference)) > 3  # the reference keeps them all
    assert closed(rebuilt) == closed(reference)[-3:]  # the window: the 3 latest
