"""docs/reference/indicators.md documents every indicator's constructor and `update` as
the code has them (issue 14: the constructors were undocumented)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import engine.indicators as indicators

DOC = (Path(__file__).resolve().parents[2] / "docs" / "reference" / "indicators.md").read_text()
BASES = {"BarLike", "Indicator", "SingleInputIndicator"}
CLASSES = [name for name in indicators.__all__ if name not in BASES]


def call_text(name: str, function: object) -> str:
    """`Name(a, b=1)`: the signature without self, annotations or the return type."""
    parameters = list(inspect.signature(function).parameters.values())[1:]  # type: ignore[arg-type]
    shown = [p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
             for p in parameters]
    return f"{name}({', '.join(shown)})"


@pytest.mark.parametrize("name", CLASSES)
def test_indicator_constructor_and_update_are_documented(name: str) -> None:
    cls = getattr(indicators, name)

    row = next((line for line in DOC.splitlines() if line.startswith(f"| `{name}` |")), None)

    assert row is not None, f"{name}: no row in docs/reference/indicators.md"
    assert f"`{call_text(name, cls.__init__)}`" in row
    assert f"`{call_text('update', cls.update)}`" in row
