"""Latency figures of the daemon's live path: journal barrier of an order, tick to order.

    python tests/bench/live_latency.py [--orders 2000] [--ticks 5000]   (run.py runs it)

Two measurements, each on its own event loop, printed as one JSON line:

order journal latency
    What journaling an order costs it before it may leave. A `JournalWriter` runs its
    flusher while another task appends bars at `--background-rate` per second (steady
    market data load). For each order: the SubmitOrder is appended (as the bus observer
    does when the command is sent), `DurableOutbox.put` queues it, and a sender task
    (the venue adapter's) blocked in `DurableOutbox.get()` receives it once the journal
    has committed it. Timed from right after `put` to `get()` returning, one order at a
    time with a gap of 0.5-2.5 ms (a fixed pattern) between them.

tick to order
    The in-process path from a bar entering the live graph to the resulting SubmitOrder
    reaching the venue: the graph built as the daemon (`TradingNode`) builds it (TradingGraph on a
    LiveClock, SimVenue sharing the MarketCache, LiveRunner + Inbox, the runner's journal
    observer appending every message to a running JournalWriter: append cost included,
    commit not waited for), from the bundled paper config (its risk limits, minus the
    order rate limit, which an order per bar would hit). A strategy sends a market order
    on every bar, alternating buy and sell, so every bar after the first also fills the
    previous order before the strategy sees it (the busy case). A paced producer puts
    `--tick-rate` bars per second into the inbox; the runner's own loop takes them.
    Timed from `runner.handle(entry)` starting (`tick_to_order_*`; from the inbox put:
    `inbox_to_order_*`, which adds the wait behind earlier bars of a burst, since the
    loop wakes about once a millisecond) to `on_submit_order` of the venue, stamped by a
    SimVenue subclass. `tick_handle_*` is the whole handling of such a bar. Then again
    with an order on every other bar, so no bar that makes an order also fills one
    (`tick_to_order_no_fill_*`, the quiet case).

Both read a performance counter and measure wall time: a shared or busy machine shows
up in the tails. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import anyio  # noqa: E402
import msgspec  # noqa: E402

from adapters.sim import SimVenue  # noqa: E402
from api.compose import (  # noqa: E402
    DEFAULT_DAEMON_CONFIG,
    build_instruments,
    load_daemon_config,
)
from engine.cache import MarketCache  # noqa: E402
from engine.clock import LiveClock  # noqa: E402
from engine.domain.enums import OrderSide, OrderType  # noqa: E402
from engine.events.market import Bar, BarType  # noqa: E402
from engine.events.orders import SubmitOrder  # noqa: E402
from engine.events.system import SessionStarted  # noqa: E402
from engine.graph import TradingGraph, topic_for  # noqa: E402
from engine.persistence import JournalWriter  # noqa: E402
from engine.runtime import DurableOutbox, Inbox, InboxEntry, LiveRunner, replay_inputs  # noqa: E402
from engine.strategy import Strategy, StrategyConfig  # noqa: E402
from engine.topics import bars_topic, system_topic, venue_endpoint  # noqa: E402

INSTRUMENT_ID = "BTC/USDT.SIM"
Synchronous = Literal["normal", "full"]
WARM_UP = 0.1  # this fraction more runs first, not counted (caches, prepared statements)


def percentile(values: list[int], fraction: float) -> float:
    """The nearest-rank percentile of nanosecond `values`, in microseconds."""
    ordered = sorted(values)
    rank = max(math.ceil(fraction * len(ordered)) - 1, 0)
    return ordered[rank] / 1_000


def summary(prefix: str, values: list[int]) -> dict[str, float | int]:
    return {
        f"{prefix}_median_us": round(percentile(values, 0.5), 1),
        f"{prefix}_p99_us": round(percentile(values, 0.99), 1),
        f"{prefix}_max_us": round(max(values) / 1_000, 1),
        f"{prefix}_samples": len(values),
    }


def sample_bars() -> list[Bar]:
    """The bundled paper session's bars (20,000 one-minute BTC/USDT bars)."""
    config, _ = load_daemon_config(None, environ={})
    items = config.feeds[0].build_items(DEFAULT_DAEMON_CONFIG.parent)
    return [item for item in items if isinstance(item, Bar)]


# -- 2. the journal barrier of an order ---------------------------------------------------


