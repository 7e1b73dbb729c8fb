"""A backtest config can replay a recorded session (`kind = "recording"`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.data import AsyncRecordingStore
from api.compose import prepare_backtest
from engine.testing import make_bars

CONFIG = """
[backtest]
name = "from-recording"
[portfolio]
starting_balances = {{ USDT = "1000000" }}
[[instruments]]
symbol = "BTC/USDT"
base_currency = "BTC"
quote_currency = "USDT"
price_increment = "0.01"
size_increment = "0.001"
[[data]]
kind = "recording"
path = "{path}"
instrument_id = "BTC/USDT.SIM"
[[strategies]]
id = "sma"
class = "strategies.sma_cross:SmaCross"
[strategies.params]
instrument_id = "BTC/USDT.SIM"
fast_period = 2
slow_period = 4
"""


@pytest.mark.anyio
async def test_backtest_replays_a_recording_in_arrival_order(tmp_path: Path) -> None:
    closes = [100.0, 101.0, 103.0, 102.0, 99.0, 98.0, 101.0, 104.0, 103.0, 100.0]
    bars = make_bars(closes, start_ns=1_700_000_000_000_000_000)
    recording = tmp_path / "recording.sqlite"
    async with AsyncRecordingStore(recording) as store:
        await store.new_session(bars[0].ts_init, note="test")
        await store.append_many(bars)
    config = tmp_path / "backtest.toml"
    config.write_text(CONFIG.format(path=recording.name))

    result = prepare_backtest(config).run()

    assert result.items_processed == len(bars)
    assert result.report.fills == len(result.fills)
    assert result.fills  # the crosses in the path traded
