"""The live venues' figures: ccxt parse throughput, tick to order at the fake venues.

    python tests/bench/live_venues.py [--messages 50000] [--samples 200]   (run.py runs it)

Printed as one JSON line (run.py reads the last line), three measurements:

ccxt parse throughput (`ccxt_parse_*`)
    Binance wire messages (the decoded JSON dicts a socket delivers: `trade` and
    `depthUpdate`, half each) through ccxt.pro's own handler (`handle_message`: parse,
    cache, for a book the U/u check and the update of its book) and the adapter's
    translation into engine events (`adapters/ccxt/parsing.py`: a TradeTick per trade,
    the BookDeltas of what changed in the book's 20 levels a side), as the market data
    client does per message. Also each part alone on the same messages: ccxt's handler
    (`ccxt_parser_*`) and the translation (`ccxt_translation_*`), so the figures say
    which one bounds the whole. Wall time, plus per CPU second (`*_per_cpu_second`:
    what another process on a busy machine does not take away).

ccxt tick to order (`ccxt_tick_to_order_*`)
    A trade printed on the fake Binance's market socket, through ccxt.pro, the market
    data client and the live graph as `tradebus run` builds it (`build_node` on a live
    config: inbox, runner, journal, risk, order manager, execution bridge and durable
    outbox, which sends only once the journal has committed the order) to the strategy's
    market order reaching the fake's REST endpoint (`POST /api/v3/order`, stamped as it
    arrives). One trade at a time, spaced past ccxt's rate limiter interval (on, as in
    production: Binance's 50 ms), which would otherwise delay an order by up to that.

IBKR tick to order (`ibkr_tick_to_order_*`)
    The same through ib_async: a last-trade tick on the fake TWS gateway's socket, the
    IBKR feed, the live graph, to the placeOrder request arriving at the fake gateway
    (stamped as it is read). The gateway fills each order at once.

Wall time on a shared machine: its load shows in the tails. Figures only; nothing here
asserts a time.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import anyio  # noqa: E402

from adapters.ccxt.parsing import book_deltas, trade_tick  # noqa: E402
from api.compose import build_node, load_daemon_config  # noqa: E402
from engine.domain.enums import OrderSide  # noqa: E402
from engine.events.market import TradeTick  # noqa: E402
from engine.runtime import RunnerState, TradingNode  # noqa: E402
from engine.strategy import Strategy, StrategyConfig  # noqa: E402

SYMBOL = "BTC/USDT"
CCXT_INSTRUMENT_ID = "BTC/USDT.BINANCE"
IBKR_INSTRUMENT_ID = "AAPL.IBKR"
AAPL_CON_ID = 265598
LEVELS = 20
WARM_UP = 10  # samples first taken and not counted (connections, caches, statements)
SPACING_S = 0.06  # past ccxt's limiter interval (Binance: 50 ms)
WAIT_S = 30.0


# -- the strategy the live sessions run -----------------------------------------------------


class EveryTickConfig(StrategyConfig, kw_only=True, frozen=True):
    instrument_id: str
    quantity: Decimal


class EveryTick(Strategy):
    """Send a market order on every trade tick, buy and sell in turn (whether or not the
    last one has filled yet: no tick waits on the one before)."""

    config_type = EveryTickConfig
    config: EveryTickConfig

    def on_start(self) -> None:
        self.ticks = 0
        self.subscribe_trade_ticks(self.config.instrument_id)

    def on_trade_tick(self, tick: TradeTick) -> None:
        self.ticks += 1
        side = OrderSide.BUY if self.ticks % 2 else OrderSide.SELL
        self.market_order(self.config.instrument_id, side, self.config.quantity)


# -- ccxt parse throughput -----------------------------------------------------------------


def wire_messages(count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """`count` trade and `count` depthUpdate messages of BTCUSDT, and the book snapshot
    the depth updates follow (a fixed pattern: each update changes a bid and an ask
    level, and every fifth one also removes an ask level and adds another)."""
    start_ms = 1_700_000_000_000
    trades = [{"e": "trade", "E": start_ms + i, "s": "BTCUSDT", "t": i,
               "p": f"{100 + (i % 100) / 100:.2f}", "q": "0.01000000",
               "T": start_ms + i, "m": bool(i % 2), "M": True} for i in range(count)]
    snapshot = {"lastUpdateId": 1000,
                "bids": [[f"{99.99 - level / 100:.2f}", "1.00000000"] for level in range(LEVELS)],
                "asks": [[f"{100.01 + level / 100:.2f}", "1.00000000"] for level in range(LEVELS)]}
    depth = []
    for i in range(count):
        bids = [[f"{99.99 - (i % LEVELS) / 100:.2f}", f"{1 + i % 7:.8f}"]]
        asks = [[f"{100.01 + (i * 3 % LEVELS) / 100:.2f}", f"{2 + i % 5:.8f}"]]
        if i % 5 == 4:  # the 21st level comes and goes
            asks.append([f"{100.01 + LEVELS / 100:.2f}", "0.00000000" if i % 10 == 9
                         else "3.00000000"])
        depth.append({"e": "depthUpdate", "E": start_ms + i, "s": "BTCUSDT",
                      "U": 1001 + i, "u": 1001 + i, "b": bids, "a": asks})
    return trades, depth, snapshot


class _Rates:
    """Messages per wall second and per CPU second of one timed loop."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self) -> _Rates:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


