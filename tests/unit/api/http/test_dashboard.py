"""The dashboard in headless Chromium: the equity chart is drawn, and a fill made while
the page is open appears without a reload (driven over the DevTools protocol)."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets.sync.client
from http_daemon import TOKEN, Daemon
from websockets.sync.client import ClientConnection

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")


class Page:
    """One Chromium tab over CDP: navigate, evaluate."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection
        self._ids = itertools.count(1)

    def command(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self._ids)
        self._connection.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            reply = json.loads(self._connection.recv(timeout=20))
            if reply.get("id") == number:
                result: dict[str, Any] = reply.get("result", {})
                return result

    def evaluate(self, expression: str) -> Any:
        result = self.command("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def wait_for(self, expression: str, *, attempts: int = 300) -> Any:
        for _ in range(attempts):
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"never true in the page: {expression}")


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    profile = tmp_path / "profile"
    browser = subprocess.Popen(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", "--remote-debugging-port=0",
         "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(400):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.05)
        port = port_file.read_text().split()[0]
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        with websockets.sync.client.connect(url, max_size=None, open_timeout=10) as cdp:
            yield Page(cdp)
    finally:
        browser.terminate()
        browser.wait(timeout=20)


def test_dashboard_draws_equity_and_shows_a_new_fill_without_reload(
    daemon: Daemon, page: Page
) -> None:
    page.command("Page.enable")
    page.command("Page.navigate", url=f"{daemon.url}/#token={TOKEN}")
    page.wait_for("document.querySelector('#equity-chart canvas') !== null")
    page.wait_for("document.querySelector('#stream').textContent === 'stream: live'")
    page.evaluate("window.notReloaded = true")

    with daemon.client() as client:
        placed = client.post("/api/v1/orders", json={
            "instrument_id": "BTC/USDT.SIM", "side": "buy", "quantity": "0.01"}).json()
    client_order_id = placed["order"]["client_order_id"]
    shown = page.wait_for(
        f"document.querySelector('#fills').textContent.includes('{client_order_id}')")

    assert placed["outcome"] in {"submitted", "accepted", "filled"}
    assert shown is True
    assert page.evaluate("window.notReloaded") is True
    assert page.evaluate("document.querySelector('#equity-chart canvas').width") > 0
    assert page.evaluate("document.querySelector('#trading-state').textContent") == "ACTIVE"
