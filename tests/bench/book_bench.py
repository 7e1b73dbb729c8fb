"""L2 book deltas applied per second through `OrderBook.apply`, beside a bare dict loop.

    python tests/bench/book_bench.py [--deltas 500000] [--levels 1000] [--repeat 3]
    (run.py runs it in a child)

A seeded generator (seed 7) makes realistic deltas for BTC/USDT at a 0.01 tick: a
snapshot of `--levels` levels per side, then per 100 deltas about 80 size updates, 10 new
levels and 10 deleted ones, each picked near the touch (distance from the best level
exponentially distributed, mean ~3 levels; adds land inside the spread when there is
room), the mid drifting as the touch moves; a fresh snapshot (CLEAR plus one ADD per level,
one message: one sequence number, `last` on its final delta only) every 100,000 deltas;
sequence numbers consecutive.
The spread stays a few ticks wide (a wide one fills in: most adds into it improve the touch).

Timed: the book (ticks keyed, as with an instrument's increment) over the whole list;
the same list through a bare-Python loop doing the minimal equivalent (a dict per side:
set the size, pop on delete, clear on CLEAR; no sorting, no checks), in this process,
right after; each the fastest of `--repeat` runs. Both must end with the same levels.
Then the book at 100 and 10,000 levels per side (the cost of a deeper book) and without
an increment (float price keys). Prints a table, then one JSON line (the last line).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from bisect import bisect_left, insort
from decimal import Decimal
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.domain import BookAction, OrderBook, OrderSide  # noqa: E402
from engine.events import BookDelta  # noqa: E402

INSTRUMENT_ID = "BTC/USDT.SIM"
TICK = Decimal("0.01")
SEED = 7
SNAPSHOT_EVERY = 100_000


class _Side:
    """The generator's own view of one side: tick -> size, and ticks sorted best last."""

    def __init__(self, sign: int) -> None:
        self.sign = sign  # +1 bids, -1 asks: sort keys are sign * tick, best last
        self.sizes: dict[int, float] = {}
        self.keys: list[int] = []

    def best(self) -> int:
        return self.sign * self.keys[-1]

    def nth_best(self, index: int) -> int:
        return self.sign * self.keys[max(len(self.keys) - 1 - index, 0)]

    def set(self, tick: int, size: float) -> None:
        if tick not in self.sizes:
            insort(self.keys, self.sign * tick)
        self.sizes[tick] = size

    def delete(self, tick: int) -> None:
        del self.sizes[tick]
        del self.keys[bisect_left(self.keys, self.sign * tick)]


def make_deltas(count: int, levels: int, seed: int = SEED) -> list[BookDelta]:
    """`count` deltas (at least): a snapshot, then updates, adds and deletes near the touch."""
    rng = random.Random(seed)
    bids, asks = _Side(1), _Side(-1)
    mid = 3_000_000  # 30,000.00 in ticks
    for offset in range(levels):
        # every other tick: room for new levels behind the touch
        bids.set(mid - 1 - 2 * offset, round(rng.uniform(0.001, 5.0), 3))
        asks.set(mid + 1 + 2 * offset, round(rng.uniform(0.001, 5.0), 3))
    deltas: list[BookDelta] = []
    sequence = 1
    ts = 1_700_000_000_000_000_000

    def emit(side: OrderSide, action: BookAction, tick: int, size: float,
             last: bool = True) -> None:
        deltas.append(BookDelta(instrument_id=INSTRUMENT_ID, side=side, action=action,
                                price=tick / 100, size=size, sequence=sequence, last=last,
                                ts_event=ts, ts_init=ts))

    def snapshot() -> None:
        # one venue message: only its final delta is `last`
        emit(OrderSide.BUY, BookAction.CLEAR, 0, 0.0, last=False)
        for side, book in ((OrderSide.BUY, bids), (OrderSide.SELL, asks)):
            for key in reversed(book.keys):
                tick = book.sign * key
                emit(side, BookAction.ADD, tick, book.sizes[tick], last=False)
        deltas[-1] = msgspec.structs.replace(deltas[-1], last=True)

    snapshot()
    while len(deltas) < count:
        sequence += 1
        ts += 1_000_000
        if len(deltas) % SNAPSHOT_EVERY < 1:
            snapshot()
            continue
        side = OrderSide.BUY if rng.random() < 0.5 else OrderSide.SELL
        book, other = (bids, asks) if side is OrderSide.BUY else (asks, bids)
        choice = rng.random()
        distance = int(rng.expovariate(1 / 3))
        size = round(rng.uniform(0.001, 5.0), 3)
        adding = choice < 0.9
        if adding and len(book.keys) >= 2 * levels or not adding and len(book.keys) <= levels // 2:
            adding = not adding  # keep the depth near `levels`
        if choice < 0.8:
            tick = book.nth_best(distance)
            action = BookAction.UPDATE
        elif adding:
            # a new level: inside the spread when there is room, else behind the touch
            tick = book.best() + book.sign * (1 - distance)
            if book.sign * (other.best() - book.best()) > 1 and rng.random() < 0.7:
                tick = book.best() + book.sign  # a wide spread fills in: improve the touch
            if book.sign * (other.best() - tick) <= 0:
                tick = other.best() - book.sign
            while tick in book.sizes and book.sign * (book.best() - tick) < 4 * levels:
                tick -= book.sign
            action = BookAction.UPDATE if tick in book.sizes else BookAction.ADD
        else:
            tick = book.nth_best(distance)
            book.delete(tick)
            emit(side, BookAction.DELETE, tick, 0.0)
            continue
        book.set(tick, size)
        emit(side, action, tick, size)
    return deltas


