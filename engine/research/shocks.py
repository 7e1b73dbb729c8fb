"""Scenario shocks on bar data: a price gap and a volatility spike.

Both take OHLC columns and return new ones (volume is not touched), so the shocked bars
can be written anywhere a backtest reads bars from.

* `gap`: every price from bar `at` on is multiplied by `1 + fraction` (an overnight
  gap: -0.1 opens 10 % lower and the series carries on from there).
* `volatility_spike`: for `length` bars from `at`, each price's move away from the
  previous close is multiplied by `factor`, so returns are `factor` times as large; the
  series after the window continues with its own returns from the shocked level. The
  same increasing map is applied to the bar's open, high, low and close, so high stays
  the highest and low the lowest.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

__all__ = ("Ohlc", "gap", "volatility_spike")


class Ohlc(msgspec.Struct, frozen=True, kw_only=True):
    open: tuple[float, ...]
    high: tuple[float, ...]
    low: tuple[float, ...]
    close: tuple[float, ...]

    def __post_init__(self) -> None:
        lengths = {len(self.open), len(self.high), len(self.low), len(self.close)}
        if len(lengths) != 1:
            raise ValueError(f"column lengths {sorted(lengths)}: must be equal")

    @classmethod
    def of(cls, open: Sequence[float], high: Sequence[float], low: Sequence[float],
           close: Sequence[float]) -> Ohlc:
        return cls(open=tuple(open), high=tuple(high), low=tuple(low), close=tuple(close))


def _check_index(name: str, value: int, length: int) -> None:
    if not 0 <= value < length:
        raise ValueError(f"{name} {value}: must be a bar index in [0, {length})")


def gap(bars: Ohlc, at: int, fraction: float) -> Ohlc:
    """Multiply every price from bar `at` on by `1 + fraction`.

    Raises:
        ValueError: `at` outside the bars, or `fraction <= -1` (a non-positive price).
    """
    _check_index("at", at, len(bars.close))
    if fraction <= -1.0:
        raise ValueError(f"fraction {fraction}: must be > -1")
    scale = 1.0 + fraction

    def shift(column: tuple[float, ...]) -> tuple[float, ...]:
        return column[:at] + tuple(value * scale for value in column[at:])

    return Ohlc(open=shift(bars.open), high=shift(bars.high), low=shift(bars.low),
                close=shift(bars.close))


def volatility_spike(bars: Ohlc, at: int, length: int, factor: float) -> Ohlc:
    """Multiply the bar returns of `length` bars from `at` by `factor`.

    Raises:
        ValueError: `at` outside the bars or 0 (the first bar has no previous close), a
            non-positive length or factor, or a shock that makes a price <= 0.
    """
    count = len(bars.close)
    _check_index("at", at, count)
    if at == 0:
        raise ValueError("at 0: the spike needs a previous close")
    if length <= 0 or factor <= 0.0:
        raise ValueError(f"length {length}, factor {factor}: both must be > 0")
    columns = [list(bars.open), list(bars.high), list(bars.low), list(bars.close)]
    originals = (bars.open, bars.high, bars.low, bars.close)
    end = min(at + length, count)
    shocked_close = bars.close[at - 1]
    for index in range(at, count):
        previous = bars.close[index - 1]
        if index < end:
            for column, original in zip(columns, originals, strict=True):
                column[index] = shocked_close * (1.0 + factor * (original[index] / previous
                                                                 - 1.0))
        else:
            for column, original in zip(columns, originals, strict=True):
                column[index] = shocked_close * original[index] / previous
        if min(column[index] for column in columns) <= 0.0:
            raise ValueError(f"factor {factor}: bar {index} would have a price <= 0")
        shocked_close = columns[3][index]
    return Ohlc.of(*columns)
