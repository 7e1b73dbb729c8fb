"""A real Prometheus scrapes a running daemon; the kill switch through the API fires an alert.

The node is the paper daemon `api.compose.build_node` makes, on sample bars, with its
own API (uvicorn on 127.0.0.1, an OS-chosen port, the bearer token from the
environment). Prometheus (Debian's `prometheus` package) scrapes the API's `/metrics`
every 0.5 s and evaluates, as often, a copy of `deploy/prometheus/alerts.yml`
whose `for:` are 0s. The test reads a metric back through Prometheus's HTTP API, then
trips the kill switch as an operator does, `PUT /api/v1/trading-state` with the token,
and waits for the `TradebusTradingHalted` alert to fire.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.abc
import httpx
import pytest

from api.compose import DEFAULT_DAEMON_CONFIG, build_node, load_daemon_config
from api.http import TOKEN_VARIABLE, ApiServer
from engine.runtime import TradingNode

pytestmark = pytest.mark.integration

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "prometheus-test-token"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
SAMPLE = ROOT / "adapters" / "data" / "sample" / "btcusdt_1m.csv"
T = TypeVar("T")

requires_prometheus = pytest.mark.skipif(
    not Path(PROMETHEUS).exists() or not Path(PROMTOOL).exists(),
    reason="Debian's prometheus package (/usr/bin/prometheus, promtool) is not installed; "
           ".ci/run installs it",
)


def make_node(folder: Path) -> TradingNode:
    """The bundled paper daemon on 600 sample bars at 6000x (a bar every 10 ms), its API
    on 127.0.0.1 at a port the OS chooses, with a token."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = SAMPLE.read_text().splitlines()[:601]
    (folder / "bars.csv").write_text("\n".join(lines) + "\n")
    text = DEFAULT_DAEMON_CONFIG.read_text().replace('path = "sample:btcusdt_1m.csv"',
                                                      'path = "bars.csv"')
    text = re.sub(r"^speed = .*$", "speed = 6000.0", text, flags=re.MULTILINE)
    text = re.sub(r"^record = .*$", "record = false", text, flags=re.MULTILINE)
    (folder / "paper.toml").write_text(text)
    environ = {TOKEN_VARIABLE: TOKEN, "TRADEBUS__API__PORT": "0"}
    config, file = load_daemon_config(folder / "paper.toml", environ=environ)
    return build_node(config, file=file, cwd=folder, environ=environ)


def api_server(node: TradingNode) -> ApiServer:
    """The node's API service (build_node made it and gave it to the node to run)."""
    return next(service.__self__ for service in node.services
                if isinstance(getattr(service, "__self__", None), ApiServer))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_prometheus_config(folder: Path, metrics_port: int) -> Path:
    """A scrape config on the node (every 0.5 s, rules evaluated as often) and the deploy
    rules with every `for:` at 0s."""
    rules = re.sub(r"^(\s+)for: .*$", r"\1for: 0s", ALERTS.read_text(), flags=re.MULTILINE)
    (folder / "alerts.yml").write_text(rules)
    config = folder / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 500ms\n  scrape_timeout: 500ms\n"
        "  evaluation_interval: 500ms\n"
        "rule_files:\n  - alerts.yml\n"
        "scrape_configs:\n  - job_name: tradebus\n    metrics_path: /metrics\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{metrics_port}']\n"
    )
    return config


@asynccontextmanager
async def prometheus(folder: Path, config: Path) -> AsyncIterator[httpx.AsyncClient]:
    port = free_port()
    log = (folder / "prometheus.log").open("wb")
    process = await anyio.open_process(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={folder / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            await poll(lambda: ready(client), within=30, what="Prometheus ready", log=folder)
            yield client
    finally:
        process.terminate()
        with anyio.move_on_after(10):
            await process.wait()
        if process.returncode is None:
            process.kill()
        await process.aclose()
        log.close()


async def ready(client: httpx.AsyncClient) -> bool | None:
    try:
        return (await client.get("/-/ready")).status_code == 200 or None
    except httpx.TransportError:
        return None


async def poll(check: Callable[[], Awaitable[T | None]], *, within: float, what: str,
               log: Path | None = None) -> T:
    """Call `check` every 0.2 s until it returns something other than None (bounded)."""
    with anyio.move_on_after(within):
        while True:
            result = await check()
            if result is not None:
                return result
            await anyio.sleep(0.2)
    tail = (log / "prometheus.log").read_text()[-2000:] if log is not None else ""
    raise AssertionError(f"{what}: not within {within} s\n{tail}")


async def query(client: httpx.AsyncClient, expression: str) -> list[dict[str, Any]] | None:
    body = (await client.get("/api/v1/query", params={"query": expression})).json()
    assert body["status"] == "success", body
    return body["data"]["result"] or None


async def firing(client: httpx.AsyncClient, name: str) -> dict[str, Any] | None:
    body = (await client.get("/api/v1/alerts")).json()
    assert body["status"] == "success", body
    return next((alert for alert in body["data"]["alerts"]
                 if alert["labels"]["alertname"] == name and alert["state"] == "firing"),
                None)


@requires_prometheus
async def test_prometheus_scrapes_the_daemon_and_fires_trading_halted_set_through_the_api(
        tmp_path: Path) -> None:
    node = make_node(tmp_path / "node")
    server = api_server(node)
    rules = tmp_path / "alerts.yml"

    async with anyio.create_task_group() as group:
        group.start_soon(node.run)
        with anyio.fail_after(20):
            while server.port is None:  # noqa: ASYNC110 - the API starts once the node runs
                await anyio.sleep(0.01)
        config = write_prometheus_config(tmp_path, server.port)
        check = await anyio.run_process([PROMTOOL, "check", "rules", str(rules)], check=False)
        assert check.returncode == 0, (check.stdout + check.stderr).decode()
        headers = {"Authorization": f"Bearer {TOKEN}"}
        try:
            async with prometheus(tmp_path, config) as client, httpx.AsyncClient(
                    base_url=server.url, headers=headers, timeout=10) as api:
                published = await poll(
                    lambda: query(client, 'tradebus_bus_messages_published_total{job="tradebus"}'
                                          ' > 0'),
                    within=30, what="a scraped tradebus metric", log=tmp_path)
                halted_before = await query(
                    client, 'tradebus_risk_trading_state{state="halted"} == 1')
                firing_before = await firing(client, "TradebusTradingHalted")
                refused = await api.put("/api/v1/trading-state", json={"state": "HALTED"},
                                        headers={"Authorization": "Bearer wrong"})

                switched = await api.put("/api/v1/trading-state",
                                         json={"state": "HALTED", "reason": "test"})
                alert = await poll(lambda: firing(client, "TradebusTradingHalted"),
                                   within=30, what="TradebusTradingHalted firing", log=tmp_path)
        finally:
            node.request_stop()

    assert float(published[0]["value"][1]) > 0
    assert published[0]["metric"]["instance"] == f"127.0.0.1:{server.port}"
    assert halted_before is None and firing_before is None
    assert refused.status_code == 401
    assert switched.status_code == 200 and switched.json() == {"state": "HALTED"}
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["state"] == "halted"
