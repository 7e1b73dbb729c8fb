"""The metrics collector on a real daemon node: what it exports equals the node's figures.

Each test builds the node `tradebus run` would build (`api.compose.build_node`) from the
bundled paper config on a few hundred sample bars replayed fast, and reads its metrics
either through the ASGI app (as Prometheus does) or by collecting the registry directly,
synchronously, so the node's own figures can be read at the same moment.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import anyio
import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.routing import Route

from api.compose import DEFAULT_DAEMON_CONFIG, build_node, load_daemon_config
from api.http.handler_latency import UNOWNED
from api.http.metrics import GraphProbe, metrics_app, metrics_registry
from engine.domain.enums import TradingState
from engine.events.orders import SetTradingState
from engine.runtime import RunnerState, TradingNode
from engine.topics import RISK_EXECUTE

FREE_API_PORT = {"TRADEBUS__API__PORT": "0"}
"""The environment the daemons of these tests load: an OS-chosen API port (8000 may be
taken, by a daemon running beside the tests)."""

SAMPLE = Path(__file__).resolve().parents[4] / "adapters" / "data" / "sample" / "btcusdt_1m.csv"
LANE = "feed-0-BTC/USDT.SIM"
FEED = "0-BTC/USDT.SIM"


def make_node(folder: Path, *, bars: int = 600, speed: float = 60_000.0,
              risk: str = "", runtime: str = "") -> TradingNode:
    """The bundled paper daemon on `bars` sample bars at `speed`x, its data in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = SAMPLE.read_text().splitlines()[: bars + 1]
    (folder / "bars.csv").write_text("\n".join(lines) + "\n")
    text = DEFAULT_DAEMON_CONFIG.read_text()
    text = text.replace('path = "sample:btcusdt_1m.csv"', 'path = "bars.csv"')
    text = re.sub(r"^speed = .*$", f"speed = {speed}", text, flags=re.MULTILINE)
    text = re.sub(r"^record = .*$", "record = false", text, flags=re.MULTILINE)
    text = text.replace("[risk]\n", f"[risk]\n{risk}")
    text = text + runtime
    (folder / "paper.toml").write_text(text)
    config, file = load_daemon_config(folder / "paper.toml", environ=FREE_API_PORT)
    return build_node(config, file=file, cwd=folder)


@asynccontextmanager
async def running(node: TradingNode) -> AsyncIterator[TradingNode]:
    """Run `node` in a task group until the block ends; enter once it is RUNNING."""
    async with anyio.create_task_group() as group:
        group.start_soon(node.run)
        with anyio.fail_after(20):
            while node.state is not RunnerState.RUNNING:  # noqa: ASYNC110 - no event to wait on
                await anyio.sleep(0.005)
        yield node
        node.request_stop()


async def wait_feeds_done(node: TradingNode) -> None:
    with anyio.fail_after(20):
        for feed in node.feeds:
            await feed.finished.wait()
        await node.inbox.wait_empty()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, keyed by (name, sorted labels)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
          **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


async def test_metrics_app_before_run_exports_only_the_node_state(tmp_path: Path) -> None:
    node = make_node(tmp_path)
    transport = httpx.ASGITransport(app=metrics_app(node))

    async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
        response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    assert value(found, "tradebus_node_state", state="starting") == 1
    assert value(found, "tradebus_node_ready") == 0
    assert not any(name.startswith("tradebus_bus_") for name, _ in found)


