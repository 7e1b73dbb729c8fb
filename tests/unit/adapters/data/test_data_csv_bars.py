from __future__ import annotations

import csv
import types
from itertools import islice, pairwise
from pathlib import Path

import pytest

from adapters.data import (
    CSV_HEADER,
    CsvBarSource,
    load_bars_csv,
    read_bars_csv,
    sample_bars_path,
)
from engine.errors import DataError
from engine.events import Bar, BarType, encode_msgpack

BTC_1M = BarType(instrument_id="BTC/USDT.SIM", timeframe="1m")
START_MS = 1_672_531_200_000
MINUTE_MS = 60_000
GOOD_ROWS = 5  # good rows before the bad one: it sits on line 2 + GOOD_ROWS = 7


def good_row(index: int) -> str:
    price = 100.0 + index
    prices = f"{price:.2f},{price + 2:.2f},{price - 1:.2f},{price + 1:.2f}"
    return f"{START_MS + index * MINUTE_MS},{prices},1.5"


def write_csv(
    path: Path, rows: list[str], *, newline: str = "\n", final_newline: bool = True
) -> Path:
    text = newline.join([CSV_HEADER, *rows])
    path.write_bytes((text + (newline if final_newline else "")).encode())
    return path


def reference_bars(path: Path, bar_type: BarType) -> list[Bar]:
    """Parse the slow, obvious way: csv module, int() and float() per field."""
    step_ms = bar_type.step_ns // 1_000_000
    with open(path, newline="") as file:
        reader = csv.reader(file)
        next(reader)
        return [
            Bar(
                ts_event=(int(ts) + step_ms) * 1_000_000,
                ts_init=(int(ts) + step_ms) * 1_000_000,
                bar_type=bar_type,
                open=float(open_),
                high=float(high),
                low=float(low),
                close=float(close),
                volume=float(volume),
            )
            for ts, open_, high, low, close, volume in reader
        ]


def encoded(bars: list[Bar]) -> list[bytes]:
    return [encode_msgpack(bar) for bar in bars]


def test_sample_bars_path_points_at_20000_bars() -> None:
    path = sample_bars_path()

    bars = list(read_bars_csv(path, BTC_1M))

    assert path.is_file()
    assert len(bars) == 20_000
    assert bars[0].ts_event == (START_MS + MINUTE_MS) * 1_000_000
    assert bars[0].ts_init == bars[0].ts_event
    assert bars[0].bar_type == BTC_1M


def test_read_bars_csv_sample_equals_reference_parse_exactly() -> None:
    path = sample_bars_path()

    bars = list(read_bars_csv(path, BTC_1M))

    assert encoded(bars) == encoded(reference_bars(path, BTC_1M))


def test_load_bars_csv_sample_equals_streamed_bars_exactly() -> None:
    path = sample_bars_path()

    columns = load_bars_csv(path, BTC_1M)

    assert len(columns) == 20_000
    assert columns.nbytes == 48 * 20_000
    assert encoded(list(columns.iter_bars())) == encoded(list(read_bars_csv(path, BTC_1M)))


@pytest.mark.parametrize("chunk_rows", [1, 7, 4096])
def test_read_bars_csv_any_chunk_size_gives_the_same_bars(chunk_rows: int) -> None:
    path = sample_bars_path()

    bars = list(islice(read_bars_csv(path, BTC_1M, chunk_rows=chunk_rows), 3000))

    assert encoded(bars) == encoded(reference_bars(path, BTC_1M)[:3000])


