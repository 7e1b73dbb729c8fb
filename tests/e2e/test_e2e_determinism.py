"""Invariant 1: the same data, config and code give a byte-identical message stream.

Each run happens in a process of its own with a different PYTHONHASHSEED, so anything
that depends on str-hash order (iterating a set of ids, say) shows up as a difference.
The child records every message the bus handles, in order, as its topic and its tagged
msgpack encoding (`engine.events.encode_msgpack`), each length-prefixed, and prints the
SHA-256 of the stream, the message count per kind (a message counts once per hop: a
command is seen at each send), and the digest of the result JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e

RUNNER = """
import hashlib, json, struct, sys
import msgspec
from api.compose import prepare_backtest
from engine.events import encode_msgpack

stream = hashlib.sha256()
kinds = {}

def record(topic, message):
    for part in (topic.encode(), encode_msgpack(message)):
        stream.update(struct.pack(">Q", len(part)))
        stream.update(part)
    kind = type(message).__name__
    kinds[kind] = kinds.get(kind, 0) + 1

result = prepare_backtest(sys.argv[1] or None).run(
    observe=lambda graph: graph.bus.add_observer(record)
)
print(json.dumps({
    "stream_sha256": stream.hexdigest(),
    "kinds": kinds,
    "result_sha256": hashlib.sha256(msgspec.json.encode(result)).hexdigest(),
}))
"""

RSI_CONFIG = """
[backtest]
name = "determinism-rsi"

[portfolio]
starting_balances = { USDT = "10000000" }
equity_interval_ns = 3_600_000_000_000

[[instruments]]
symbol = "BTC/USDT"
base_currency = "BTC"
quote_currency = "USDT"
price_increment = "0.01"
size_increment = "0.001"
taker_fee = "0.001"
maker_fee = "0.0005"

[[data]]
kind = "csv"
path = "sample:btcusdt_1m.csv"
instrument_id = "BTC/USDT.SIM"

[[strategies]]
id = "rsi"
class = "strategies.rsi_reversion:RsiMeanReversion"
[strategies.params]
instrument_id = "BTC/USDT.SIM"
period = 14
oversold = 25.0
overbought = 75.0
quantity = "0.5"
stop_loss_fraction = "0.002"
"""


def run_in_two_processes(config: str) -> list[dict[str, Any]]:
    """Run the runner twice at once, with hash seeds 1 and 2; return both reports."""
    children = []
    for seed in ("1", "2"):
        environment = {**os.environ, "PYTHONHASHSEED": seed}
        children.append(subprocess.Popen(
            [sys.executable, "-c", RUNNER, config], cwd=ROOT, env=environment,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    reports = []
    for child in children:
        stdout, stderr = child.communicate(timeout=120)
        assert child.returncode == 0, stderr
        reports.append(json.loads(stdout.strip().splitlines()[-1]))
    return reports


def test_demo_backtest_in_two_processes_handles_identical_message_streams() -> None:
    first, second = run_in_two_processes("")  # "" runs the bundled demo

    assert first == second
    kinds = first["kinds"]
    assert kinds["Bar"] == 20_000
    assert kinds["OrderFilled"] > 100
    assert kinds["PositionClosed"] > 100
    assert kinds["TimerFired"] > 0  # the hourly equity timer is interleaved with the data


def test_rsi_backtest_with_stops_in_two_processes_handles_identical_message_streams(
    tmp_path: Path,
) -> None:
    config = tmp_path / "rsi.toml"
    config.write_text(RSI_CONFIG)

    first, second = run_in_two_processes(str(config))

    assert first == second
    kinds = first["kinds"]
    assert kinds["OrderFilled"] > 10
    assert kinds["PositionClosed"] > 10
    assert kinds["CancelOrder"] > 0  # exits at market cancel their protective stops
    assert kinds["OrderCanceled"] > 0
