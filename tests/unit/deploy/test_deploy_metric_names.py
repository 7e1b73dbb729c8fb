"""deploy/: every metric the dashboard and the alert rules name is one the daemon exports.

The names are read out of the PromQL in `deploy/grafana/dashboards/tradebus.json` and
`deploy/prometheus/alerts.yml` and looked up in the exposition of a running node (the
paper daemon on sample bars). The rule files also go through `promtool` when it is here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import anyio
import pytest
import yaml
from prometheus_client import generate_latest

from api.compose import DEFAULT_DAEMON_CONFIG, build_node, load_daemon_config
from api.http.metrics import metrics_registry
from engine.runtime import RunnerState, TradingNode

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "tradebus.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
SAMPLE = ROOT / "adapters" / "data" / "sample" / "btcusdt_1m.csv"
NAME = re.compile(r"\btradebus_[a-z0-9_]+")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"]
            for target in panel.get("targets", [])]


def alert_expressions() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def names_in(expressions: list[str]) -> set[str]:
    return {name for expression in expressions for name in NAME.findall(expression)}


def exported_names(text: str) -> set[str]:
    """Every series name the exposition declares (`# TYPE` lines), histogram parts too."""
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            names.add(name)
            if kind == "histogram":
                names.update(name + suffix for suffix in HISTOGRAM_SUFFIXES)
    return names


def make_node(folder: Path) -> TradingNode:
    lines = SAMPLE.read_text().splitlines()[:301]
    (folder / "bars.csv").write_text("\n".join(lines) + "\n")
    text = DEFAULT_DAEMON_CONFIG.read_text().replace('path = "sample:btcusdt_1m.csv"',
                                                      'path = "bars.csv"')
    text = re.sub(r"^speed = .*$", "speed = 60000.0", text, flags=re.MULTILINE)
    text = re.sub(r"^record = .*$", "record = false", text, flags=re.MULTILINE)
    (folder / "paper.toml").write_text(text)
    # An OS-chosen API port: 8000 may be taken, by a daemon running beside the tests.
    config, file = load_daemon_config(folder / "paper.toml",
                                      environ={"TRADEBUS__API__PORT": "0"})
    return build_node(config, file=file, cwd=folder)


async def scrape_running_node(folder: Path) -> str:
    node = make_node(folder)
    registry = metrics_registry(node)
    async with anyio.create_task_group() as group:
        group.start_soon(node.run)
        with anyio.fail_after(20):
            while node.state is not RunnerState.RUNNING:  # noqa: ASYNC110 - no event to wait on
                await anyio.sleep(0.005)
            for feed in node.feeds:
                await feed.finished.wait()
        text = generate_latest(registry).decode()
        node.request_stop()
    return text


def test_dashboard_and_alerts_name_metrics() -> None:
    assert len(names_in(dashboard_expressions())) > 30
    assert {"tradebus_risk_trading_state", "tradebus_portfolio_drawdown_ratio",
            "tradebus_journal_pending_records", "tradebus_inbox_received_total",
            "tradebus_venue_reconnects_total", "tradebus_bus_handler_errors_total"} <= names_in(
        alert_expressions())


async def test_every_metric_in_the_dashboard_and_the_alerts_is_exported(tmp_path: Path) -> None:
    wanted = names_in(dashboard_expressions()) | names_in(alert_expressions())

    exported = exported_names(await scrape_running_node(tmp_path))

    assert sorted(wanted - exported) == []


def test_dashboard_uses_the_provisioned_data_source() -> None:
    datasources = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    provider = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "tradebus.yml").read_text())
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    dashboard = json.loads(DASHBOARD.read_text())

    uids = {source["uid"] for source in datasources["datasources"]}
    used = {panel["datasource"]["uid"] for panel in dashboard["panels"] if "datasource" in panel}
    assert used == uids
    mounted = compose["services"]["grafana"]["volumes"]
    dashboards_path = provider["providers"][0]["options"]["path"]
    assert f"./grafana/dashboards:{dashboards_path}:ro" in mounted


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian's prometheus) "
                    "is not installed")
@pytest.mark.parametrize("arguments", [
    ["check", "rules", "alerts.yml"],
    ["test", "rules", "alerts_test.yml"],
    ["check", "config", "prometheus.yml"],
])
def test_promtool_accepts_the_prometheus_files(arguments: list[str]) -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None

    result = subprocess.run([promtool, *arguments], cwd=DEPLOY / "prometheus",
                            capture_output=True, text=True, timeout=60, check=False)

    assert result.returncode == 0, result.stdout + result.stderr