async def ccxt_parse_throughput(count: int) -> dict[str, float]:
    """The three parse paths over `count` trade and `count` depth messages (docstring)."""
    import ccxt.pro as ccxtpro

    from tests.fakes.binance.server import BTCUSDT

    def exchange_with_book() -> Any:
        exchange = ccxtpro.binance({"options": {"fetchMarkets": {"types": ["spot"]}}})
        exchange.options["crossMarginPairsData"] = []
        exchange.options["isolatedMarginPairsData"] = []
        exchange.set_markets(exchange.parse_markets([BTCUSDT.exchange_info()]))
        book = exchange.order_book({}, 1000)
        book.reset(exchange.parse_order_book(snapshot, SYMBOL))
        book["nonce"] = snapshot["lastUpdateId"]
        exchange.orderbooks[SYMBOL] = book
        return exchange

    trades, depth, snapshot = wire_messages(count)
    exchange = exchange_with_book()
    client = exchange.client("ws://127.0.0.1:9/stream")  # never opened: /stream says spot
    handle = exchange.handle_message
    book_state: dict[OrderSide, dict[float, float]] = {}
    figures: dict[str, float] = {}
    try:
        # ccxt's handler alone, keeping what the translation then reads
        parsed_trades: list[dict[str, Any]] = []
        parsed_books: list[dict[str, Any]] = []
        with _Rates() as parser:
            for message in trades:
                handle(client, message)
            for message in depth:
                handle(client, message)
        cache = exchange.trades[SYMBOL]
        if len(cache) != min(count, cache.max_size) or exchange.orderbooks[SYMBOL]["nonce"] != (
                depth[-1]["u"]):
            raise RuntimeError("ccxt parse: ccxt did not take every message")
        # the translation alone, on what ccxt made of the same messages (books copied, as
        # they stood after each message: a second exchange replays them)
        replay = exchange_with_book()
        replay_client = replay.client("ws://127.0.0.1:9/stream")
        for message in trades:
            replay.handle_message(replay_client, message)
            parsed_trades.append(replay.trades[SYMBOL][-1])
        for message in depth:
            replay.handle_message(replay_client, message)
            book = replay.orderbooks[SYMBOL].limit()
            parsed_books.append({"bids": [list(level) for level in book["bids"][:LEVELS]],
                                 "asks": [list(level) for level in book["asks"][:LEVELS]],
                                 "nonce": book["nonce"], "timestamp": book["timestamp"]})
        await replay.close()
        book_deltas(book_state, parsed_books[0], CCXT_INSTRUMENT_ID, 0, snapshot=True)
        with _Rates() as translation:
            for trade in parsed_trades:
                trade_tick(trade, CCXT_INSTRUMENT_ID, "BINANCE", 0)
            for book in parsed_books:
                book_deltas(book_state, book, CCXT_INSTRUMENT_ID, 0, snapshot=False)
        # both, as the market data client runs them per message
        await exchange.close()
        exchange = exchange_with_book()
        client = exchange.client("ws://127.0.0.1:9/stream")
        handle = exchange.handle_message
        book_state = {}
        book = exchange.orderbooks[SYMBOL].limit()
        delivered = len(book_deltas(book_state, book, CCXT_INSTRUMENT_ID, 0, snapshot=True))
        with _Rates() as trade_path:
            for message in trades:
                handle(client, message)
                trade_tick(exchange.trades[SYMBOL][-1], CCXT_INSTRUMENT_ID, "BINANCE", 0)
        with _Rates() as book_path:
            for message in depth:
                handle(client, message)
                delivered += len(book_deltas(book_state, exchange.orderbooks[SYMBOL].limit(),
                                             CCXT_INSTRUMENT_ID, 0, snapshot=False))
    finally:
        await exchange.close()
    messages = 2 * count
    both_wall, both_cpu = trade_path.wall + book_path.wall, trade_path.cpu + book_path.cpu
    figures |= {
        "ccxt_parse_messages_per_second": round(messages / both_wall),
        "ccxt_parse_messages_per_cpu_second": round(messages / both_cpu),
        "ccxt_parse_trade_messages_per_second": round(count / trade_path.wall),
        "ccxt_parse_book_messages_per_second": round(count / book_path.wall),
        "ccxt_parser_messages_per_second": round(messages / parser.wall),
        "ccxt_parser_messages_per_cpu_second": round(messages / parser.cpu),
        "ccxt_translation_messages_per_second": round(messages / translation.wall),
        "ccxt_translation_messages_per_cpu_second": round(messages / translation.cpu),
        "ccxt_parser_share_percent": round(100 * parser.cpu / (parser.cpu + translation.cpu),
                                           1),
        "ccxt_parse_book_deltas": delivered,
    }
    return figures