def order_journal_latency(
    path: Path, orders: int, *, background_rate: float, synchronous: Synchronous = "normal"
) -> dict[str, float | int]:
    """Time each order from `DurableOutbox.put` to `get()` under a steady bar load."""
    bars = sample_bars()
    topic = bars_topic(INSTRUMENT_ID, "1m")
    warm_up = int(orders * WARM_UP)
    total = orders + warm_up
    gaps = [0.0005 + (index * 7 % 21) / 10_000 for index in range(total)]  # 0.5 .. 2.5 ms

    async def measure() -> dict[str, float | int]:
        latencies: list[int] = []
        put_at: deque[int] = deque()
        released = anyio.Event()
        background_appended = 0

        async with JournalWriter(path, synchronous=synchronous) as journal:
            outbox = DurableOutbox(journal)

            async def background() -> None:
                nonlocal background_appended
                started = time.perf_counter()
                appended = 0
                while True:
                    due = int((time.perf_counter() - started) * background_rate)
                    while appended < due:
                        journal.append(topic, bars[appended % len(bars)], is_input=True)
                        appended += 1
                    background_appended = appended
                    await anyio.sleep(0.0005)

            async def sender() -> None:
                while True:
                    await outbox.get()
                    latencies.append(time.perf_counter_ns() - put_at.popleft())
                    released.set()

            async with anyio.create_task_group() as group:
                await group.start(journal.run)
                group.start_soon(background)
                group.start_soon(sender)
                await anyio.sleep(0.05)  # the background load is running
                endpoint = venue_endpoint("SIM")
                for number in range(total):
                    command = SubmitOrder(
                        strategy_id="bench", client_order_id=f"bench-{number}",
                        instrument_id=INSTRUMENT_ID, side=OrderSide.BUY,
                        order_type=OrderType.MARKET, quantity=Decimal(1), ts_event=number,
                        ts_init=number,
                    )
                    released = anyio.Event()
                    journal.append(endpoint, command)
                    outbox.put(command)
                    put_at.append(time.perf_counter_ns())
                    await released.wait()
                    await anyio.sleep(gaps[number])
                group.cancel_scope.cancel()
            statistics = journal.statistics()
        measured = latencies[warm_up:]
        return {
            **summary("order_journal_latency", measured),
            "order_journal_background_events": background_appended,
            "order_journal_batches": statistics.batches,
        }

    return anyio.run(measure, backend="asyncio")


# -- 3. tick to order -------------------------------------------------------------------------


class EveryBarConfig(StrategyConfig, kw_only=True, frozen=True):
    instrument_id: str
    quantity: Decimal = Decimal(1)
    every: int = 1


class EveryBar(Strategy):
    """Send a market order on every `every`-th bar: buy when flat or short, else sell."""

    config_type = EveryBarConfig
    config: EveryBarConfig

    def on_start(self) -> None:
        self.bars_seen = 0
        self.subscribe_bars(BarType(instrument_id=self.config.instrument_id, timeframe="1m"))

    def on_bar(self, bar: Bar) -> None:
        self.bars_seen += 1
        if (self.bars_seen - 1) % self.config.every:
            return
        instrument_id = self.config.instrument_id
        side = OrderSide.BUY if self.net_quantity(instrument_id) <= 0 else OrderSide.SELL
        self.market_order(instrument_id, side, self.config.quantity)


class Probe:
    """Stamps of the entry being handled and the latencies measured so far."""

    def __init__(self) -> None:
        self.put_at: deque[int] = deque()
        self.handle_started = 0
        self.entry_put = 0
        self.waiting = False  # the entry in hand has not reached the venue with an order yet
        self.handled = 0
        self.counting = False  # past the warm-up, and this entry should make an order
        self.from_handle: list[int] = []
        self.from_put: list[int] = []
        self.handle_total: list[int] = []
        self.bars_without_order = 0
        self.bars_dropped = 0
        self.fills = 0


class StampingVenue(SimVenue):
    """SimVenue that stamps the arrival of the first SubmitOrder of each handled entry."""

    probe: Probe

    def on_submit_order(self, command: SubmitOrder) -> None:
        probe = self.probe
        if probe.waiting:
            arrived = time.perf_counter_ns()
            probe.waiting = False
            if probe.counting:
                probe.from_handle.append(arrived - probe.handle_started)
                probe.from_put.append(arrived - probe.entry_put)
        super().on_submit_order(command)