def test_read_bars_csv_event_time_is_open_time_plus_timeframe(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bars.csv", [good_row(0)])
    five_minutes = BarType(instrument_id="BTC/USDT.SIM", timeframe="5m")

    [bar] = read_bars_csv(path, five_minutes)

    assert bar.ts_event == bar.ts_init == (START_MS + 5 * MINUTE_MS) * 1_000_000
    assert bar.bar_type == five_minutes


def test_read_bars_csv_crlf_without_final_newline_is_read(tmp_path: Path) -> None:
    rows = [good_row(index) for index in range(3)]
    plain = write_csv(tmp_path / "plain.csv", rows)
    windows = write_csv(tmp_path / "windows.csv", rows, newline="\r\n", final_newline=False)

    assert encoded(list(read_bars_csv(windows, BTC_1M))) == encoded(
        list(read_bars_csv(plain, BTC_1M))
    )


def test_read_bars_csv_numbers_json_rejects_are_still_parsed(tmp_path: Path) -> None:
    # "101." and "+1.5" are valid Python floats but not JSON numbers: the row-by-row path
    # must accept them and give the same floats.
    row = f"{START_MS},100.,102.00,99.00,101,+1.5"
    path = write_csv(tmp_path / "bars.csv", [row])

    [bar] = read_bars_csv(path, BTC_1M)

    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (100.0, 102.0, 99.0, 101.0, 1.5)
    assert isinstance(bar.close, float)


BAD_ROWS = [
    ("too_few_fields", f"{START_MS + 9 * MINUTE_MS},1,2,0.5,1", "row has 5 fields"),
    ("too_many_fields", f"{START_MS + 9 * MINUTE_MS},1,2,0.5,1,1,7", "row has 7 fields"),
    ("blank_line", "", "row has 1 fields"),
    ("ts_not_a_number", "yesterday,1,2,0.5,1,1", "ts 'yesterday': not an integer"),
    ("ts_with_a_fraction", f"{START_MS + 9 * MINUTE_MS}.5,1,2,0.5,1,1", "not an integer"),
    ("open_not_a_number", f"{START_MS + 9 * MINUTE_MS},abc,2,0.5,1,1", "open 'abc': not a number"),
    ("close_null", f"{START_MS + 9 * MINUTE_MS},1,2,0.5,null,1", "close 'null': not a number"),
    ("volume_true", f"{START_MS + 9 * MINUTE_MS},1,2,0.5,1,true", "volume 'true': not a number"),
    ("high_nan", f"{START_MS + 9 * MINUTE_MS},1,nan,0.5,1,1", "high 'nan': not a finite number"),
    ("volume_inf", f"{START_MS + 9 * MINUTE_MS},1,2,0.5,1,inf", "volume 'inf': not a finite"),
    ("high_below_close", f"{START_MS + 9 * MINUTE_MS},1,2,0.5,2.5,1", "high 2.0: below max"),
    ("high_below_open", f"{START_MS + 9 * MINUTE_MS},3,2,0.5,1,1", "high 2.0: below max"),
    ("low_above_open", f"{START_MS + 9 * MINUTE_MS},1,2,1.5,1.8,1", "low 1.5: above min"),
    ("low_zero", f"{START_MS + 9 * MINUTE_MS},1,2,0,1,1", "low 0.0: must be positive"),
    ("volume_negative", f"{START_MS + 9 * MINUTE_MS},1,2,0.5,1,-0.1", "volume -0.1: must not"),
    ("ts_repeated", f"{START_MS + 4 * MINUTE_MS},1,2,0.5,1,1", "must be strictly increasing"),
    ("ts_going_back", f"{START_MS},1,2,0.5,1,1", f"ts {START_MS}: not after the previous"),
    ("ts_overflows", "9300000000000,1,2,0.5,1,1", "does not fit 64 bits"),
]


@pytest.mark.parametrize("chunk_rows", [3, 65_536])
@pytest.mark.parametrize(
    ("row", "reason"),
    [pytest.param(row, reason, id=name) for name, row, reason in BAD_ROWS],
)
def test_read_bars_csv_bad_row_raises_data_error_on_its_line(
    tmp_path: Path, row: str, reason: str, chunk_rows: int
) -> None:
    rows = [good_row(index) for index in range(GOOD_ROWS)]
    rows += [row, *(good_row(index) for index in range(10, 14))]
    path = write_csv(tmp_path / "bars.csv", rows)

    with pytest.raises(DataError) as raised:
        list(read_bars_csv(path, BTC_1M, chunk_rows=chunk_rows))

    assert raised.value.line == 2 + GOOD_ROWS
    assert raised.value.source == str(path)
    assert reason in raised.value.reason


def test_read_bars_csv_out_of_order_across_chunks_names_the_later_line(tmp_path: Path) -> None:
    rows = [good_row(index) for index in range(10)]
    rows[6], rows[7] = rows[7], rows[6]  # line 9 goes back in time
    path = write_csv(tmp_path / "bars.csv", rows)

    with pytest.raises(DataError) as raised:
        list(read_bars_csv(path, BTC_1M, chunk_rows=7))

    assert raised.value.line == 9
    assert "strictly increasing" in raised.value.reason


def test_read_bars_csv_first_bad_row_wins_over_later_ones(tmp_path: Path) -> None:
    rows = [good_row(index) for index in range(8)]
    rows[5] = f"{START_MS + 5 * MINUTE_MS},1,2,0.5,1"  # line 7
    rows[2] = f"{START_MS + 2 * MINUTE_MS},1,2,0.5,1,-1"  # line 4
    path = write_csv(tmp_path / "bars.csv", rows)

    with pytest.raises(DataError) as raised:
        list(read_bars_csv(path, BTC_1M))

    assert raised.value.line == 4


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "header an empty file"),
        (b"time,open,high,low,close,volume\n", "header 'time,open,high,low,close,volume'"),
        (good_row(0).encode() + b"\n", "expected 'ts,open,high,low,close,volume'"),
    ],
    ids=["empty_file", "wrong_names", "no_header"],
)
def test_read_bars_csv_bad_header_raises_data_error_on_line_1(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "bars.csv"
    path.write_bytes(content)

    with pytest.raises(DataError) as raised:
        list(read_bars_csv(path, BTC_1M))

    assert raised.value.line == 1
    assert reason in raised.value.reason


def test_read_bars_csv_header_only_yields_nothing(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bars.csv", [])

    assert list(read_bars_csv(path, BTC_1M)) == []
    assert len(load_bars_csv(path, BTC_1M)) == 0


def test_read_bars_csv_streams_without_reading_past_what_is_asked(tmp_path: Path) -> None:
    rows = [good_row(index) for index in range(200)] + ["not,a,valid,row"]
    path = write_csv(tmp_path / "bars.csv", rows)

    bars = read_bars_csv(path, BTC_1M, chunk_rows=50)
    first = list(islice(bars, 10))

    assert isinstance(bars, types.GeneratorType)
    assert len(first) == 10
    with pytest.raises(DataError) as raised:
        list(bars)
    assert raised.value.line == 202


def test_load_bars_csv_bad_row_raises_data_error_on_its_line(tmp_path: Path) -> None:
    rows = [good_row(index) for index in range(30)]
    rows[20] = rows[20].replace(",1.5", ",-1.5")
    path = write_csv(tmp_path / "bars.csv", rows)

    with pytest.raises(DataError) as raised:
        load_bars_csv(path, BTC_1M, chunk_rows=8)

    assert raised.value.line == 22


def test_read_bars_csv_non_positive_chunk_rows_raises_value_error() -> None:
    with pytest.raises(ValueError, match="chunk_rows 0"):
        next(read_bars_csv(sample_bars_path(), BTC_1M, chunk_rows=0))


def test_csv_bar_source_iterates_the_file_each_time() -> None:
    source = CsvBarSource(sample_bars_path(), BTC_1M, chunk_rows=1000)

    first = list(source)
    second = list(source)

    assert len(first) == 20_000
    assert encoded(first) == encoded(second)
    assert all(earlier.ts_init < later.ts_init for earlier, later in pairwise(first))