async def test_metrics_of_a_running_node_equal_its_statistics(tmp_path: Path) -> None:
    node = make_node(tmp_path)
    registry = metrics_registry(node)

    async with running(node):
        generate_latest(registry)  # the first scrape installs the probe
        await wait_feeds_done(node)
        found = samples(generate_latest(registry).decode())
        stats = node.statistics()  # no await since the scrape: the same moment
        graph = node.graph
        assert graph is not None
        orders = graph.orders.statistics()
        equity = graph.portfolio.equity()
        fills = graph.portfolio.fills()

    assert value(found, "tradebus_node_ready") == 1
    assert value(found, "tradebus_bus_messages_published_total") == stats.bus.messages_published
    for family, count in stats.bus.topic_families.items():
        assert value(found, "tradebus_bus_topic_messages_total", family=family) == count
    assert value(found, "tradebus_inbox_received_total", lane=LANE) == 600
    assert value(found, "tradebus_inbox_depth", lane=LANE) == 0
    assert value(found, "tradebus_feed_items_delivered_total", feed=FEED) == 600
    assert stats.journal is not None
    assert (value(found, "tradebus_journal_records_appended_total")
            == stats.journal.appended)
    assert orders.fills > 0
    assert value(found, "tradebus_orders_submitted_total") == orders.submitted
    assert value(found, "tradebus_orders", venue="SIM", status="filled") == orders.submitted
    exported_fills = sum(v for (name, _), v in found.items() if name == "tradebus_fills_total")
    assert exported_fills == len(fills) == orders.fills
    fees = sum((fill.commission for fill in fills), Decimal(0))
    assert value(found, "tradebus_fill_fees_total", currency="USDT") == pytest.approx(
        float(fees))
    assert value(found, "tradebus_portfolio_equity", currency="USDT") == pytest.approx(
        float(equity))
    assert 0 <= value(found, "tradebus_portfolio_drawdown_ratio") < 1
    assert value(found, "tradebus_risk_trading_state", state="active") == 1
    commits = stats.journal.batches
    assert commits > 0
    assert value(found, "tradebus_journal_commit_seconds_count") == commits
    assert value(found, "tradebus_journal_commit_seconds_bucket", le="+Inf") == commits
    assert 0 < value(found, "tradebus_journal_commit_seconds_sum") == pytest.approx(
        stats.journal.commit_seconds_sum)
    bounds = [v for (name, _), v in sorted(found.items())
              if name == "tradebus_journal_commit_seconds_bucket"]
    assert all(count <= commits for count in bounds)
    assert value(found, "tradebus_venue_connected", venue="SIM") == 1  # in-process


async def test_counters_stay_exact_when_retention_lets_history_go(tmp_path: Path) -> None:
    # A window of 5 fills and 5 closed orders: the session makes many more. The counters
    # are session totals, so they count what the portfolio and order manager let go too.
    node = make_node(tmp_path, runtime=(
        "\n[runtime.retention]\nclosed_orders = 5\nfills = 5\nclosed_trades = 5\n"
        "equity_points = 5\nlate_fill_horizon_s = 1.0\n"))
    registry = metrics_registry(node)

    async with running(node):
        generate_latest(registry)
        await wait_feeds_done(node)
        found = samples(generate_latest(registry).decode())
        graph = node.graph
        assert graph is not None
        orders = graph.orders.statistics()
        held_fills = len(graph.portfolio.fills())
        portfolio = graph.portfolio.statistics()

    assert held_fills <= 5 < portfolio.fills_applied  # the window did let fills go
    exported_fills = sum(v for (name, _), v in found.items() if name == "tradebus_fills_total")
    assert exported_fills == portfolio.fills_applied == orders.fills
    exported_orders = sum(v for (name, _), v in found.items() if name == "tradebus_orders")
    assert exported_orders == orders.submitted
    assert value(found, "tradebus_orders", venue="SIM", status="filled") == orders.submitted


async def test_market_data_latency_histogram_counts_every_feed_input(tmp_path: Path) -> None:
    node = make_node(tmp_path)
    registry = metrics_registry(node)

    async with running(node):
        generate_latest(registry)  # attaches the window, which sees the inputs from then on
        assert node.runner is not None
        before = node.runner.statistics().data_handled
        await wait_feeds_done(node)
        found = samples(generate_latest(registry).decode())
        handled = node.runner.statistics().data_handled - before
        taps = node.statistics().taps

    name = "tradebus_market_data_latency_seconds"
    count = value(found, f"{name}_count", feed=FEED, kind="bar")
    buckets = sorted(
        ((float(dict(labels)["le"]), v) for (sample, labels), v in found.items()
         if sample == f"{name}_bucket"),
    )
    assert 0 < count == handled <= 600  # the bars the feed delivered since, every one
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)  # cumulative
    assert buckets[-1] == (float("inf"), count)
    assert value(found, f"{name}_sum", feed=FEED, kind="bar") >= 0
    assert value(found, "tradebus_market_data_inputs_overwritten_total") == 0
    assert taps == ()  # the collector attaches no tap: bars keep the bus's in-place path


