from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from adapters.data import (
    AsyncSqliteBarStore,
    SqliteBarSource,
    SqliteBarStore,
    read_bars_csv,
    sample_bars_path,
)
from engine.errors import DataError
from engine.events import Bar, BarType, encode_msgpack

BTC_1M = BarType(instrument_id="BTC/USDT.SIM", timeframe="1m")
BTC_5M = BarType(instrument_id="BTC/USDT.SIM", timeframe="5m")
ETH_1M = BarType(instrument_id="ETH/USDT.SIM", timeframe="1m")
MINUTE_NS = 60_000_000_000


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def sample_bars() -> list[Bar]:
    return list(read_bars_csv(sample_bars_path(), BTC_1M))


def make_bars(bar_type: BarType, count: int, *, first: int = 1, price: float = 100.0) -> list[Bar]:
    return [
        Bar(
            ts_event=index * MINUTE_NS,
            ts_init=index * MINUTE_NS,
            bar_type=bar_type,
            open=price + index,
            high=price + index + 1.5,
            low=price + index - 0.75,
            close=price + index + 0.25,
            volume=0.1 * index,
        )
        for index in range(first, first + count)
    ]


def encoded(bars: list[Bar]) -> list[bytes]:
    return [encode_msgpack(bar) for bar in bars]


def test_sqlite_bar_store_round_trip_equals_csv_bars_exactly(
    tmp_path: Path, sample_bars: list[Bar]
) -> None:
    path = tmp_path / "bars.sqlite"
    with SqliteBarStore(path, batch_rows=3000) as store:
        written = store.write_bars(iter(sample_bars))

    with SqliteBarStore(path) as store:
        read = list(store.read_bars(BTC_1M, chunk_rows=999))

    assert written == 20_000
    assert encoded(read) == encoded(sample_bars)


def test_sqlite_bar_store_range_is_start_inclusive_end_exclusive(tmp_path: Path) -> None:
    bars = make_bars(BTC_1M, 10)  # ts_event at minutes 1..10
    with SqliteBarStore(tmp_path / "bars.sqlite") as store:
        store.write_bars(bars)

        middle = list(store.read_bars(BTC_1M, 3 * MINUTE_NS, 6 * MINUTE_NS))
        tail = list(store.read_bars(BTC_1M, start_ns=8 * MINUTE_NS))
        head = list(store.read_bars(BTC_1M, end_ns=3 * MINUTE_NS))

        assert encoded(middle) == encoded(bars[2:5])
        assert encoded(tail) == encoded(bars[7:])
        assert encoded(head) == encoded(bars[:2])
        assert store.count(BTC_1M, 3 * MINUTE_NS, 6 * MINUTE_NS) == 3
        assert store.count(BTC_1M) == 10


def test_sqlite_bar_store_bar_types_do_not_mix(tmp_path: Path) -> None:
    btc = make_bars(BTC_1M, 5)
    btc_5m = make_bars(BTC_5M, 3, price=200.0)
    eth = make_bars(ETH_1M, 4, price=10.0)
    interleaved = [bar for group in zip(btc, eth, strict=False) for bar in group]
    with SqliteBarStore(tmp_path / "bars.sqlite") as store:
        store.write_bars(interleaved + btc[4:] + btc_5m)

        assert store.bar_types() == [BTC_1M, BTC_5M, ETH_1M]
        assert encoded(list(store.read_bars(BTC_1M))) == encoded(btc)
        assert encoded(list(store.read_bars(BTC_5M))) == encoded(btc_5m)
        assert encoded(list(store.read_bars(ETH_1M))) == encoded(eth)
        assert [store.count(bar_type) for bar_type in store.bar_types()] == [5, 3, 4]


def test_sqlite_bar_store_reads_in_ts_order_whatever_the_write_order(tmp_path: Path) -> None:
    bars = make_bars(BTC_1M, 20)
    with SqliteBarStore(tmp_path / "bars.sqlite") as store:
        store.write_bars(reversed(bars))

        assert encoded(list(store.read_bars(BTC_1M))) == encoded(bars)


