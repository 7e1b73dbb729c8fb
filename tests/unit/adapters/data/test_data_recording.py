"""The recording store: exact round trips in arrival order, filters, the batching writer."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest

from adapters.data import SqliteBarStore
from adapters.data.recording import (
    AsyncRecordingStore,
    MarketData,
    RecordingSource,
    RecordingWriter,
)
from engine.actors.risk import RiskConfig
from engine.backtest import BacktestSettings, run_backtest
from engine.domain import BookAction, OrderSide
from engine.errors import DataError
from engine.events import (
    Bar,
    BarType,
    BookDelta,
    Instrument,
    QuoteTick,
    TimerFired,
    TradeTick,
    encode_msgpack,
)
from engine.graph import TradingGraph
from engine.replay import ReplaySource
from engine.testing import make_instrument, make_portfolio_config
from engine.topics import ALL_DATA

BTC = "BTC/USDT.SIM"
ETH = "ETH/USDT.SIM"
MINUTE = 60_000_000_000
T0 = 19_700 * 86_400_000_000_000
MS = 1_000_000


def bar(instrument_id: str, close_ns: int, arrived_ns: int, price: float = 100.0) -> Bar:
    return Bar(bar_type=BarType(instrument_id=instrument_id, timeframe="1m"), open=price,
               high=price + 1.5, low=price - 0.5, close=price + 0.25, volume=3.125,
               ts_event=close_ns, ts_init=arrived_ns)


def trade(instrument_id: str, ts_event: int, arrived_ns: int, price: float = 100.1) -> TradeTick:
    return TradeTick(instrument_id=instrument_id, price=price, size=0.5,
                     aggressor_side=OrderSide.BUY, trade_id=f"t{arrived_ns}",
                     ts_event=ts_event, ts_init=arrived_ns)


def quote(instrument_id: str, ts_event: int, arrived_ns: int) -> QuoteTick:
    return QuoteTick(instrument_id=instrument_id, bid_price=99.9, ask_price=100.2,
                     bid_size=1.0, ask_size=2.0, ts_event=ts_event, ts_init=arrived_ns)


def delta(instrument_id: str, ts_event: int, arrived_ns: int, action: BookAction) -> BookDelta:
    return BookDelta(instrument_id=instrument_id, side=OrderSide.SELL, action=action,
                     price=100.3, size=0.0 if action is BookAction.DELETE else 1.75,
                     sequence=arrived_ns, ts_event=ts_event, ts_init=arrived_ns)


def session_items(start_ns: int) -> list[MarketData]:
    """Every kind, two instruments, arriving in ts_init order; ts_event not in order."""
    at = start_ns
    return [
        quote(BTC, at + 1 * MS, at + 2 * MS),
        delta(BTC, at + 2 * MS, at + 3 * MS, BookAction.ADD),
        trade(ETH, at + 4 * MS, at + 5 * MS),
        trade(BTC, at + 1 * MS, at + 5 * MS),  # late print: older ts_event, same arrival
        delta(BTC, at + 5 * MS, at + 6 * MS, BookAction.DELETE),
        bar(BTC, at + MINUTE, at + MINUTE + 7 * MS),
        bar(ETH, at + MINUTE, at + MINUTE + 7 * MS),
        delta(ETH, at + MINUTE, at + MINUTE + 8 * MS, BookAction.CLEAR),
    ]


def instrument_of(item: MarketData) -> str:
    return item.bar_type.instrument_id if type(item) is Bar else item.instrument_id  # type: ignore[union-attr]


def encoded(items: Any) -> list[bytes]:
    return [encode_msgpack(item) for item in items]


async def record(path: Path, sessions: list[list[MarketData]]) -> list[int]:
    ids = []
    async with AsyncRecordingStore(path) as store:
        for index, items in enumerate(sessions):
            ids.append(await store.new_session(items[0].ts_init, note=f"run {index}"))
            await store.append_many(items)
    return ids


async def test_recording_two_sessions_round_trip_keeps_order_and_ts_init(tmp_path: Path) -> None:
    first, second = session_items(T0), session_items(T0 + 10 * MINUTE)
    path = tmp_path / "rec.sqlite"

    await record(path, [first, second])

    read = list(RecordingSource(path))
    assert encoded(read) == encoded(first + second)
    assert [item.ts_init for item in read] == [item.ts_init for item in first + second]


async def test_recording_source_filters_by_session_and_instrument(tmp_path: Path) -> None:
    first, second = session_items(T0), session_items(T0 + 10 * MINUTE)
    path = tmp_path / "rec.sqlite"
    one, two = await record(path, [first, second])

    only_two = list(RecordingSource(path, session=two))
    only_eth = list(RecordingSource(path, instrument_ids=[ETH]))
    one_btc = list(RecordingSource(path, session=one, instrument_ids=[BTC]))
    nothing = list(RecordingSource(path, instrument_ids=[]))

    assert encoded(only_two) == encoded(second)
    assert encoded(only_eth) == encoded(i for i in first + second if instrument_of(i) == ETH)
    assert encoded(one_btc) == encoded(i for i in first if instrument_of(i) == BTC)
    assert len(only_eth) == 6
    assert nothing == []


async def test_recording_sessions_summarize_each_run(tmp_path: Path) -> None:
    first, second = session_items(T0), session_items(T0 + 10 * MINUTE)
    path = tmp_path / "rec.sqlite"
    one, two = await record(path, [first, second])
    async with AsyncRecordingStore(path) as store:
        empty = await store.new_session(T0 + 20 * MINUTE)
        counts = (await store.count(), await store.count(one), await store.count(empty))

    sessions = RecordingSource(path).sessions()

    assert [(s.session, s.note, s.items) for s in sessions] == [
        (one, "run 0", 8), (two, "run 1", 8), (empty, "", 0)
    ]
    assert (sessions[0].first_ts_init, sessions[0].last_ts_init) == (
        first[0].ts_init, first[-1].ts_init
    )
    assert (sessions[2].started_ns, sessions[2].first_ts_init) == (T0 + 20 * MINUTE, None)
    assert counts == (16, 8, 0)


async def test_recording_replayed_as_backtest_yields_same_items_in_order(tmp_path: Path) -> None:
    first, second = session_items(T0), session_items(T0 + 10 * MINUTE)
    path = tmp_path / "rec.sqlite"
    await record(path, [first, second])
    seen: list[Any] = []

    def observe(graph: TradingGraph) -> None:
        graph.bus.subscribe(ALL_DATA, lambda m: None if type(m) is Instrument else seen.append(m))

    eth = make_instrument(instrument_id=ETH, symbol="ETH/USDT", base_currency="ETH")
    result = run_backtest(
        settings=BacktestSettings(), instruments=[make_instrument(), eth],
        sources=[ReplaySource(RecordingSource(path))], bar_types=[], venues=[], strategies=[],
        portfolio=make_portfolio_config(), risk=RiskConfig(), observe=observe,
    )

    assert encoded(seen) == encoded(first + second)
    assert result.items_processed == 16
    assert result.end_ns == second[-1].ts_init


async def test_recording_source_overlapping_sessions_raises_data_error(tmp_path: Path) -> None:
    path = tmp_path / "rec.sqlite"
    one, _ = await record(path, [session_items(T0 + MINUTE), session_items(T0)])

    with pytest.raises(DataError, match="before the previous item"):
        list(RecordingSource(path))
    assert len(list(RecordingSource(path, session=one))) == 8


async def test_recording_store_append_without_session_raises(tmp_path: Path) -> None:
    async with AsyncRecordingStore(tmp_path / "rec.sqlite") as store:
        with pytest.raises(RuntimeError, match="no session"):
            await store.append_many(session_items(T0))


async def test_recording_store_non_market_data_writes_nothing(tmp_path: Path) -> None:
    timer = TimerFired(name="x", owner="y", ts_event=T0, ts_init=T0)
    async with AsyncRecordingStore(tmp_path / "rec.sqlite") as store:
        await store.new_session(T0)

        with pytest.raises(TypeError, match="TimerFired: not market data"):
            await store.append_many([*session_items(T0), timer])  # type: ignore[list-item]

        assert await store.count() == 0


async def test_recording_shares_a_file_with_the_bar_store(tmp_path: Path) -> None:
    path = tmp_path / "data.sqlite"
    bars = [bar(BTC, T0 + MINUTE, T0 + MINUTE)]
    with SqliteBarStore(path) as bar_store:
        bar_store.write_bars(bars)

    await record(path, [session_items(T0)])

    with SqliteBarStore(path, read_only=True) as bar_store:
        assert encoded(bar_store.read_bars(bars[0].bar_type)) == encoded(bars)
    assert encoded(RecordingSource(path)) == encoded(session_items(T0))


def test_recording_source_missing_or_foreign_file_raises(tmp_path: Path) -> None:
    foreign = tmp_path / "other.sqlite"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.close()

    with pytest.raises(FileNotFoundError):
        list(RecordingSource(tmp_path / "missing.sqlite"))
    with pytest.raises(DataError, match="not a recording"):
        list(RecordingSource(foreign))


async def test_recording_writer_batches_and_flushes_on_cancel(tmp_path: Path) -> None:
    items = session_items(T0) + session_items(T0 + 10 * MINUTE)
    path = tmp_path / "rec.sqlite"
    async with AsyncRecordingStore(path) as store:
        await store.new_session(T0)
        writer = RecordingWriter(store, batch_size=5, flush_interval=60.0)
        async with anyio.create_task_group() as group:
            await group.start(writer.run)
            for item in items[:12]:
                writer.append(item)
            await writer.flush()
            flushed = await store.count()
            for item in items[12:]:
                writer.append(item)
            group.cancel_scope.cancel()  # the last 4 wait for the interval: cancel writes them

        assert flushed == 12
        assert await store.count() == 16
    statistics = writer.statistics()

    assert encoded(RecordingSource(path)) == encoded(items)
    assert (statistics.appended, statistics.written, statistics.pending) == (16, 16, 0)
    assert statistics.dropped == 0


class SignallingStore:
    """The real store, announcing each batch it wrote."""

    def __init__(self, store: AsyncRecordingStore) -> None:
        self.store = store
        self.wrote = anyio.Event()

    async def append_many(self, items: Sequence[MarketData]) -> None:
        await self.store.append_many(items)
        self.wrote.set()


async def test_recording_writer_full_batch_writes_without_waiting(tmp_path: Path) -> None:
    items = session_items(T0)
    async with AsyncRecordingStore(tmp_path / "rec.sqlite") as store:
        await store.new_session(T0)
        signalling = SignallingStore(store)
        writer = RecordingWriter(signalling, batch_size=len(items), flush_interval=3600.0)  # type: ignore[arg-type]
        async with anyio.create_task_group() as group:
            await group.start(writer.run)

            for item in items:
                writer.append(item)
            with anyio.fail_after(10):  # the interval is an hour: only a full batch writes
                await signalling.wrote.wait()
            group.cancel_scope.cancel()

        assert await store.count() == len(items)
    assert (writer.statistics().written, writer.statistics().batches) == (len(items), 1)


async def test_recording_writer_over_max_pending_drops_and_counts(tmp_path: Path) -> None:
    items = session_items(T0)
    async with AsyncRecordingStore(tmp_path / "rec.sqlite") as store:
        await store.new_session(T0)
        writer = RecordingWriter(store, max_pending=3)

        for item in items:
            writer.append(item)
        await writer.flush()

        assert await store.count() == 3
    assert (writer.statistics().written, writer.statistics().dropped) == (3, 5)


# -- aligning with the journal after a crash -------------------------------------------


async def align(path: Path, journaled: list[MarketData]) -> Any:
    async with AsyncRecordingStore(path) as store:
        return await store.align_to(journaled, batch=3)


async def test_recording_align_appends_what_the_journal_holds_and_it_lacks(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.sqlite"
    journaled = session_items(T0) + session_items(T0 + 2 * MINUTE)
    await record(path, [journaled[:3]])  # killed before the rest was written
    aligned = await align(path, journaled)
    assert (aligned.dropped, aligned.appended, aligned.foreign) == (0, 13, False)
    assert encoded(RecordingSource(path)) == encoded(journaled)
    assert len(RecordingSource(path).sessions()) == 1  # topped up in the session it was
    assert (await align(path, journaled)).appended == 0  # idempotent


async def test_recording_align_drops_rows_the_journal_lost(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    items = session_items(T0)
    await record(path, [items[:2], items[2:]])  # the journal committed only five of them
    aligned = await align(path, items[:5])
    assert (aligned.dropped, aligned.appended) == (3, 0)
    assert encoded(RecordingSource(path)) == encoded(items[:5])


async def test_recording_align_of_an_empty_file_writes_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    items = session_items(T0)
    assert (await align(path, items)).appended == len(items)
    assert encoded(RecordingSource(path)) == encoded(items)
    assert (await align(tmp_path / "other.sqlite", [])).appended == 0


async def test_recording_align_leaves_a_foreign_recording_alone(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    await record(path, [session_items(T0)])
    aligned = await align(path, session_items(T0 + MINUTE))
    assert aligned.foreign and (aligned.dropped, aligned.appended) == (0, 0)
    assert encoded(RecordingSource(path)) == encoded(session_items(T0))