async def test_metrics_when_halted_count_denials_by_reason(tmp_path: Path) -> None:
    node = make_node(tmp_path, risk='trading_state = "halted"\n')
    registry = metrics_registry(node)

    async with running(node):
        await wait_feeds_done(node)
        found = samples(generate_latest(registry).decode())
        assert node.graph is not None
        risk = node.graph.risk.statistics()

    assert value(found, "tradebus_risk_trading_state", state="halted") == 1
    assert value(found, "tradebus_risk_trading_state", state="active") == 0
    assert risk.commands_denied > 0
    for reason, count in risk.denied_by_reason.items():
        assert value(found, "tradebus_risk_denials_total", reason=reason) == count
    assert value(found, "tradebus_orders", venue="SIM", status="denied") == risk.commands_denied
    assert value(found, "tradebus_orders_denied_total") == risk.commands_denied


async def test_kill_switch_injected_shows_as_halted_at_the_next_scrape(tmp_path: Path) -> None:
    node = make_node(tmp_path, bars=60)
    registry = metrics_registry(node)

    async with running(node):
        before = samples(generate_latest(registry).decode())
        assert node.runner is not None and node.clock is not None
        now = node.clock.timestamp_ns()
        node.runner.inject(SetTradingState(state=TradingState.HALTED, reason="test",
                                           ts_event=now, ts_init=now), RISK_EXECUTE)
        after = samples(generate_latest(registry).decode())

    assert value(before, "tradebus_risk_trading_state", state="halted") == 0
    assert value(after, "tradebus_risk_trading_state", state="halted") == 1


async def test_taps_sharing_a_name_export_one_series(tmp_path: Path) -> None:
    node = make_node(tmp_path, bars=60)
    registry = metrics_registry(node)

    async with running(node):
        assert node.graph is not None
        taps = [node.graph.bus.add_tap("events.#", name="watcher") for _ in range(2)]
        text = generate_latest(registry).decode()
        received = sum(tap.statistics().received for tap in taps)

    lines = [line for line in text.splitlines()
             if line.startswith("tradebus_tap_received_total{")]
    assert lines == [f'tradebus_tap_received_total{{tap="watcher"}} {float(received)}']


async def test_metrics_app_is_routed_at_metrics_without_a_redirect(tmp_path: Path) -> None:
    node = make_node(tmp_path)
    app = Starlette(routes=[Route("/metrics", metrics_app(node))])
    transport = httpx.ASGITransport(app=app)

    async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
        response = await client.get("/metrics")

    assert response.status_code == 200
    assert "tradebus_node_state" in response.text


async def test_handler_latency_histogram_times_the_actors_once_a_collector_scrapes(
        tmp_path: Path) -> None:
    node = make_node(tmp_path)
    registry = metrics_registry(node, sample_every=1)

    async with running(node):
        assert node.graph is not None
        probe_before = node.graph.bus.probe
        generate_latest(registry)  # the first scrape installs the probe
        probe = node.graph.bus.probe
        await wait_feeds_done(node)
        found = samples(generate_latest(registry).decode())
        actors = {actor.id for actor in node.statistics().actors}

    name = "tradebus_actor_handler_seconds"
    timed = {dict(labels)["actor"]: v for (sample, labels), v in found.items()
             if sample == f"{name}_count"}
    assert probe_before is None and isinstance(probe, GraphProbe)
    assert {"sma-cross", "risk"} <= set(timed) <= actors | {UNOWNED}
    assert all(count > 0 for count in timed.values())
    assert sum(timed.values()) == sum(sum(buckets) for buckets, _ in
                                      probe.histogram.series.values())
    for actor, count in timed.items():
        assert value(found, f"{name}_bucket", actor=actor, le="+Inf") == count
        assert value(found, f"{name}_sum", actor=actor) > 0


async def test_a_second_collector_reads_the_first_ones_probe(tmp_path: Path) -> None:
    node = make_node(tmp_path, bars=60)
    first, second = metrics_registry(node), metrics_registry(node)

    async with running(node):
        generate_latest(first)
        assert node.graph is not None
        probe = node.graph.bus.probe
        generate_latest(second)

        assert isinstance(probe, GraphProbe) and node.graph.bus.probe is probe
