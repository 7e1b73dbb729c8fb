"""A poison input halts the daemon, reported, instead of crash-looping (issue 7).

The session runs the bundled paper config plus a strategy that fails fast (no fault
isolation, as a core actor) and raises on its 200th bar: that bar is the poison input.
Live, the daemon must not die on it: it halts (trading state HALTED, /ready 503 naming
the record), keeps the bar journaled, takes nothing more, and stops cleanly on SIGTERM.
Started again on that journal, recovery stops at the same record: the daemon halts with
the same report, serves the API, writes nothing to the journal, and sends no order.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_e2e_daemon_crash import daemon_command, journal_path, write_bars, write_config

from engine.persistence import JournalReader, JournalRecord

pytestmark = pytest.mark.e2e

POISON_MODULE = '''
from engine.events.market import BarType
from engine.strategy import Strategy


class Poisoned(Strategy):
    """Raise on the 200th bar, past fault isolation: the graph raises as on a core actor."""

    isolate_faults = False

    def on_start(self):
        self.bars = 0
        self.subscribe_bars(BarType(instrument_id="BTC/USDT.SIM", timeframe="1m"))

    def on_bar(self, bar):
        self.bars += 1
        if self.bars == 200:
            raise ValueError(f"poison bar at {bar.ts_event}")
'''


def wait_for_halt(process: subprocess.Popen[bytes], log: Path) -> tuple[str, dict[str, Any]]:
    """The API's URL and its /ready answer, once the daemon reports itself halted."""
    deadline = time.monotonic() + 60
    url = None
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the daemon exited:\n{log.read_text()[-3000:]}"
        for line in log.read_text().splitlines():
            message = json.loads(line)["message"] if line.startswith("{") else line
            if message.startswith("api listening on "):
                url = message.removeprefix("api listening on ").strip()
        if url is not None:
            ready = httpx.get(f"{url}/ready", timeout=5)
            if ready.json()["state"] == "halted":
                return url, {"status_code": ready.status_code, **ready.json()}
        time.sleep(0.05)
    raise AssertionError(f"the daemon did not halt:\n{log.read_text()[-3000:]}")


def run_until_halted(config: Path, log: Path) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Start the daemon, wait for the halt, read /ready and /api/v1/status, SIGTERM it."""
    with log.open("w") as output:
        process = subprocess.Popen(**daemon_command(config), stdout=output,
                                   stderr=subprocess.STDOUT)
    try:
        url, ready = wait_for_halt(process, log)
        status = httpx.get(f"{url}/api/v1/status", timeout=5).json()
        time.sleep(0.5)  # halted means halted: still up a moment later
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 0, log.read_text()[-3000:]
    return ready, status, log.read_text()


def records_of(folder: Path) -> list[JournalRecord]:
    reader = JournalReader(journal_path(folder))
    records = list(reader.records())
    assert reader.corruption is None, reader.corruption
    return records


def test_daemon_halts_on_a_poison_input_live_and_again_at_restart(tmp_path: Path) -> None:
    config = write_config(tmp_path / "session", write_bars(tmp_path))
    (config.parent / "poison_strategy.py").write_text(POISON_MODULE)
    config.write_text(config.read_text()
                      + '\n[[strategies]]\nid = "poisoned"\nclass = "poison_strategy:Poisoned"\n')

    # Live: the 200th bar raises out of the graph; the daemon halts on it.
    ready, status, log = run_until_halted(config, tmp_path / "live.log")
    poison = status["poison"]
    assert ready["status_code"] == 503 and ready["ready"] is False
    assert ready["poison"] == poison
    assert f"seq {poison['seq']}" in ready["reason"] and "poison bar" in ready["reason"]
    assert poison["kind"] == "bar" and poison["error_type"] == "ValueError"
    assert status["trading_state"] == "HALTED" and status["state"] == "halted"
    assert "HALTED on input seq" in log and "Traceback" not in log.split("HALTED on")[-1]
    records = records_of(config.parent)
    by_seq = {record.seq: record for record in records}
    assert by_seq[poison["seq"]].is_input and by_seq[poison["seq"]].kind == "bar"
    bars = [record for record in records if record.kind == "bar"]
    assert bars[199].seq == poison["seq"] and len(bars) == 200  # nothing taken after it
    assert not any(record.kind in {"command.submit_order", "order.submitted"}
                   for record in records if record.seq > poison["seq"])

    # Restarted on that journal: recovery stops at the same record, the same report.
    ready_again, status_again, log_again = run_until_halted(config, tmp_path / "restart.log")
    assert status_again["poison"] == poison and ready_again["poison"] == poison
    assert ready_again["status_code"] == 503 and status_again["trading_state"] == "HALTED"
    assert f"recovery: journaled input seq {poison['seq']}" in log_again
    assert records_of(config.parent) == records  # nothing written, nothing sent
