"""What observers cost the graph: metrics on a backtest, WebSocket clients on the live path.

    python tests/bench/observer_bench.py [--bars 1000000] [--repeat 2] [--ticks 5000]
    (run.py runs it and shows its figures in the daemon table)

The issue's promise, measured both ways in one run, and printed as one JSON line:

backtest with the metrics collector and a tap
    The canonical backtest (run.py's `engine_run`, each run in a child process of its
    own) plain, and with the observers attached: the `events.#` tap run.py's tapped run
    drains, plus the daemon's metrics collector (`api.http.metrics`) over the backtest's
    graph, its probe on the bus from the first bar (handler latency, market data
    inputs), scraped in full (the Prometheus text) at the first progress step (every
    65,536 bars) a second or more after the last scrape: still more often than the 5 s
    of deploy/prometheus. The runs alternate, `--repeat` of each; the best of each is
    compared, by CPU time (`backtest_*_cpu_*`: what a busy machine's waits leave out)
    and by wall time.
    The trades must be the same with the observers as without: an observer that changed
    what the graph computes fails the bench (exit status 1).

tick to order with two WebSocket clients
    live_latency.py's tick to order (the busy case: an order on every bar) plain, and
    with the daemon's API (`ApiServer`, uvicorn on the same event loop, as the daemon
    runs it) and two WebSocket clients in a child process: one subscribed as the web
    dashboard is (orders, positions, account, risk), one to every bar and every event.
    Timing starts once both are subscribed. The runs alternate, `--repeat` of each; the
    samples of each condition are pooled for the median and the p99.

Wall time on a performance counter; figures only, no speed is asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.abc

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import live_latency  # noqa: E402
import run as canonical  # noqa: E402
from prometheus_client import generate_latest  # noqa: E402

from api.http import ApiConfig, ApiServer  # noqa: E402
from api.http.metrics import metrics_registry  # noqa: E402
from engine.config import Secret  # noqa: E402
from engine.graph import TradingGraph  # noqa: E402
from engine.runtime import RunnerState  # noqa: E402
from engine.runtime.node import NodeHealth  # noqa: E402
from engine.runtime.statistics import NodeStatistics, node_statistics  # noqa: E402

TOKEN = "observer-bench-token"
DASHBOARD_PATTERNS = ["events.order.*", "events.position.*", "events.account.*", "system.risk"]
WATCHER_PATTERNS = ["data.bars.#", "events.#"]
TRADES = ("fills", "round_trips", "final_equity")
SCRAPE_INTERVAL_S = 1.0


class GraphNode:
    """What the API and the metrics collector read of a `TradingNode`, over a bare graph
    (a backtest's, or the tick bench's): the graph, a running state, its statistics."""

    def __init__(self, graph: TradingGraph) -> None:
        self.graph = graph
        self.state = RunnerState.RUNNING
        self.feeds: tuple[Any, ...] = ()
        self.runner = None  # no daemon runner: no feed inputs to watch
        self._venues = [(actor.id, actor) for actor in graph.actors()
                        if type(actor).__name__.endswith("Venue")]

    def health(self) -> NodeHealth:
        return NodeHealth(live=True, ready=True, state="running", session=1,
                          recovered_inputs=0, venue_agrees=True,
                          engine_ts=self.graph.clock.timestamp_ns())

    def statistics(self) -> NodeStatistics:
        return node_statistics(self.graph, venues=self._venues)


# -- the backtest, plain and with the metrics collector ---------------------------------


def backtest_child(csv_path: Path, *, with_metrics: bool) -> dict[str, Any]:
    """One canonical run in this (child) process: plain, or with the tap and the metrics."""
    scrapes: list[int] = []

    def attach_metrics(graph: TradingGraph) -> Callable[[int], None]:
        registry = metrics_registry(GraphNode(graph))  # type: ignore[arg-type]  # duck-typed

        last = [0.0]

        def scrape(count: int) -> None:
            if time.perf_counter() - last[0] >= SCRAPE_INTERVAL_S:
                scrapes.append(len(generate_latest(registry)))
                last[0] = time.perf_counter()

        scrape(0)  # the collector installs its probe at its first scrape
        return scrape

    figures = canonical.engine_run(csv_path, with_tap=with_metrics,
                                   attach=attach_metrics if with_metrics else None)
    return {**figures, "scrapes": len(scrapes), "scrape_bytes": max(scrapes, default=0)}


def backtest_figures(bars: int, repeat: int) -> tuple[dict[str, Any], bool]:
    csv_path = canonical.canonical_csv(bars)
    runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    for _ in range(repeat):
        for with_metrics in (False, True):
            arguments = [sys.executable, __file__, "--backtest-child", str(csv_path)]
            child = subprocess.run(arguments + (["--with-metrics"] if with_metrics else []),
                                   check=True, capture_output=True, text=True)
            runs[with_metrics].append(json.loads(child.stdout.strip().splitlines()[-1]))
    plain = max(run["bars_per_second"] for run in runs[False])
    observed = max(run["bars_per_second"] for run in runs[True])
    plain_cpu = max(run["bars"] / run["run_cpu_seconds"] for run in runs[False])
    observed_cpu = max(run["bars"] / run["run_cpu_seconds"] for run in runs[True])
    reference = [runs[False][0][key] for key in TRADES]
    same = all([run[key] for key in TRADES] == reference for run in runs[False] + runs[True])
    metrics_run = runs[True][0]
    same = same and metrics_run["tap_events"] > 0 and not metrics_run["tap_dropped"]
    return {
        "backtest_bars_per_second_plain": round(plain),
        "backtest_bars_per_second_with_metrics": round(observed),
        "backtest_metrics_overhead_percent": round((plain / observed - 1) * 100, 1),
        "backtest_cpu_bars_per_second_plain": round(plain_cpu),
        "backtest_cpu_bars_per_second_with_metrics": round(observed_cpu),
        "backtest_metrics_cpu_overhead_percent": round((plain_cpu / observed_cpu - 1) * 100, 1),
        "backtest_metrics_scrapes": metrics_run["scrapes"],
        "backtest_metrics_same_trades": int(same),
    }, same


# -- tick to order, plain and with two WebSocket clients ---------------------------------


async def ws_clients(url: str) -> None:
    """Two clients on `url` (the child process): subscribe, read until stdin closes."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    counts = [0, 0]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with anyio.create_task_group() as group:

        async def client(index: int, patterns: list[str]) -> None:
            # The parent's server may close the socket before it closes our stdin (both
            # happen as its run ends): that ends the count, it is not a failure.
            try:
                async with connect(url.replace("http", "ws") + "/ws/events",
                                   additional_headers=headers, max_size=None) as socket:
                    await socket.send(json.dumps({"op": "subscribe", "patterns": patterns}))
                    async for _ in socket:
                        counts[index] += 1
            except ConnectionClosed:
                return

        group.start_soon(client, 0, DASHBOARD_PATTERNS)
        group.start_soon(client, 1, WATCHER_PATTERNS)
        stdin = anyio.wrap_file(sys.stdin)
        await stdin.read()  # the parent closes it when its run is over
        group.cancel_scope.cancel()
    print(json.dumps({"frames": counts}))