# -- tick to order through the live graph ------------------------------------------------


def percentile(values: list[int], fraction: float) -> float:
    """The nearest-rank percentile of nanosecond `values`, in microseconds."""
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)] / 1_000


def summary(prefix: str, values: list[int]) -> dict[str, float | int]:
    return {f"{prefix}_median_us": round(percentile(values, 0.5), 1),
            f"{prefix}_p99_us": round(percentile(values, 0.99), 1),
            f"{prefix}_max_us": round(max(values) / 1_000, 1),
            f"{prefix}_samples": len(values)}


STRATEGY = '''
[[strategies]]
id = "every-tick"
class = "live_venues:EveryTick"
[strategies.params]
instrument_id = "{instrument_id}"
quantity = "{quantity}"
'''

CCXT_CONFIG = '''
mode = "live"

[runtime]
clock_origin = "wall"
speed = 1.0
log_format = "json"
record = false

[api]
enabled = false

[portfolio]
account_id = "BINANCE-spot"
base_currency = "USDT"
starting_balances = {{ USDT = "100000", BTC = "10" }}

[[venues]]
kind = "ccxt"
venue = "BINANCE"
symbols = ["BTC/USDT"]
[venues.urls]
{urls}

[[instruments]]
symbol = "BTC/USDT"
venue = "BINANCE"
base_currency = "BTC"
quote_currency = "USDT"
price_increment = "0.01"
size_increment = "0.00001"
min_quantity = "0.00001"
min_notional = "5"
maker_fee = "0.001"
taker_fee = "0.001"

[[feeds]]
kind = "ccxt"
instrument_id = "BTC/USDT.BINANCE"
stream = "trades"
[feeds.urls]
{urls}
'''

