"""Measure the adapter's speed on this machine: `python -m tests.fakes.binance.measure`.

Prints (and with `--json`, writes as JSON):
- parse throughput, messages/s: a Binance trade message through ccxt's own parser and the
  adapter's translation into a TradeTick; the translation alone; a 40-level book diffed
  into BookDeltas;
- latency, µs (median, p99): a trade published on the fake's socket, through ccxt.pro
  and the market data client, to a sink that submits a market order through the
  execution client, until the fake has the order. No engine graph in between (the live
  venue binding is not there yet), so this is the adapter's share of the tick-to-order
  path. Samples are spaced past ccxt's rate limiter interval (on, as in production),
  which would otherwise delay back-to-back orders by up to 50 ms each.

A measurement, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import anyio

from adapters.ccxt.parsing import book_deltas, trade_tick
from engine.domain.enums import OrderSide
from engine.events.base import Event
from engine.ports import DataSubscription, MarketData
from tests.fakes.binance.ccxt_support import (
    INSTRUMENT_ID,
    execution_client,
    market_data_client,
    submit,
)
from tests.fakes.binance.server import BTCUSDT, running_fake

__all__ = ("measure_latency", "measure_parsing", "main")


def measure_parsing(count: int = 100_000) -> dict[str, float]:
    """Messages per second of the three parse paths (see the module docstring)."""
    import ccxt.pro as ccxtpro

    exchange = ccxtpro.binance({"options": {"fetchMarkets": {"types": ["spot"]}}})
    exchange.options["crossMarginPairsData"] = []
    exchange.options["isolatedMarginPairsData"] = []
    exchange.set_markets(exchange.parse_markets([BTCUSDT.exchange_info()]))
    market = exchange.market("BTC/USDT")
    raw = [{"e": "trade", "E": 1_700_000_000_000 + i, "s": "BTCUSDT", "t": i,
            "p": f"{100 + (i % 100) / 100:.2f}", "q": "0.01000000",
            "T": 1_700_000_000_000 + i, "m": bool(i % 2), "M": True} for i in range(count)]
    started = time.perf_counter()
    for message in raw:
        trade_tick(exchange.parse_ws_trade(message, market), INSTRUMENT_ID, "BINANCE", 0)
    wire = count / (time.perf_counter() - started)
    parsed = [exchange.parse_ws_trade(message, market) for message in raw]
    started = time.perf_counter()
    for trade in parsed:
        trade_tick(trade, INSTRUMENT_ID, "BINANCE", 0)
    translation = count / (time.perf_counter() - started)
    books = []
    for i in range(count // 2):
        bids = [[100 - level / 100, 1.0] for level in range(20)]
        bids[i % 20][1] = 1.0 + i
        books.append({"bids": bids, "asks": [[100.01 + level / 100, 1.0] for level in range(20)],
                      "nonce": i, "timestamp": i})
    previous: dict[OrderSide, dict[float, float]] = {}
    started = time.perf_counter()
    for book in books:
        book_deltas(previous, book, INSTRUMENT_ID, 0, snapshot=False)
    book_rate = len(books) / (time.perf_counter() - started)
    return {"trade_wire_to_tick_per_s": wire, "trade_dict_to_tick_per_s": translation,
            "book_40_levels_to_deltas_per_s": book_rate}


async def measure_latency(samples: int = 200) -> dict[str, float]:
    """Trade on the fake's socket -> market data client -> submit -> order at the fake."""
    async with running_fake() as fake:
        fake.set_level("SELL", "100.01", "100000")
        fake.set_level("BUY", "99.99", "100000")
        pending: list[anyio.Event] = []
        submits: list[Any] = []
        events: list[Event] = []
        executions = execution_client(fake, events.append)

        def on_tick(item: MarketData) -> None:
            submits.append(item)
            pending[-1].set()

        data = market_data_client(fake, on_tick)
        await data.subscribe(DataSubscription(kind="trades", instrument_id=INSTRUMENT_ID))
        latencies: list[float] = []
        async with anyio.create_task_group() as tasks:
            await tasks.start(executions.run)
            await tasks.start(data.run)
            await anyio.sleep(0.5)  # the SUBSCRIBE answered
            for n in range(samples):
                await anyio.sleep(0.06)  # past ccxt's limiter interval (Binance: 50 ms)
                pending.append(anyio.Event())
                orders = len(fake.state.orders)
                started = time.perf_counter()
                fake.trade("100.00", "0.1")
                await pending[-1].wait()
                await executions.submit_order(submit(f"lat-{n}", quantity="0.1"))
                if len(fake.state.orders) != orders + 1:
                    raise RuntimeError("latency: the order did not reach the fake")
                latencies.append((time.perf_counter() - started) * 1e6)
            tasks.cancel_scope.cancel()
    latencies.sort()
    return {"tick_to_order_median_us": statistics.median(latencies),
            "tick_to_order_p99_us": latencies[int(len(latencies) * 0.99) - 1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    arguments = parser.parse_args()
    figures = {**measure_parsing(), **anyio.run(measure_latency)}
    if arguments.json:
        print(json.dumps(figures, indent=2))
    else:
        for name, value in figures.items():
            print(f"{name:34} {value:14,.0f}")


if __name__ == "__main__":
    main()
