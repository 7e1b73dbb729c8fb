"""Export an indicator's full running state as plain builtins, and import it back exactly.

A strategy carries its indicators across a graceful daemon restart through `on_save` /
`on_load` (engine/strategy.py), which encodes what `on_save` returns with msgpack: the
state must be builtins, and must come back bit for bit (floats are kept as IEEE doubles,
windows in order), so that the restored indicator then updates exactly as one that never
stopped. One generic walk over the slots serves every indicator in this package: each
keeps all its state in `__slots__` (numbers, flags, deques of numbers, inner indicators).

The state is imported into an indicator made with the same parameters (the strategy's
`on_start` makes it from its config); a state of other parameters is refused, because
its windows would not fit.
"""

from __future__ import annotations

from collections import deque
from typing import Any

__all__ = ("IndicatorState", "export_state", "import_state")

IndicatorState = dict[str, Any]
"""An indicator's slots by name: numbers, bools, lists (its windows), inner states."""

_SCALARS = (bool, int, float, str, type(None))


def export_state(indicator: object) -> IndicatorState:
    """Return every slot of `indicator` as builtins (deques become lists)."""
    return {name: _export(getattr(indicator, name)) for name in _slot_names(indicator)
            if hasattr(indicator, name)}


def import_state(indicator: object, state: IndicatorState) -> None:
    """Set `indicator`'s slots from `state` (what `export_state` returned, maybe decoded).

    Raises:
        ValueError: `state` is not of this indicator (other slots, other parameters).
    """
    names = [name for name in _slot_names(indicator) if hasattr(indicator, name)]
    kind = type(indicator).__name__
    if not isinstance(state, dict) or sorted(state) != sorted(names):
        found = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{kind} state: expected the fields {sorted(names)}, got {found}")
    for name in names:
        current = getattr(indicator, name)
        saved = state[name]
        if _is_parameter(name) and saved != current:
            raise ValueError(f"{kind} state: {name} {saved!r}, but this one has {current!r}")
        if isinstance(current, deque):
            setattr(indicator, name, deque(saved, maxlen=current.maxlen))
        elif isinstance(current, _SCALARS):
            setattr(indicator, name, saved)
        else:  # an inner indicator (MACD's averages, a band's deviation)
            import_state(current, saved)


def _export(value: object) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, deque | list | tuple):
        return [_export(item) for item in value]
    if _slot_names(value):
        return export_state(value)
    raise TypeError(f"indicator state: cannot export a {type(value).__name__}")


def _slot_names(indicator: object) -> list[str]:
    """Every slot along the class's MRO, in a fixed order (base classes first)."""
    names: list[str] = []
    for cls in reversed(type(indicator).__mro__):
        slots = cls.__dict__.get("__slots__", ())
        names.extend([slots] if isinstance(slots, str) else slots)
    return names


def _is_parameter(name: str) -> bool:
    """Slots set from constructor arguments: a state made with others is refused."""
    return name.endswith("period") or name in {"tolerance", "alpha"}
