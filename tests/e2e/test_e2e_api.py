"""`tradebus run` serves its API: the URL is logged, a real client reads and steers it,
the order it placed is a journal input, and SIGINT still ends the daemon with code 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from engine.events.orders import SetTradingState, SubmitOrder
from engine.persistence import JournalReader

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "e2e-token-91b2"


def wait_for_url(log: Path) -> str:
    """The URL of the log line `api listening on <url>` (JSON log lines), once written."""
    for _ in range(1000):
        for line in log.read_text().splitlines():
            message = json.loads(line)["message"] if line.startswith("{") else line
            if message.startswith("api listening on "):
                return str(message.removeprefix("api listening on ").strip())
        time.sleep(0.02)
    raise AssertionError(f"no URL logged:\n{log.read_text()}")


def test_daemon_serves_api_logs_url_and_journals_api_commands(tmp_path: Path) -> None:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "TRADEBUS_API_TOKEN": TOKEN,
               "TRADEBUS__API__PORT": "0", "TRADEBUS__RUNTIME__SPEED": "3000",
               "TRADEBUS__RUNTIME__RECORD": "false", "TRADEBUS__RUNTIME__LOG_FORMAT": "json"}
    log = tmp_path / "daemon.log"
    with log.open("w") as output:
        daemon = subprocess.Popen([sys.executable, "-m", "api.cli", "run"], cwd=tmp_path,
                                  env=environ, stdout=output, stderr=subprocess.STDOUT)
    try:
        url = wait_for_url(log)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
            for _ in range(500):
                if client.get("/ready").status_code == 200:
                    break
                time.sleep(0.02)
            placed = client.post("/api/v1/orders", json={
                "instrument_id": "BTC/USDT.SIM", "side": "buy", "quantity": "0.01"}).json()
            halted = client.put("/api/v1/trading-state", json={"state": "HALTED"}).json()
            status = client.get("/api/v1/status").json()
        daemon.send_signal(signal.SIGINT)
        code = daemon.wait(timeout=60)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()

    assert code == 0
    assert url.startswith("http://127.0.0.1:")
    assert TOKEN not in log.read_text()
    assert placed["outcome"] in {"submitted", "accepted", "filled"}
    assert halted == {"state": "HALTED"} and status["trading_state"] == "HALTED"
    inputs = [record.message for record in
              JournalReader(tmp_path / "tradebus-data" / "journal.sqlite").records()
              if record.is_input]
    submitted = [m for m in inputs if isinstance(m, SubmitOrder) and m.strategy_id == "manual"]
    assert [m.client_order_id for m in submitted] == [placed["order"]["client_order_id"]]
    assert any(isinstance(m, SetTradingState) for m in inputs)
