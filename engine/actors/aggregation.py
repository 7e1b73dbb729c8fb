"""Time-bar aggregation: build bars of a longer timeframe from shorter bars or trades.

Windows are aligned to the epoch: a 5m bar covers [k·5m, (k+1)·5m) and its `ts_event`
is the window's end. A source bar belongs to the window that contains its *open*
(its `ts_event` is its close, so the window is the one ending at or after that close).
A window is emitted as soon as it is known complete: for bars, when the source bar
closing exactly on the boundary arrives; for trades, at the boundary by a timer. Either
way, data arriving past the boundary (after a gap) closes the open window first, so a
missing source bar never merges two windows.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.events.market import Bar, BarType

__all__ = ("TimeBarBuilder",)


class TimeBarBuilder:
    """Accumulate OHLCV for one target bar type; emit finished bars through `emit`."""

    __slots__ = (
        "_close",
        "_emit",
        "_end",
        "_high",
        "_low",
        "_open",
        "_step",
        "_volume",
        "bar_type",
    )

    def __init__(self, bar_type: BarType, emit: Callable[[Bar], None]) -> None:
        self.bar_type = bar_type
        self._step = bar_type.step_ns
        self._emit = emit
        self._end: int | None = None
        self._open = self._high = self._low = self._close = self._volume = 0.0

    @property
    def window_end(self) -> int | None:
        """End of the window being built, or None when nothing is pending."""
        return self._end

    def window(self) -> tuple[int, float, float, float, float, float] | None:
        """The pending window (end, open, high, low, close, volume), for a snapshot."""
        if self._end is None:
            return None
        return (self._end, self._open, self._high, self._low, self._close, self._volume)

    def restore_window(self, window: tuple[int, float, float, float, float, float] | None) -> None:
        """Take back what `window` returned."""
        if window is None:
            self._end = None
            self._open = self._high = self._low = self._close = self._volume = 0.0
            return
        self._end, self._open, self._high, self._low, self._close, self._volume = window

    def window_end_for(self, ts_ns: int, *, closing: bool) -> int:
        """End of the window holding `ts_ns`: a close time (`closing`) or an instant."""
        step = self._step
        return ((ts_ns - 1) // step + 1) * step if closing else (ts_ns // step + 1) * step

    def add(
        self, end: int, open_: float, high: float, low: float, close: float, volume: float,
        now_ns: int,
    ) -> None:
        """Fold one source observation into the window ending at `end`."""
        if self._end is not None and end != self._end:
            self.flush(now_ns)
        if self._end is None:
            self._end = end
            self._open, self._high, self._low = open_, high, low
            self._close, self._volume = close, volume
            return
        if high > self._high:
            self._high = high
        if low < self._low:
            self._low = low
        self._close = close
        self._volume += volume

    def flush(self, now_ns: int) -> None:
        """Emit the pending window, if any."""
        if self._end is None:
            return
        bar = Bar(
            bar_type=self.bar_type,
            open=self._open,
            high=self._high,
            low=self._low,
            close=self._close,
            volume=self._volume,
            ts_event=self._end,
            ts_init=max(now_ns, self._end),
        )
        self._end = None
        self._emit(bar)