def served_with_clients(result: dict[str, Any]) -> Callable[..., Any]:
    """The `attach` for tick_to_order: the API on the loop, two clients subscribed."""

    async def attach(graph: TradingGraph, *,
                     task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
                     ) -> None:
        server = ApiServer(ApiConfig(port=0), Secret(TOKEN))
        server.attach(GraphNode(graph))  # type: ignore[arg-type]  # duck-typed node
        taps_before = len(graph.bus.taps())
        async with anyio.create_task_group() as group:
            await group.start(server.run)
            process = await anyio.open_process(
                [sys.executable, __file__, "--ws-clients", server.url],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            try:
                with anyio.fail_after(30):
                    wanted = taps_before + len(DASHBOARD_PATTERNS) + len(WATCHER_PATTERNS)
                    while len(graph.bus.taps()) < wanted:  # noqa: ASYNC110 - no event
                        await anyio.sleep(0.01)
                task_status.started()
                await anyio.sleep_forever()
            finally:
                result["dropped"] = sum(tap.statistics().dropped for tap in graph.bus.taps())
                with anyio.CancelScope(shield=True), anyio.move_on_after(10):
                    assert process.stdin is not None and process.stdout is not None
                    await process.stdin.aclose()
                    output = b""
                    async for chunk in process.stdout:
                        output += chunk
                    await process.wait()
                    result["frames"] = json.loads(output.decode().splitlines()[-1])["frames"]
                if process.returncode is None:
                    process.kill()

    return attach


def tick_figures(ticks: int, rate: float, repeat: int) -> dict[str, Any]:
    samples: dict[bool, list[int]] = {False: [], True: []}
    frames = [0, 0]
    dropped = 0
    with tempfile.TemporaryDirectory(prefix="tradebus-observer-") as directory:
        for number in range(repeat):
            for with_clients in (False, True):
                result: dict[str, Any] = {}
                probe = live_latency.tick_to_order(
                    Path(directory) / f"ticks-{number}-{int(with_clients)}.sqlite", ticks,
                    rate=rate, attach=served_with_clients(result) if with_clients else None)
                samples[with_clients] += probe.from_handle
                if with_clients:
                    dropped += result.get("dropped", 0)
                    frames = [a + b for a, b in zip(frames, result.get("frames", [0, 0]),
                                                    strict=True)]
    plain, served = samples[False], samples[True]
    figures: dict[str, Any] = {}
    for label, values in (("plain", plain), ("ws2", served)):
        figures[f"tick_to_order_{label}_median_us"] = live_latency.percentile(values, 0.5)
        figures[f"tick_to_order_{label}_p99_us"] = live_latency.percentile(values, 0.99)
    for quantile in ("median", "p99"):
        base = figures[f"tick_to_order_plain_{quantile}_us"]
        figures[f"tick_to_order_ws2_{quantile}_overhead_percent"] = round(
            (figures[f"tick_to_order_ws2_{quantile}_us"] / base - 1) * 100, 1)
    figures["tick_ws2_dashboard_frames"], figures["tick_ws2_watcher_frames"] = frames
    figures["tick_ws2_tap_dropped"] = dropped  # a client that read too slowly lost these
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--ticks", type=int, default=5_000)
    parser.add_argument("--tick-rate", type=float, default=2_000.0)
    parser.add_argument("--skip-backtest", action="store_true")
    parser.add_argument("--backtest-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--with-metrics", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ws-clients", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.backtest_child:
        print(json.dumps(backtest_child(arguments.backtest_child,
                                        with_metrics=arguments.with_metrics)))
        return
    if arguments.ws_clients:
        anyio.run(ws_clients, arguments.ws_clients, backend="asyncio")
        return
    figures: dict[str, Any] = {}
    same = True
    if not arguments.skip_backtest:
        backtest, same = backtest_figures(arguments.bars, arguments.repeat)
        figures |= backtest
    figures |= tick_figures(arguments.ticks, arguments.tick_rate, arguments.repeat)
    print(json.dumps(figures))
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
