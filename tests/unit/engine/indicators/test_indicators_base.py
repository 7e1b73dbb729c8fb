"""Check the conventions every indicator shares: warm-up state, reset, bars, arguments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from engine.indicators import (
    AverageTrueRange,
    BollingerBands,
    CrossOver,
    ExponentialMovingAverage,
    Indicator,
    MovingAverageConvergenceDivergence,
    RateOfChange,
    RelativeStrengthIndex,
    RollingVwap,
    SimpleMovingAverage,
    SingleInputIndicator,
    Stochastic,
    VolumeWeightedAveragePrice,
    WeightedMovingAverage,
)
from engine.indicators.base import BarLike, check_finite_non_negative, check_period


@dataclass(frozen=True, slots=True)
class Bar:
    """Stand in for the engine's Bar struct: read-only float OHLCV attributes."""

    open: float
    high: float
    low: float
    close: float
    volume: float


def make_bars(seed: int, count: int) -> list[Bar]:
    """Build a seeded random-walk bar series with positive prices and volumes."""
    rng = np.random.default_rng(seed)
    closes = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, count)))
    opens = np.concatenate(([100.0], closes[:-1]))
    highs = np.maximum(opens, closes) + rng.exponential(0.3, count)
    lows = np.minimum(opens, closes) - rng.exponential(0.3, count)
    volumes = rng.integers(0, 1000, count).astype(float)
    return [
        Bar(float(o), float(h), float(low), float(c), float(v))
        for o, h, low, c, v in zip(opens, highs, lows, closes, volumes, strict=True)
    ]


FACTORIES: dict[str, Callable[[], Indicator]] = {
    "sma": lambda: SimpleMovingAverage(5),
    "ema": lambda: ExponentialMovingAverage(5),
    "wma": lambda: WeightedMovingAverage(5),
    "rsi": lambda: RelativeStrengthIndex(5),
    "macd": lambda: MovingAverageConvergenceDivergence(3, 6, 4),
    "roc": lambda: RateOfChange(5),
    "stochastic": lambda: Stochastic(5, 3),
    "bollinger": lambda: BollingerBands(5, 2.0),
    "atr": lambda: AverageTrueRange(5),
    "vwap": VolumeWeightedAveragePrice,
    "rolling_vwap": lambda: RollingVwap(5),
}


def snapshot(indicator: object) -> dict[str, object]:
    """Read every public slot so whole indicator states can be compared."""
    names = [
        name
        for klass in type(indicator).__mro__
        for name in getattr(klass, "__slots__", ())
        if not name.startswith("_")
    ]
    return {name: getattr(indicator, name) for name in names}


def outputs(indicator: Indicator, bars: list[Bar]) -> list[dict[str, object]]:
    """Feed bars one by one and snapshot the state after each."""
    states = []
    for bar in bars:
        indicator.handle_bar(bar)
        states.append(snapshot(indicator))
    return states


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_indicator_fresh_state_is_uninitialized_and_zero(name: str) -> None:
    indicator = FACTORIES[name]()
    assert indicator.count == 0
    assert indicator.initialized is False
    assert indicator.value == 0.0


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_indicator_reset_after_data_behaves_like_fresh_instance(name: str) -> None:
    bars = make_bars(1, 200)
    used = FACTORIES[name]()
    outputs(used, make_bars(2, 77))
    used.reset()
    assert snapshot(used) == snapshot(FACTORIES[name]())
    assert outputs(used, bars) == outputs(FACTORIES[name](), bars)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_indicator_slots_no_instance_dict(name: str) -> None:
    with pytest.raises(AttributeError):
        FACTORIES[name]().unexpected = 1.0  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_indicator_long_series_values_stay_finite(name: str) -> None:
    indicator = FACTORIES[name]()
    for bar in make_bars(3, 2000):
        indicator.handle_bar(bar)
        assert np.isfinite(indicator.value)
    assert indicator.count == 2000
    assert indicator.initialized


@pytest.mark.parametrize(
    "factory",
    [
        lambda: SimpleMovingAverage(5),
        lambda: ExponentialMovingAverage(5),
        lambda: WeightedMovingAverage(5),
        lambda: RelativeStrengthIndex(5),
        lambda: MovingAverageConvergenceDivergence(3, 6, 4),
        lambda: RateOfChange(5),
        lambda: BollingerBands(5),
    ],
)
def test_single_input_handle_bar_feeds_close(factory: Callable[[], SingleInputIndicator]) -> None:
    by_bar = factory()
    by_value = factory()
    for bar in make_bars(4, 100):
        by_bar.handle_bar(bar)
        by_value.update(bar.close)
        assert snapshot(by_bar) == snapshot(by_value)


def test_bar_like_frozen_dataclass_matches_protocol() -> None:
    bar: BarLike = Bar(1.0, 2.0, 0.5, 1.5, 10.0)
    assert bar.close == 1.5


@pytest.mark.parametrize(
    "constructor",
    [
        SimpleMovingAverage,
        ExponentialMovingAverage,
        WeightedMovingAverage,
        RelativeStrengthIndex,
        RateOfChange,
        BollingerBands,
        AverageTrueRange,
        RollingVwap,
        lambda period: Stochastic(period, 3),
        lambda period: Stochastic(14, period),
        lambda period: MovingAverageConvergenceDivergence(12, 26, period),
    ],
)
@pytest.mark.parametrize("period", [0, -1])
def test_period_not_positive_raises_value_error(
    constructor: Callable[[int], object], period: int
) -> None:
    with pytest.raises(ValueError, match=f"{period}: must be > 0"):
        constructor(period)


@pytest.mark.parametrize("period", [2.5, True, "3"])
def test_check_period_not_int_raises_type_error(period: object) -> None:
    with pytest.raises(TypeError, match="must be an int"):
        check_period(period)  # type: ignore[arg-type]


def test_check_period_zero_message_names_argument() -> None:
    with pytest.raises(ValueError, match=r"^period 0: must be > 0$"):
        check_period(0)


@pytest.mark.parametrize("number", [-0.1, float("nan"), float("inf")])
def test_check_finite_non_negative_bad_number_raises_value_error(number: float) -> None:
    with pytest.raises(ValueError, match="must be finite and >= 0"):
        check_finite_non_negative(number, "k")


@pytest.mark.parametrize("tolerance", [-1e-9, float("nan")])
def test_cross_over_bad_tolerance_raises_value_error(tolerance: float) -> None:
    with pytest.raises(ValueError, match="tolerance"):
        CrossOver(tolerance)
