"""`read_candles` on a small recording: native bars, folded windows, gaps, the forming one."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.data import AsyncRecordingStore
from api.http.candles import Candle, CandleQuery, read_candles
from engine.errors import DataError
from engine.events import Bar, BarType, QuoteTick

INSTRUMENT = "BTC/USDT.SIM"
MINUTE = 60_000_000_000


def bar(minute: int, close: float, *, instrument_id: str = INSTRUMENT,
        timeframe: str = "1m") -> Bar:
    ts = minute * MINUTE
    return Bar(bar_type=BarType(instrument_id=instrument_id, timeframe=timeframe),
               open=close - 1, high=close + 2, low=close - 3, close=close, volume=1.0,
               ts_event=ts, ts_init=ts)


async def record(path: Path, items: list[Bar | QuoteTick]) -> Path:
    async with AsyncRecordingStore(path) as store:
        await store.new_session(0)
        await store.append_many(items)
    return path


def query(**overrides: object) -> CandleQuery:
    fields: dict[str, object] = {"instrument_id": INSTRUMENT, "timeframe": "1m",
                                 "source_timeframe": "1m", "limit": 100, **overrides}
    return CandleQuery(**fields)  # type: ignore[arg-type]


def closes(candles: list[Candle]) -> list[tuple[int, float]]:
    return [(c.ts_event // MINUTE, c.close) for c in candles]


async def test_native_bars_skip_other_instruments_timeframes_and_kinds(tmp_path: Path) -> None:
    quote = QuoteTick(instrument_id=INSTRUMENT, bid_price=1.0, ask_price=2.0, bid_size=1.0,
                      ask_size=1.0, ts_event=MINUTE, ts_init=MINUTE)
    path = await record(tmp_path / "r.sqlite", [
        bar(1, 10), quote, bar(1, 99, instrument_id="ETH/USDT.SIM"), bar(2, 20), bar(3, 30),
        bar(5, 50, timeframe="5m")])

    read = read_candles(path, query())

    assert closes(read.items) == [(1, 10), (2, 20), (3, 30)] and not read.more


async def test_forward_page_from_start_says_more_and_a_cursor_continues(
        tmp_path: Path) -> None:
    path = await record(tmp_path / "r.sqlite", [bar(m, m * 10) for m in range(1, 8)])

    first = read_candles(path, query(start=2 * MINUTE, limit=3))
    second = read_candles(path, query(after=first.items[-1].ts_event, limit=3))

    assert closes(first.items) == [(2, 20), (3, 30), (4, 40)] and first.more
    assert closes(second.items) == [(5, 50), (6, 60), (7, 70)] and not second.more


async def test_latest_mode_keeps_the_last_limit_before_end(tmp_path: Path) -> None:
    path = await record(tmp_path / "r.sqlite", [bar(m, m * 10) for m in range(1, 8)])

    read = read_candles(path, query(limit=2, end=6 * MINUTE))

    assert closes(read.items) == [(4, 40), (5, 50)] and not read.more


async def test_windows_fold_bars_and_leave_out_the_forming_one(tmp_path: Path) -> None:
    # 5m windows ending at 5, 10, 15: minutes 1-5 complete, 6-8 then a gap (closed by
    # minute 11), 11-13 still forming at the end of the file.
    minutes = [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13]
    path = await record(tmp_path / "r.sqlite", [bar(m, m * 10.0) for m in minutes])

    read = read_candles(path, query(timeframe="5m"))

    assert [c.ts_event // MINUTE for c in read.items] == [5, 10]
    first, second = read.items
    assert (first.open, first.high, first.low, first.close, first.volume) == (
        9.0, 52.0, 7.0, 50.0, 5.0)
    assert (second.open, second.close, second.volume) == (59.0, 80.0, 3.0)


async def test_an_end_inside_the_data_closes_the_window_before_it(tmp_path: Path) -> None:
    path = await record(tmp_path / "r.sqlite", [bar(m, m * 10.0) for m in (1, 2, 3, 6, 7)])

    read = read_candles(path, query(timeframe="5m", end=10 * MINUTE))

    assert [c.ts_event // MINUTE for c in read.items] == [5]


def test_no_recording_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_candles(tmp_path / "missing.sqlite", query())


def test_a_file_that_is_no_recording_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"not sqlite at all" * 100)

    with pytest.raises(DataError):
        read_candles(path, query())