def tick_to_order(path: Path, ticks: int, *, rate: float, every: int = 1,
                  attach: Callable[..., Awaitable[None]] | None = None) -> Probe:
    """Time bars from the runner taking them to their order reaching the venue.

    With `every` = 2 an order goes out on every other bar, so the bars that make one fill
    nothing (the fill comes on the bar after): the quiet case. `attach(graph,
    task_status=...)` is started in the loop's task group once the runner runs, before
    the first bar (observer_bench.py serves the API and its WebSocket clients so).
    """
    config, file = load_daemon_config(None, environ={})
    bars = sample_bars()
    warm_up = int(ticks * WARM_UP) * every
    total = min(ticks * every + warm_up, len(bars))
    instruments = build_instruments(config.instruments, str(file))
    probe = Probe()

    async def measure() -> None:
        clock = LiveClock(origin_ns=bars[0].ts_event, speed=1.0)
        clock.hold(clock.timestamp_ns())
        cache = MarketCache()
        graph = TradingGraph(clock=clock, instruments=instruments, portfolio=config.portfolio,
                             risk=msgspec.structs.replace(config.risk,
                                                          max_orders_per_interval=None),
                             cache=cache)
        venue = StampingVenue(config.venues[0], graph.instruments, cache=cache)
        venue.probe = probe
        graph.add_venue(venue)
        graph.add_bar_source(BarType(instrument_id=INSTRUMENT_ID, timeframe="1m"))
        graph.add_strategy(EveryBar("every-bar", EveryBarConfig(instrument_id=INSTRUMENT_ID,
                                                                every=every)))
        replay_inputs(graph, clock, [])  # an empty journal: starts the graph, as the daemon
        gc.freeze()  # as the daemon does after recovery
        inbox = Inbox()
        inbox.add_lane("feed", capacity=config.runtime.data_capacity,
                       policy=config.runtime.overflow)
        async with JournalWriter(path, synchronous=config.runtime.journal_synchronous) as journal:
            runner = LiveRunner(graph, inbox)
            graph.bus.add_observer(runner.journal_observer(journal))
            handle = runner.handle

            def timed_handle(entry: InboxEntry) -> None:
                probe.counting = probe.handled >= warm_up and probe.handled % every == 0
                probe.handled += 1
                probe.entry_put = probe.put_at.popleft()
                probe.waiting = True
                started = probe.handle_started = time.perf_counter_ns()
                handle(entry)
                finished = time.perf_counter_ns()
                if probe.counting:
                    probe.handle_total.append(finished - started)
                    if probe.waiting:
                        probe.bars_without_order += 1
                probe.waiting = False

            runner.handle = timed_handle  # type: ignore[method-assign]
            async with anyio.create_task_group() as group:
                await group.start(journal.run)
                clock.release(bars[0].ts_event)
                now = clock.timestamp_ns()
                runner.publish_input(system_topic("session"),
                                     SessionStarted(session=1, ts_event=now, ts_init=now))
                await group.start(clock.run)
                await group.start(runner.run)
                if attach is not None:
                    await group.start(attach, graph)
                topic = topic_for(bars[0])
                started = time.perf_counter()
                put = 0
                while put < total:
                    due = min(int((time.perf_counter() - started) * rate) + 1, total)
                    while put < due:
                        probe.put_at.append(time.perf_counter_ns())
                        inbox.put_data("feed", bars[put], topic, INSTRUMENT_ID)
                        put += 1
                    await anyio.sleep(0.0005)
                await inbox.wait_empty()
                group.cancel_scope.cancel()
        probe.bars_dropped = inbox.statistics().lanes["feed"].dropped
        probe.fills = graph.orders.statistics().fills

    anyio.run(measure, backend="asyncio")
    return probe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2_000)
    parser.add_argument("--background-rate", type=float, default=20_000.0)
    parser.add_argument("--ticks", type=int, default=5_000)
    parser.add_argument("--tick-rate", type=float, default=2_000.0)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tradebus-bench-") as directory:
        figures: dict[str, Any] = order_journal_latency(
            Path(directory) / "orders.sqlite", arguments.orders,
            background_rate=arguments.background_rate,
        )
        busy = tick_to_order(Path(directory) / "ticks.sqlite", arguments.ticks,
                             rate=arguments.tick_rate)
        quiet = tick_to_order(Path(directory) / "quiet.sqlite", arguments.ticks,
                              rate=arguments.tick_rate, every=2)
    figures |= {
        **summary("tick_to_order", busy.from_handle),
        **summary("inbox_to_order", busy.from_put),
        **summary("tick_handle", busy.handle_total),
        "tick_bars_without_order": busy.bars_without_order,
        "tick_bars_dropped": busy.bars_dropped,
        "tick_fills": busy.fills,
        **summary("tick_to_order_no_fill", quiet.from_handle),
        "tick_no_fill_bars_without_order": quiet.bars_without_order,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
