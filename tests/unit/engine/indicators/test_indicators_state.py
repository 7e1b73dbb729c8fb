"""export_state/import_state: a restored indicator continues exactly as one that never
stopped (the state through msgpack, as a strategy's on_save/on_load carries it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings, strategies as st

from engine.indicators import (
    AverageTrueRange,
    BollingerBands,
    CrossOver,
    ExponentialMovingAverage,
    MovingAverageConvergenceDivergence,
    RateOfChange,
    RelativeStrengthIndex,
    RollingVwap,
    SimpleMovingAverage,
    Stochastic,
    VolumeWeightedAveragePrice,
    WeightedMovingAverage,
)
from engine.testing import make_bar

FACTORIES: dict[str, Callable[[], Any]] = {
    "sma": lambda: SimpleMovingAverage(5), "ema": lambda: ExponentialMovingAverage(4),
    "wma": lambda: WeightedMovingAverage(4), "rsi": lambda: RelativeStrengthIndex(3),
    "macd": lambda: MovingAverageConvergenceDivergence(3, 6, 2),
    "roc": lambda: RateOfChange(3), "bands": lambda: BollingerBands(4, 2.0),
    "atr": lambda: AverageTrueRange(3), "stochastic": lambda: Stochastic(4, 2),
    "vwap": VolumeWeightedAveragePrice, "rolling_vwap": lambda: RollingVwap(3),
}
PRICES = st.lists(st.floats(min_value=1.0, max_value=1e6, allow_nan=False), max_size=60)


def feed(indicator: Any, prices: list[float], start: int = 0) -> None:
    for index, price in enumerate(prices, start=start):
        indicator.handle_bar(make_bar(price, ts_event=index + 1, high=price * 1.01,
                                      low=price * 0.99, volume=1.0 + index % 3))


def through_msgpack(state: Any) -> Any:
    return msgspec.msgpack.decode(msgspec.msgpack.encode(state))


@pytest.mark.parametrize("name", sorted(FACTORIES))
@settings(max_examples=40, deadline=None)
@given(before=PRICES, after=PRICES)
def test_restored_indicator_continues_as_the_uninterrupted_one(
    name: str, before: list[float], after: list[float]
) -> None:
    uninterrupted, stopped, restored = (FACTORIES[name]() for _ in range(3))
    feed(uninterrupted, before + after)
    feed(stopped, before)
    restored.import_state(through_msgpack(stopped.export_state()))
    feed(restored, after, start=len(before))
    assert restored.export_state() == uninterrupted.export_state()
    assert (restored.value, restored.initialized) == (uninterrupted.value,
                                                      uninterrupted.initialized)


@settings(max_examples=40, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(-5, 5), st.integers(-5, 5)), max_size=40),
       split=st.integers(0, 40))
def test_restored_cross_continues_as_the_uninterrupted_one(
    pairs: list[tuple[int, int]], split: int
) -> None:
    uninterrupted, stopped, restored = CrossOver(), CrossOver(), CrossOver()
    for fast, slow in pairs:
        uninterrupted.update(fast, slow)
    for fast, slow in pairs[:split]:
        stopped.update(fast, slow)
    restored.import_state(through_msgpack(stopped.export_state()))
    for fast, slow in pairs[split:]:
        restored.update(fast, slow)
    assert restored.export_state() == uninterrupted.export_state()


def test_a_state_of_other_parameters_is_refused() -> None:
    with pytest.raises(ValueError, match="period 5, but this one has 6"):
        SimpleMovingAverage(6).import_state(SimpleMovingAverage(5).export_state())
