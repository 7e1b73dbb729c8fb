"""What an operator sees of a running daemon: the status line and the stop's summary.

The status line gives money, positions, open orders, the feed's progress and how far
behind its data it runs, and the faulted strategies; the stop logs a session summary.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import anyio
import pytest

from api.compose import DEFAULT_DAEMON_CONFIG, build_node, load_daemon_config

SAMPLE = Path(__file__).resolve().parents[4] / "adapters" / "data" / "sample" / "btcusdt_1m.csv"
FREE_API_PORT = {"TRADEBUS__API__PORT": "0"}
"""The environment the daemons of these tests load: an OS-chosen API port (8000 may be
taken, by a daemon running beside the tests)."""

RAISING = '''
from engine.events.market import BarType
from engine.strategy import Strategy


class Raising(Strategy):
    def on_start(self):
        self.subscribe_bars(BarType(instrument_id="BTC/USDT.SIM", timeframe="1m"))

    def on_bar(self, bar):
        raise RuntimeError("raising on a bar")
'''


def config_with_raiser(folder: Path, bars: int) -> Path:
    lines = SAMPLE.read_text().splitlines()[: bars + 1]
    (folder / "bars.csv").write_text("\n".join(lines) + "\n")
    (folder / "raising_status.py").write_text(RAISING)
    text = DEFAULT_DAEMON_CONFIG.read_text().replace('path = "sample:btcusdt_1m.csv"',
                                                     'path = "bars.csv"')
    for key, value in {"speed": "2_000_000.0", "record": "false",
                       "status_interval_s": "0.001"}.items():
        text = re.sub(rf"^{key} = .*$", f"{key} = {value}", text, count=1, flags=re.MULTILINE)
    text = text.replace("[runtime]\n", "[runtime]\nstop_when_feeds_finish = true\n", 1)
    text += '\n[[strategies]]\nid = "raiser"\nclass = "raising_status:Raising"\n'
    path = folder / "paper.toml"
    path.write_text(text)
    return path


@pytest.mark.anyio
async def test_status_line_and_summary_show_money_orders_feed_lag_and_faults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    config, file = load_daemon_config(config_with_raiser(tmp_path, 300), environ=FREE_API_PORT)
    node = build_node(config, file=file, cwd=tmp_path)

    with caplog.at_level(logging.INFO), anyio.fail_after(30):
        assert await node.run() == 0

    status = node.status_line()
    for part in ("equity ", "pnl ", "positions ", "open orders ", "fills ",
                 "feed delivered 300 (behind ", "inbox depth 0", "dropped 0"):
        assert part in status, status
    assert "faulted strategies raiser" in status
    messages = [r.getMessage() for r in caplog.records if r.name == "engine.runtime.node"]
    summary = [m for m in messages if m.startswith("session 1 summary: ")]
    assert summary == [f"session 1 summary: {node.session_summary()}"]
    assert "300 market data items handled" in summary[0]
    assert "faulted strategies raiser" in summary[0]
    assert re.search(r"open orders at the stop \d+ \(left working\)", summary[0])
