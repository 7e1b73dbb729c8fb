"""Share the state, the bar protocol and the argument checks of every indicator.

Conventions every indicator in this package follows:

* ``update`` is O(1) (amortized O(1) where a monotonic deque or a periodic re-sum is
  involved) and allocates nothing on the hot path where that can be avoided.
* ``value`` (and every other output attribute) reads ``0.0`` until that output is valid,
  so strategy code never sees ``nan``; check ``initialized`` before trusting it.
* Inputs are not checked on the hot path: feed finite floats (a ``nan`` input poisons
  running state until it leaves the window, or for good in recursive averages).
* Constructor arguments are checked and raise ``ValueError`` (``TypeError`` for a
  non-integer period) instead of asserting, because asserts vanish under ``-O``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Protocol

from engine.indicators.state import IndicatorState, export_state, import_state

__all__ = (
    "RESUM_FACTOR",
    "BarLike",
    "Indicator",
    "SingleInputIndicator",
    "check_finite_non_negative",
    "check_period",
)

# Windowed running sums are recomputed exactly (math.fsum over the window) once every
# ``period * RESUM_FACTOR`` updates: adding and subtracting floats leaves rounding error
# behind (catastrophically so after a huge value leaves the window), and re-summing that
# rarely bounds the error while costing only O(1/RESUM_FACTOR) amortized per update.
RESUM_FACTOR = 64


class BarLike(Protocol):
    """Describe the OHLCV fields indicators read, so they need not import the engine's Bar.

    Members are read-only properties so that frozen structs and dataclasses match too.
    """

    @property
    def open(self) -> float: ...

    @property
    def high(self) -> float: ...

    @property
    def low(self) -> float: ...

    @property
    def close(self) -> float: ...

    @property
    def volume(self) -> float: ...


class Indicator(ABC):
    """Hold the state common to all indicators so callers can treat them uniformly.

    Attributes:
        count: updates seen since construction or the last ``reset()``.
        initialized: ``True`` once enough data arrived for ``value`` to be valid.
        value: the indicator's primary output; ``0.0`` until ``initialized``.
    """

    __slots__ = ("count", "initialized", "value")

    count: int
    initialized: bool
    value: float

    def reset(self) -> None:
        """Forget all data so the instance can be reused (e.g. for a new session)."""
        self.count = 0
        self.initialized = False
        self.value = 0.0

    @abstractmethod
    def handle_bar(self, bar: BarLike) -> None:
        """Feed one bar, so any indicator can be driven straight from a bar stream."""

    def export_state(self) -> IndicatorState:
        """The full running state as builtins, for a strategy's `on_save` (exact)."""
        return export_state(self)

    def import_state(self, state: IndicatorState) -> None:
        """Continue from `export_state`'s output (made with the same parameters)."""
        import_state(self, state)


class SingleInputIndicator(Indicator):
    """Base for indicators of one series; bars feed them their close."""

    __slots__ = ()

    @abstractmethod
    def update(self, value: float) -> None:
        """Feed the next value of the series."""

    def handle_bar(self, bar: BarLike) -> None:
        """Feed the bar's close, the conventional input of single-series indicators."""
        self.update(bar.close)


def check_period(period: int, name: str = "period") -> int:
    """Return ``period`` if it is a positive int, so windows can never be empty."""
    if isinstance(period, bool) or not isinstance(period, int):
        raise TypeError(f"{name} {period!r}: must be an int")
    if period <= 0:
        raise ValueError(f"{name} {period}: must be > 0")
    return period


def check_finite_non_negative(number: float, name: str) -> float:
    """Return ``number`` as a float if it is finite and >= 0, else raise ``ValueError``."""
    number = float(number)
    if not math.isfinite(number) or number < 0.0:
        raise ValueError(f"{name} {number!r}: must be finite and >= 0")
    return number