IBKR_CONFIG = '''
mode = "live"

[runtime]
clock_origin = "wall"
speed = 1.0
log_format = "json"
record = false

[api]
enabled = false

[portfolio]
account_id = "DU1234567"
base_currency = "USD"
starting_balances = {{ USD = "100000" }}

[[venues]]
kind = "ibkr"
venue = "IBKR"
[venues.connection]
port = {port}
client_id = 61
[[venues.contracts]]
instrument_id = "AAPL.IBKR"
sec_type = "STK"
symbol = "AAPL"

[[instruments]]
symbol = "AAPL"
venue = "IBKR"
base_currency = "AAPL"
quote_currency = "USD"
price_increment = "0.01"
size_increment = "1"
min_quantity = "1"

[[feeds]]
kind = "ibkr"
instrument_id = "AAPL.IBKR"
data = ["trades"]
[feeds.contract]
instrument_id = "AAPL.IBKR"
sec_type = "STK"
symbol = "AAPL"
[feeds.connection]
port = {port}
client_id = 62
'''


def live_node(folder: Path, text: str, environ: dict[str, str]) -> TradingNode:
    """The node `tradebus run` builds from the live config `text`, in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "live.toml"
    path.write_text(text)
    environment = {"TRADEBUS__API__PORT": "0", **environ}
    config, file = load_daemon_config(path, environ=environment)
    return build_node(config, file=file, cwd=folder, environ=environment)


async def tick_to_order(node: TradingNode, samples: int, *, ready: Callable[[], bool],
                        tick: Callable[[], None], arrived: list[int],
                        after: Callable[[], None] = lambda: None) -> list[int]:
    """Run `node`; once `ready()`, `tick()` `samples` times (after a warm-up), each time
    waiting for one more stamp in `arrived` (the venue's, as the order reaches it):
    the latencies, ns. `after()` runs once each order arrived (the gateway's fill)."""
    latencies: list[int] = []
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(node.run)
        with anyio.fail_after(WAIT_S):
            while not ready():  # noqa: ASYNC110 (the fakes and the node offer no event)
                await anyio.sleep(0.01)
        for number in range(WARM_UP + samples):
            await anyio.sleep(SPACING_S)
            orders = len(arrived)
            started = time.perf_counter_ns()
            tick()
            with anyio.fail_after(WAIT_S):
                while len(arrived) == orders:  # stamped by the fake's hook
                    await anyio.lowlevel.checkpoint()
            if number >= WARM_UP:
                latencies.append(arrived[orders] - started)
            after()
        node.request_stop()
    return latencies


def running_node(node: TradingNode) -> bool:
    return node.state is RunnerState.RUNNING


async def ccxt_tick_to_order(folder: Path, samples: int) -> dict[str, float | int]:
    """A trade on the fake Binance's socket to the order at its REST endpoint."""
    from tests.fakes.binance import running_fake
    from tests.fakes.binance.ccxt_support import ENVIRON

    async with running_fake() as fake:
        fake.state.now_ms = time.time_ns() // 1_000_000  # the engine's clock is real time
        fake.set_level("SELL", "100.01", "100000")
        fake.set_level("BUY", "99.99", "100000")
        urls = "\n".join(f'"{original}" = "{replacement}"'
                         for original, replacement in fake.urls.items())
        text = CCXT_CONFIG.format(urls=urls) + STRATEGY.format(
            instrument_id=CCXT_INSTRUMENT_ID, quantity="0.1")
        node = live_node(folder, text, ENVIRON)
        arrived: list[int] = []
        place = fake.place

        async def stamped(params: dict[str, str]) -> dict[str, Any]:
            arrived.append(time.perf_counter_ns())
            return await place(params)

        fake.place = stamped  # type: ignore[method-assign]
        with limiter_waits() as waits:
            started: list[int] = []

            def tick() -> None:
                started.append(time.perf_counter_ns())
                fake.trade("100.00", "0.01")

            latencies = await tick_to_order(
                node, samples, arrived=arrived, tick=tick,
                ready=lambda: running_node(node) and fake.open_sockets(private=False) > 0)
    limited = [covered(waits, start, start + latency)
               for start, latency in zip(started[WARM_UP:], latencies, strict=True)]
    return {**summary("ccxt_tick_to_order", latencies),
            **summary("ccxt_tick_to_order_limiter_wait", limited),
            **summary("ccxt_tick_to_order_without_limiter",
                      [latency - wait for latency, wait in zip(latencies, limited,
                                                               strict=True)])}


def covered(intervals: list[tuple[int, int]], low: int, high: int) -> int:
    """How much of [low, high) the `intervals` cover (overlaps counted once)."""
    total, reached = 0, low
    for begin, end in sorted(intervals):
        begin, end = max(begin, reached), min(end, high)
        if end > begin:
            total += end - begin
            reached = end
    return total


@contextmanager
def limiter_waits() -> Iterator[list[tuple[int, int]]]:
    """Collect (start, end) of every wait in ccxt's rate limiter while the block runs.

    ccxt's leaky bucket refills only while requests queue: after an idle gap the bucket
    still holds the last request's debt, so every request waits its predecessor's cost
    (a Binance order: 0.2 x 50 ms = 10 ms) however far apart they are. Observed, not
    changed: the class's `throttle` is wrapped for the block, then restored.
    """
    from ccxt.async_support.base.exchange import Exchange

    waits: list[tuple[int, int]] = []
    throttle = Exchange.throttle

    async def timed(self: Any, cost: Any = None) -> Any:
        begin = time.perf_counter_ns()
        try:
            return await throttle(self, cost)
        finally:
            waits.append((begin, time.perf_counter_ns()))

    Exchange.throttle = timed  # type: ignore[method-assign]
    try:
        yield waits
    finally:
        Exchange.throttle = throttle  # type: ignore[method-assign]


async def ibkr_tick_to_order(folder: Path, samples: int) -> dict[str, float | int]:
    """A trade tick on the fake TWS gateway's socket to the placeOrder it reads."""
    from tests.fakes.tws import FakeTws

    async with FakeTws(server_version=178) as fake:
        arrived: list[int] = []

        def on_request(fields: list[str]) -> None:
            if fields[0] == "3":  # placeOrder
                arrived.append(time.perf_counter_ns())

        def fill() -> None:
            for order in fake.working_orders():
                fake.fill(order, order.remaining, Decimal("150.00"))

        fake.on_request = on_request
        text = IBKR_CONFIG.format(port=fake.port) + STRATEGY.format(
            instrument_id=IBKR_INSTRUMENT_ID, quantity="1")
        node = live_node(folder, text, {})
        latencies = await tick_to_order(
            node, samples, arrived=arrived, after=fill,
            tick=lambda: fake.push_trade(AAPL_CON_ID, Decimal("150.00"), Decimal(100)),
            ready=lambda: running_node(node) and fake.subscriber_count(AAPL_CON_ID) > 0)
    return summary("ibkr_tick_to_order", latencies)


def run(measure: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    result: dict[str, Any] = anyio.run(measure, backend="asyncio")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000,
                        help="trade messages and as many book messages parsed")
    parser.add_argument("--samples", type=int, default=200,
                        help="ticks timed to their order, per venue")
    arguments = parser.parse_args()
    figures = run(lambda: ccxt_parse_throughput(arguments.messages))
    with tempfile.TemporaryDirectory(prefix="tradebus-bench-") as directory:
        figures |= run(lambda: ccxt_tick_to_order(Path(directory) / "ccxt", arguments.samples))
        figures |= run(lambda: ibkr_tick_to_order(Path(directory) / "ibkr", arguments.samples))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