def test_sqlite_bar_store_unknown_bar_type_reads_nothing(tmp_path: Path) -> None:
    with SqliteBarStore(tmp_path / "bars.sqlite") as store:
        store.write_bars(make_bars(BTC_1M, 3))

        assert list(store.read_bars(ETH_1M)) == []
        assert store.count(ETH_1M) == 0


def test_sqlite_bar_store_rewriting_a_bar_replaces_it(tmp_path: Path) -> None:
    bars = make_bars(BTC_1M, 5)
    corrected = msgspec.structs.replace(bars[2], close=bars[2].close + 0.5)
    with SqliteBarStore(tmp_path / "bars.sqlite") as store:
        store.write_bars(bars)

        store.write_bars(bars)
        store.write_bars([corrected])

        assert store.count(BTC_1M) == 5
        assert encoded(list(store.read_bars(BTC_1M))) == encoded([*bars[:2], corrected, *bars[3:]])


def test_sqlite_bar_store_failed_write_rolls_everything_back(tmp_path: Path) -> None:
    def failing() -> Iterator[Bar]:
        yield from make_bars(ETH_1M, 25)
        raise RuntimeError("feed broke")

    with SqliteBarStore(tmp_path / "bars.sqlite", batch_rows=10) as store:
        with pytest.raises(RuntimeError, match="feed broke"):
            store.write_bars(failing())

        assert store.bar_types() == []
        assert store.count(ETH_1M) == 0
        assert store.write_bars(make_bars(ETH_1M, 2)) == 2
        assert store.bar_types() == [ETH_1M]
        assert store.count(ETH_1M) == 2


def test_sqlite_bar_store_keeps_init_time_apart_from_event_time(tmp_path: Path) -> None:
    bars = [
        msgspec.structs.replace(bar, ts_init=bar.ts_event + 1_234)
        for bar in make_bars(BTC_1M, 4)
    ]
    with SqliteBarStore(tmp_path / "bars.sqlite") as store:
        store.write_bars(bars)

        assert encoded(list(store.read_bars(BTC_1M))) == encoded(bars)
        assert encoded(list(store.read_columns(BTC_1M))) == encoded(bars)


def test_sqlite_bar_store_read_columns_equals_read_bars(
    tmp_path: Path, sample_bars: list[Bar]
) -> None:
    with SqliteBarStore(tmp_path / "bars.sqlite") as store:
        store.write_bars(sample_bars)

        columns = store.read_columns(BTC_1M, sample_bars[100].ts_event, sample_bars[5100].ts_event)

    assert columns.ts_init is None
    assert encoded(list(columns)) == encoded(sample_bars[100:5100])


def test_sqlite_bar_store_file_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "bars.sqlite"
    SqliteBarStore(path).close()

    connection = sqlite3.connect(path)
    try:
        [mode] = connection.execute("PRAGMA journal_mode").fetchone()
    finally:
        connection.close()

    assert mode == "wal"


def test_sqlite_bar_store_newer_schema_raises_data_error(tmp_path: Path) -> None:
    path = tmp_path / "bars.sqlite"
    SqliteBarStore(path).close()
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("UPDATE schema_version SET version = 2 WHERE component = 'bars'")
    connection.close()

    with pytest.raises(DataError, match="bar schema version 2: this tradebus reads 1"):
        SqliteBarStore(path)


def test_sqlite_bar_store_on_a_non_database_raises_data_error(tmp_path: Path) -> None:
    path = tmp_path / "bars.sqlite"
    path.write_bytes(b"ts,open,high,low,close,volume\n" * 200)

    with pytest.raises(DataError, match="not a bar store"):
        SqliteBarStore(path)


