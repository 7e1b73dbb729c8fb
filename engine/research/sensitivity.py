"""Parameter sensitivity: the points around an optimum whose metric makes the surface.

A good optimum sits on a plateau; a spike that falls away one step further is noise.
`neighbourhood` lists the parameter sets to backtest: a full grid of `radius` steps on
either side over the first two numeric axes (the surface a heat map shows) and a line
of steps along each further axis, every other parameter held at the optimum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

__all__ = ("Axis", "neighbourhood")


class Axis(msgspec.Struct, frozen=True, kw_only=True):
    """A numeric parameter: its bounds and the step between neighbours."""

    name: str
    low: float
    high: float
    step: float
    integer: bool = False


def _values(axis: Axis, center: float, radius: int) -> list[float | int]:
    values: list[float | int] = []
    for offset in range(-radius, radius + 1):
        value = center + offset * axis.step
        if axis.low - 1e-12 <= value <= axis.high + 1e-12:
            values.append(int(round(value)) if axis.integer else value)
    return values


def neighbourhood(center: Mapping[str, Any], axes: Sequence[Axis], *,
                  radius: int = 2) -> list[dict[str, Any]]:
    """Return the parameter sets around `center`, each once, in a fixed order.

    Raises:
        ValueError: `radius` < 1, an axis with a non-positive step, or an axis not in
            `center`.
    """
    if radius < 1:
        raise ValueError(f"radius {radius}: must be >= 1")
    for axis in axes:
        if axis.step <= 0:
            raise ValueError(f"axis {axis.name}: step {axis.step} must be > 0")
        if axis.name not in center:
            raise ValueError(f"axis {axis.name}: not a parameter of the center")
    points: list[dict[str, Any]] = []
    seen: set[tuple[tuple[str, Any], ...]] = set()

    def add(point: dict[str, Any]) -> None:
        key = tuple(sorted(point.items()))
        if key not in seen:
            seen.add(key)
            points.append(point)

    surface = list(axes[:2])
    if len(surface) == 2:
        first, second = surface
        for x in _values(first, center[first.name], radius):
            for y in _values(second, center[second.name], radius):
                add({**center, first.name: x, second.name: y})
    for axis in axes if len(surface) < 2 else axes[2:]:
        for value in _values(axis, center[axis.name], radius):
            add({**center, axis.name: value})
    return points
