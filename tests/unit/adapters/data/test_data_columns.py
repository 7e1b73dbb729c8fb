from __future__ import annotations

import types
from array import array
from itertools import islice

import msgspec
import pytest

from adapters.data import BarColumns
from engine.events import Bar, BarType, encode_msgpack

BTC_1M = BarType(instrument_id="BTC/USDT.SIM", timeframe="1m")
ETH_1M = BarType(instrument_id="ETH/USDT.SIM", timeframe="1m")
MINUTE_NS = 60_000_000_000


def make_bars(bar_type: BarType, count: int, *, init_delay_ns: int = 0) -> list[Bar]:
    return [
        Bar(
            ts_event=(index + 1) * MINUTE_NS,
            ts_init=(index + 1) * MINUTE_NS + init_delay_ns,
            bar_type=bar_type,
            open=100.0 + index,
            high=101.5 + index,
            low=99.25 + index,
            close=100.5 + index,
            volume=0.1 * index,
        )
        for index in range(count)
    ]


def encoded(bars: list[Bar]) -> list[bytes]:
    return [encode_msgpack(bar) for bar in bars]


def test_bar_columns_from_bars_round_trips_bars_exactly() -> None:
    bars = make_bars(BTC_1M, 50)

    columns = BarColumns.from_bars(BTC_1M, bars)

    assert encoded(list(columns.iter_bars())) == encoded(bars)
    assert len(columns) == 50


def test_bar_columns_with_equal_init_times_holds_48_bytes_a_bar() -> None:
    columns = BarColumns.from_bars(BTC_1M, make_bars(BTC_1M, 1000))

    assert columns.ts_init is None
    assert columns.nbytes == 48 * 1000


def test_bar_columns_with_own_init_times_keeps_them() -> None:
    bars = make_bars(BTC_1M, 20, init_delay_ns=5)

    columns = BarColumns.from_bars(BTC_1M, bars)

    assert columns.ts_init is not None
    assert encoded(list(columns)) == encoded(bars)


def test_bar_columns_iter_bars_is_a_lazy_generator() -> None:
    columns = BarColumns.from_bars(BTC_1M, make_bars(BTC_1M, 200_000))

    bars = columns.iter_bars()
    first = list(islice(bars, 10))

    assert isinstance(bars, types.GeneratorType)
    assert [bar.ts_event for bar in first] == [(index + 1) * MINUTE_NS for index in range(10)]
    assert next(bars).ts_event == 11 * MINUTE_NS


def test_bar_columns_from_bars_of_another_type_raises_value_error() -> None:
    with pytest.raises(ValueError, match="ETH/USDT.SIM@1m"):
        BarColumns.from_bars(BTC_1M, make_bars(ETH_1M, 1))


def test_bar_columns_with_unequal_column_lengths_raises_value_error() -> None:
    with pytest.raises(ValueError, match="column lengths"):
        BarColumns(BTC_1M, ts_event=array("q", [1, 2]), open=array("d", [1.0]))


def test_bar_columns_extend_appends_after_own_bars() -> None:
    bars = make_bars(BTC_1M, 30)
    columns = BarColumns.from_bars(BTC_1M, bars[:10])

    columns.extend(BarColumns.from_bars(BTC_1M, bars[10:]))

    assert encoded(list(columns)) == encoded(bars)


def test_bar_columns_extend_with_own_init_times_keeps_both_kinds() -> None:
    plain = make_bars(BTC_1M, 10)
    delayed = [
        msgspec.structs.replace(
            bar, ts_event=bar.ts_event + 10 * MINUTE_NS, ts_init=bar.ts_event + 10 * MINUTE_NS + 7
        )
        for bar in plain
    ]
    columns = BarColumns.from_bars(BTC_1M, plain)

    columns.extend(BarColumns.from_bars(BTC_1M, delayed))

    assert encoded(list(columns)) == encoded(plain + delayed)


def test_bar_columns_extend_with_another_type_raises_value_error() -> None:
    columns = BarColumns(BTC_1M)

    with pytest.raises(ValueError, match="ETH/USDT.SIM@1m"):
        columns.extend(BarColumns(ETH_1M))

