"""Bars of one bar type held as typed columns, for "load once, replay fast" backtests.

A million `Bar` structs cost ~150 MB and a Python object each; six `array` columns cost
48 bytes a bar and nothing for the garbage collector to walk. `iter_bars` makes the
structs lazily, one per step, and drops them as the consumer moves on.

Measured on the benchmark machine (200,000 bars, best of 7): a per-row generator of
keyword-constructed `Bar`s over `zip` of the arrays costs ~150 ns a bar consumed; building
a list per chunk first costs ~190-320 ns (the list keeps every struct alive until the
chunk ends); decoding a msgpack chunk with a prebuilt `Decoder(list[Bar])` ~770 ns (a
new `BarType` per bar); `msgspec.convert` ~940 ns. Hence the per-row generator.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator

from engine.events import Bar, BarType

__all__ = ("BarColumns",)


class BarColumns:
    """Hold the bars of one bar type as `array` columns: `ts_event` ('q') and OHLCV ('d').

    `ts_init` is `None` when every bar has `ts_init == ts_event` (recorded and CSV data),
    which keeps the common case at six columns; bars recorded live keep their own column.
    The arrays are public for fast column-wise reads; append through `extend` or
    `from_bars` so the columns stay the same length.
    """

    __slots__ = ("bar_type", "close", "high", "low", "open", "ts_event", "ts_init", "volume")

    def __init__(
        self,
        bar_type: BarType,
        *,
        ts_event: array[int] | None = None,
        open: array[float] | None = None,
        high: array[float] | None = None,
        low: array[float] | None = None,
        close: array[float] | None = None,
        volume: array[float] | None = None,
        ts_init: array[int] | None = None,
    ) -> None:
        self.bar_type = bar_type
        self.ts_event: array[int] = array("q") if ts_event is None else ts_event
        self.open: array[float] = array("d") if open is None else open
        self.high: array[float] = array("d") if high is None else high
        self.low: array[float] = array("d") if low is None else low
        self.close: array[float] = array("d") if close is None else close
        self.volume: array[float] = array("d") if volume is None else volume
        self.ts_init: array[int] | None = ts_init
        lengths = {len(column) for column in self._columns()}
        if len(lengths) > 1:
            raise ValueError(f"column lengths {sorted(lengths)}: all columns must be equal")

    @classmethod
    def from_bars(cls, bar_type: BarType, bars: Iterable[Bar]) -> BarColumns:
        """Pack `bars` (all of `bar_type`) into columns; raise ValueError on another type."""
        ts_event: array[int] = array("q")
        ts_init: array[int] = array("q")
        opens: array[float] = array("d")
        highs: array[float] = array("d")
        lows: array[float] = array("d")
        closes: array[float] = array("d")
        volumes: array[float] = array("d")
        for bar in bars:
            if bar.bar_type != bar_type:
                raise ValueError(f"bar type {bar.bar_type}: these columns hold {bar_type}")
            ts_event.append(bar.ts_event)
            ts_init.append(bar.ts_init)
            opens.append(bar.open)
            highs.append(bar.high)
            lows.append(bar.low)
            closes.append(bar.close)
            volumes.append(bar.volume)
        return cls(
            bar_type,
            ts_event=ts_event,
            open=opens,
            high=highs,
            low=lows,
            close=closes,
            volume=volumes,
            ts_init=None if ts_init == ts_event else ts_init,
        )

    def extend(self, other: BarColumns) -> None:
        """Append `other`'s bars (same bar type) after this one's."""
        if other.bar_type != self.bar_type:
            raise ValueError(f"bar type {other.bar_type}: these columns hold {self.bar_type}")
        if self.ts_init is not None or other.ts_init is not None:
            own_init = self.ts_event if self.ts_init is None else self.ts_init
            other_init = other.ts_event if other.ts_init is None else other.ts_init
            self.ts_init = own_init + other_init
        self.ts_event.extend(other.ts_event)
        self.open.extend(other.open)
        self.high.extend(other.high)
        self.low.extend(other.low)
        self.close.extend(other.close)
        self.volume.extend(other.volume)

    def iter_bars(self) -> Iterator[Bar]:
        """Yield the bars in column order, making each `Bar` only when it is asked for."""
        if self.ts_init is None:
            return _bars_at_event_time(
                self.bar_type, self.ts_event, self.open, self.high, self.low, self.close,
                self.volume,
            )
        return _bars_with_init_time(
            self.bar_type, self.ts_event, self.ts_init, self.open, self.high, self.low,
            self.close, self.volume,
        )

    def __iter__(self) -> Iterator[Bar]:
        return self.iter_bars()

    def __len__(self) -> int:
        return len(self.ts_event)

    @property
    def nbytes(self) -> int:
        """Bytes held by the column buffers (not counting over-allocation)."""
        return sum(len(column) * column.itemsize for column in self._columns())

    def __repr__(self) -> str:
        return f"BarColumns({self.bar_type}, bars={len(self)})"

    def _columns(self) -> list[array[int] | array[float]]:
        columns: list[array[int] | array[float]] = [
            self.ts_event, self.open, self.high, self.low, self.close, self.volume,
        ]
        if self.ts_init is not None:
            columns.append(self.ts_init)
        return columns


# The two generators below are the hot path of a replayed backtest: every name they use is
# a local (the defaults bind `Bar` once) and there is one `Bar(...)` call per row; zip is not
# strict because the constructor checked the lengths (strict costs ~8 ns a bar).
def _bars_at_event_time(
    bar_type: BarType,
    ts_event: array[int],
    opens: array[float],
    highs: array[float],
    lows: array[float],
    closes: array[float],
    volumes: array[float],
    bar: type[Bar] = Bar,
) -> Iterator[Bar]:
    for ts, open_, high, low, close, volume in zip(
        ts_event, opens, highs, lows, closes, volumes, strict=False,
    ):
        yield bar(
            ts_event=ts, ts_init=ts, bar_type=bar_type,
            open=open_, high=high, low=low, close=close, volume=volume,
        )


def _bars_with_init_time(
    bar_type: BarType,
    ts_event: array[int],
    ts_init: array[int],
    opens: array[float],
    highs: array[float],
    lows: array[float],
    closes: array[float],
    volumes: array[float],
    bar: type[Bar] = Bar,
) -> Iterator[Bar]:
    for ts, init, open_, high, low, close, volume in zip(
        ts_event, ts_init, opens, highs, lows, closes, volumes, strict=False,
    ):
        yield bar(
            ts_event=ts, ts_init=init, bar_type=bar_type,
            open=open_, high=high, low=low, close=close, volume=volume,
        )
