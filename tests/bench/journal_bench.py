"""Journal append throughput: committed events per second through `JournalWriter`.

    python tests/bench/journal_bench.py [--events 300000]   (run.py runs it in a child)

Appends a realistic mix (per 100 messages: 90 bars and the 10 messages one order's life
puts in the journal: the SubmitOrder at each of its three hops, OrderSubmitted,
OrderAccepted and OrderFilled each sent and published, PositionOpened, AccountUpdated)
in bursts of 256 with the flusher (`run`) committing, as the live runner does (it drains
up to 256 inbox entries between checkpoints), into a real SQLite file in a temporary
directory, and stops the clock when the last message is durable. Once with
synchronous="normal" and once with "full". Prints one JSON line.

`engine.persistence.append_throughput` measures the same loop with a single trade
tick repeated; this one uses the message mix a session actually writes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import anyio  # noqa: E402
import anyio.lowlevel  # noqa: E402

from engine.domain.enums import (  # noqa: E402
    LiquiditySide,
    OrderSide,
    OrderType,
    PositionSide,
)
from engine.events.base import Message  # noqa: E402
from engine.events.fills import AccountUpdated, Balance, OrderFilled, PositionOpened  # noqa: E402
from engine.events.market import Bar, BarType  # noqa: E402
from engine.events.orders import OrderAccepted, OrderSubmitted, SubmitOrder  # noqa: E402
from engine.persistence import JournalWriter  # noqa: E402
from engine.topics import (  # noqa: E402
    ORDERS_EXECUTE,
    ORDERS_PROCESS,
    RISK_EXECUTE,
    account_topic,
    bars_topic,
    order_topic,
    position_topic,
    venue_endpoint,
)

INSTRUMENT_ID = "BTC/USDT.SIM"
Synchronous = Literal["normal", "full"]
STRATEGY_ID = "bench"
MINUTE_NS = 60_000_000_000
START_NS = 1_700_000_000_000_000_000

Entry = tuple[str, Message, bool]


def bar_at(index: int) -> Bar:
    """Bar `index` of a deterministic zig-zag around 30,000 (distinct values per bar)."""
    close = 30_000.0 + (index * 37 % 1_000) / 10
    return Bar(bar_type=BarType(instrument_id=INSTRUMENT_ID, timeframe="1m"),
               open=close - 1.5, high=close + 4.25, low=close - 6.5, close=close,
               volume=12.5 + index % 50, ts_event=START_NS + index * MINUTE_NS,
               ts_init=START_NS + index * MINUTE_NS)


def submit_order(number: int, ts: int) -> SubmitOrder:
    return SubmitOrder(strategy_id=STRATEGY_ID, client_order_id=f"{STRATEGY_ID}-{number}",
                       instrument_id=INSTRUMENT_ID, side=OrderSide.BUY if number % 2 else
                       OrderSide.SELL, order_type=OrderType.MARKET, quantity=Decimal("1.000"),
                       ts_event=ts, ts_init=ts)


def order_life(number: int, ts: int) -> list[Entry]:
    """The ten journal records one filled market order adds (topics as the graph uses)."""
    command = submit_order(number, ts)
    ids = {"strategy_id": STRATEGY_ID, "client_order_id": command.client_order_id,
           "instrument_id": INSTRUMENT_ID}
    submitted = OrderSubmitted(**ids, venue="SIM", ts_event=ts, ts_init=ts)
    accepted = OrderAccepted(**ids, venue_order_id=f"SIM-{number}", ts_event=ts, ts_init=ts)
    price = Decimal("30012.37")
    filled = OrderFilled(**ids, venue_order_id=f"SIM-{number}", trade_id=f"SIM-T{number}",
                         side=command.side, last_quantity=command.quantity, last_price=price,
                         commission=Decimal("30.01237"), commission_currency="USDT",
                         liquidity_side=LiquiditySide.TAKER, ts_event=ts, ts_init=ts)
    opened = PositionOpened(strategy_id=STRATEGY_ID, instrument_id=INSTRUMENT_ID,
                            side=PositionSide.LONG, quantity=command.quantity,
                            average_entry_price=price, realized_pnl=Decimal(0),
                            fees=Decimal("30.01237"), opened_ns=ts, last_fill_price=price,
                            last_fill_quantity=command.quantity, ts_event=ts, ts_init=ts)
    account = AccountUpdated(account_id="PAPER-001",
                             balances=(Balance(currency="BTC", total=Decimal("1.000")),
                                       Balance(currency="USDT", total=Decimal("9969957.61763"))),
                             equity=Decimal("9999970.0"), currency="USDT", ts_event=ts,
                             ts_init=ts)
    return [
        (RISK_EXECUTE, command, False), (ORDERS_EXECUTE, command, False),
        (ORDERS_PROCESS, submitted, False), (venue_endpoint("SIM"), command, False),
        (ORDERS_PROCESS, accepted, False), (order_topic(STRATEGY_ID), accepted, False),
        (ORDERS_PROCESS, filled, False), (order_topic(STRATEGY_ID), filled, False),
        (position_topic(STRATEGY_ID), opened, False), (account_topic("PAPER-001"), account, False),
    ]


def message_mix(cycles: int = 100) -> list[Entry]:
    """`cycles` × (90 bars, then one order's ten records): 90 % market data by count."""
    topic = bars_topic(INSTRUMENT_ID, "1m")
    entries: list[Entry] = []
    for cycle in range(cycles):
        for index in range(cycle * 90, cycle * 90 + 90):
            entries.append((topic, bar_at(index), True))
        entries.extend(order_life(cycle + 1, START_NS + (cycle * 90 + 89) * MINUTE_NS))
    return entries


def journal_throughput(
    path: Path, events: int, synchronous: Synchronous, *, burst: int = 256
) -> dict[str, Any]:
    """Append `events` messages of the mix in bursts; return events/s once all are durable."""
    entries = message_mix()

    async def measure() -> dict[str, Any]:
        async with JournalWriter(path, synchronous=synchronous) as journal:
            append = journal.append
            async with anyio.create_task_group() as group:
                await group.start(journal.run)
                size = len(entries)
                started = time.perf_counter()
                last = 0
                for index in range(events):
                    topic, message, is_input = entries[index % size]
                    last = append(topic, message, is_input=is_input)
                    if index % burst == burst - 1:
                        await anyio.lowlevel.checkpoint()
                await journal.wait_committed(last)
                elapsed = time.perf_counter() - started
                group.cancel_scope.cancel()
            statistics = journal.statistics()
        return {"events_per_second": events / elapsed, "seconds": elapsed,
                "batches": statistics.batches, "max_batch": statistics.max_batch,
                "bytes_per_event": statistics.bytes_written / max(statistics.committed, 1)}

    return anyio.run(measure, backend="asyncio")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tradebus-bench-") as directory:
        normal = journal_throughput(Path(directory) / "normal.sqlite", arguments.events, "normal")
        full = journal_throughput(Path(directory) / "full.sqlite", arguments.events, "full")
    print(json.dumps({
        "journal_events_per_second": round(normal["events_per_second"]),
        "journal_events_per_second_full": round(full["events_per_second"]),
        "journal_batches": normal["batches"],
        "journal_max_batch": normal["max_batch"],
        "journal_payload_bytes_per_event": round(normal["bytes_per_event"], 1),
    }))


if __name__ == "__main__":
    main()
