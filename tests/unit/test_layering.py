"""Guards on the dependency direction and on determinism, read from the source with `ast`.

`engine` imports nothing from adapters, api or strategies, and reads no wall clock,
randomness or uuid4 outside engine/clock.py. Adapters and strategies never import api;
strategies and adapters never import each other. Nothing imports tests.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("engine", "adapters", "strategies", "api")
FORBIDDEN_IMPORTS: dict[str, frozenset[str]] = {
    "engine": frozenset({"adapters", "api", "strategies", "tests"}),
    "adapters": frozenset({"api", "strategies", "tests"}),
    "strategies": frozenset({"api", "adapters", "tests"}),
    "api": frozenset({"tests"}),
}
CLOCK_MODULE = ROOT / "engine" / "clock.py"


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Yield (line, absolute module name) for every import, relative ones resolved."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield node.lineno, name
            for alias in node.names:  # `from x import y` may import the module x.y
                yield node.lineno, f"{name}.{alias.name}"


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def all_files() -> list[Path]:
    return [path for package in PACKAGES for path in python_files(package)]


@pytest.mark.parametrize("path", all_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_layering_imports_follow_dependency_direction(path: Path) -> None:
    package = path.relative_to(ROOT).parts[0]
    forbidden = FORBIDDEN_IMPORTS[package]
    violations = [
        f"{path.relative_to(ROOT)}:{line}: {package} imports {name}"
        for line, name in imported_modules(path, parse(path))
        if name.split(".")[0] in forbidden
    ]
    assert violations == []


_WALL_CLOCK_ATTRIBUTES = {("time", "time"), ("time", "time_ns"), ("datetime", "now"),
                          ("datetime", "utcnow"), ("datetime", "today"), ("date", "today")}


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def nondeterminism(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Yield (line, what) for wall-clock reads, randomness and uuid4 in `tree`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            owner = _dotted(node.value)
            last = owner.rsplit(".", 1)[-1] if owner else None
            if last is not None and (last, node.attr) in _WALL_CLOCK_ATTRIBUTES:
                yield node.lineno, f"{owner}.{node.attr}"
            elif owner == "random":
                yield node.lineno, f"random.{node.attr}"
            elif node.attr == "uuid4":
                yield node.lineno, f"{owner}.uuid4"
        elif isinstance(node, ast.Name) and node.id == "uuid4":
            yield node.lineno, "uuid4"
        elif isinstance(node, ast.ImportFrom) and node.module in {"random", "time", "uuid"}:
            for alias in node.names:
                if node.module == "random" or alias.name in {"time", "time_ns", "uuid4"}:
                    yield node.lineno, f"from {node.module} import {alias.name}"


@pytest.mark.parametrize(
    "path",
    [p for p in python_files("engine") if p != CLOCK_MODULE],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_layering_engine_reads_no_wall_clock_or_randomness(path: Path) -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in nondeterminism(parse(path))
    ]
    assert found == []


def test_layering_clock_module_is_the_one_wall_clock_reader() -> None:
    assert [what for _, what in nondeterminism(parse(CLOCK_MODULE))] == ["time.time_ns"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import time\ntime.time()", ["time.time"]),
        ("import time\ntime.time_ns()", ["time.time_ns"]),
        ("from datetime import datetime\ndatetime.now()", ["datetime.now"]),
        ("import datetime\ndatetime.datetime.utcnow()", ["datetime.datetime.utcnow"]),
        ("import random\nrandom.random()", ["random.random"]),
        ("from random import choice", ["from random import choice"]),
        ("import uuid\nuuid.uuid4()", ["uuid.uuid4"]),
        ("from uuid import uuid4\nuuid4()", ["uuid4", "from uuid import uuid4"]),
        ("import time\ntime.monotonic_ns()\nrng = __import__('x').Random(1)", []),
    ],
)
def test_layering_nondeterminism_detector_finds_each_form(
    source: str, expected: list[str]
) -> None:
    assert sorted(what for _, what in nondeterminism(ast.parse(source))) == sorted(expected)


def test_layering_import_resolver_resolves_relative_imports() -> None:
    path = ROOT / "adapters" / "sim" / "venue.py"
    tree = ast.parse("from ..data import columns\nfrom . import fees\nfrom ...api import x\n")
    names = [name for _, name in imported_modules(path, tree)]
    assert names == ["adapters.data", "adapters.data.columns", "adapters.sim", "adapters.sim.fees",
                     "api", "api.x"]