def test_sqlite_bar_store_shares_a_file_with_other_tables(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("CREATE TABLE runs (run_id INTEGER PRIMARY KEY)")
        connection.execute("PRAGMA user_version = 7")
    connection.close()

    with SqliteBarStore(path) as store:
        store.write_bars(make_bars(BTC_1M, 2))

        assert store.count(BTC_1M) == 2


def test_sqlite_bar_source_streams_a_range_read_only(
    tmp_path: Path, sample_bars: list[Bar]
) -> None:
    path = tmp_path / "bars.sqlite"
    with SqliteBarStore(path) as store:
        store.write_bars(sample_bars)
    source = SqliteBarSource(path, BTC_1M, start_ns=sample_bars[10].ts_event)

    first = list(source)
    second = list(source)

    assert encoded(first) == encoded(sample_bars[10:])
    assert encoded(second) == encoded(first)


def test_sqlite_bar_source_missing_file_raises_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "missing.sqlite"

    with pytest.raises(FileNotFoundError):
        list(SqliteBarSource(path, BTC_1M))

    assert not path.exists()


@pytest.mark.anyio
async def test_async_sqlite_bar_store_round_trip_equals_csv_bars_exactly(
    tmp_path: Path, sample_bars: list[Bar]
) -> None:
    path = tmp_path / "bars.sqlite"
    async with AsyncSqliteBarStore(path, batch_rows=4096) as store:
        written = await store.write_bars(sample_bars)

    async with AsyncSqliteBarStore(path) as store:
        read = [bar async for bar in store.read_bars(BTC_1M, chunk_rows=1000)]
        count = await store.count(BTC_1M)
        bar_types = await store.bar_types()

    assert written == 20_000
    assert count == 20_000
    assert bar_types == [BTC_1M]
    assert encoded(read) == encoded(sample_bars)


@pytest.mark.anyio
async def test_async_sqlite_bar_store_ranges_and_types_match_the_sync_store(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bars.sqlite"
    btc = make_bars(BTC_1M, 10)
    eth = make_bars(ETH_1M, 6, price=10.0)
    async with AsyncSqliteBarStore(path) as store:
        await store.write_bars(btc + eth)

        middle = [bar async for bar in store.read_bars(BTC_1M, 3 * MINUTE_NS, 6 * MINUTE_NS)]
        eth_count = await store.count(ETH_1M, end_ns=4 * MINUTE_NS)
        unknown = [bar async for bar in store.read_bars(BTC_5M)]

    with SqliteBarStore(path) as sync_store:
        assert encoded(list(sync_store.read_bars(ETH_1M))) == encoded(eth)
        assert sync_store.bar_types() == [BTC_1M, ETH_1M]
    assert encoded(middle) == encoded(btc[2:5])
    assert eth_count == 3
    assert unknown == []


@pytest.mark.anyio
async def test_async_sqlite_bar_store_failed_write_rolls_everything_back(tmp_path: Path) -> None:
    def failing() -> Iterator[Bar]:
        yield from make_bars(BTC_1M, 15)
        raise RuntimeError("feed broke")

    async with AsyncSqliteBarStore(tmp_path / "bars.sqlite", batch_rows=4) as store:
        with pytest.raises(RuntimeError, match="feed broke"):
            await store.write_bars(failing())

        assert await store.count(BTC_1M) == 0
        assert await store.bar_types() == []


@pytest.mark.anyio
async def test_async_sqlite_bar_store_used_unopened_raises_runtime_error(tmp_path: Path) -> None:
    store = AsyncSqliteBarStore(tmp_path / "bars.sqlite")

    with pytest.raises(RuntimeError, match="not open"):
        await store.count(BTC_1M)


@pytest.mark.anyio
async def test_async_sqlite_bar_store_on_a_non_database_raises_data_error(tmp_path: Path) -> None:
    path = tmp_path / "bars.sqlite"
    path.write_bytes(b"ts,open,high,low,close,volume\n" * 200)

    with pytest.raises(DataError, match="not a bar store"):
        async with AsyncSqliteBarStore(path):
            pass