def apply_all(book: OrderBook, deltas: list[BookDelta]) -> float:
    """Seconds to apply every delta to `book`."""
    apply = book.apply
    started = time.perf_counter()
    for delta in deltas:
        apply(delta)
    return time.perf_counter() - started


def bare_loop(deltas: list[BookDelta]) -> tuple[float, dict[float, float], dict[float, float]]:
    """Seconds for the minimal equivalent: a dict per side, no order, no checks."""
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    clear, delete, buy = BookAction.CLEAR, BookAction.DELETE, OrderSide.BUY
    started = time.perf_counter()
    for delta in deltas:
        action = delta.action
        if action == clear:
            bids.clear()
            asks.clear()
            continue
        levels = bids if delta.side == buy else asks
        if action == delete:
            levels.pop(delta.price, None)
        else:
            levels[delta.price] = delta.size
    return time.perf_counter() - started, bids, asks


def fastest_book(deltas: list[BookDelta], repeat: int, increment: Decimal | None) -> tuple[
        float, OrderBook]:
    best = float("inf")
    book = OrderBook(INSTRUMENT_ID, price_increment=increment)
    for _ in range(repeat):
        book = OrderBook(INSTRUMENT_ID, price_increment=increment)
        best = min(best, apply_all(book, deltas))
    return best, book


def measure(count: int, levels: int, repeat: int) -> dict[str, float | int | bool]:
    deltas = make_deltas(count, levels)
    book_seconds, book = fastest_book(deltas, repeat, TICK)
    bare_seconds = float("inf")
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    for _ in range(repeat):
        seconds, bids, asks = bare_loop(deltas)
        bare_seconds = min(bare_seconds, seconds)
    statistics = book.statistics()
    same = (
        book.levels(OrderSide.BUY) == sorted(bids.items(), reverse=True)
        and book.levels(OrderSide.SELL) == sorted(asks.items())
        and statistics.deltas_applied == len(deltas)
        and not statistics.stale
    )
    figures: dict[str, float | int | bool] = {
        "book_deltas": len(deltas),
        "book_levels_per_side": levels,
        "book_deltas_per_second": round(len(deltas) / book_seconds),
        "book_bare_loop_deltas_per_second": round(len(deltas) / bare_seconds),
        "book_ratio_to_bare_loop": round(book_seconds / bare_seconds, 2),
        "book_matches_bare_loop": same,
    }
    del deltas
    for depth in (100, 10_000):
        scaled = make_deltas(count, depth)
        seconds, _ = fastest_book(scaled, repeat, TICK)
        figures[f"book_deltas_per_second_{depth}_levels"] = round(len(scaled) / seconds)
    floats = make_deltas(count, levels)
    seconds, _ = fastest_book(floats, repeat, None)
    figures["book_deltas_per_second_float_keys"] = round(len(floats) / seconds)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=500_000)
    parser.add_argument("--levels", type=int, default=1_000, help="levels per side")
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    figures = measure(arguments.deltas, arguments.levels, arguments.repeat)
    width = max(len(key) for key in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value:,}" if not isinstance(value, bool) else
              f"{key:<{width}}  {'yes' if value else 'NO'}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
