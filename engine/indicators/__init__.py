"""Provide incremental, O(1)-per-update technical indicators for bar-driven strategies."""

from __future__ import annotations

from engine.indicators.base import BarLike, Indicator, SingleInputIndicator
from engine.indicators.cross import CrossOver
from engine.indicators.momentum import (
    MovingAverageConvergenceDivergence,
    RateOfChange,
    RelativeStrengthIndex,
)
from engine.indicators.moving_averages import (
    ExponentialMovingAverage,
    SimpleMovingAverage,
    WeightedMovingAverage,
)
from engine.indicators.stochastic import Stochastic
from engine.indicators.volatility import AverageTrueRange, BollingerBands
from engine.indicators.volume import RollingVwap, VolumeWeightedAveragePrice

__all__ = (
    "AverageTrueRange",
    "BarLike",
    "BollingerBands",
    "CrossOver",
    "ExponentialMovingAverage",
    "Indicator",
    "MovingAverageConvergenceDivergence",
    "RateOfChange",
    "RelativeStrengthIndex",
    "RollingVwap",
    "SimpleMovingAverage",
    "SingleInputIndicator",
    "Stochastic",
    "VolumeWeightedAveragePrice",
    "WeightedMovingAverage",
)
