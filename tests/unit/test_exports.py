"""Public API guards, after anyio's tests/test_all_attributes.py.

A package's `__init__` is its public API: its `__all__` is a tuple of names that exist.
In engine, every module with an `__all__` lists exactly what it exports: each name
there can be imported, and each public class or function it defines is listed.
Modules and packages without an `__all__` are not checked here.
"""

from __future__ import annotations

import importlib
import pkgutil
from inspect import isclass
from pathlib import Path
from types import FunctionType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("engine", "adapters", "strategies", "api")


def walk(package: str) -> list[str]:
    """Every module and package name under `package`, itself included, sorted."""
    root = importlib.import_module(package)
    names = [package]
    names += [info.name for info in pkgutil.walk_packages(root.__path__, f"{package}.")]
    return sorted(names)


def packages_with_init() -> list[str]:
    names = []
    for package in PACKAGES:
        for init in sorted((ROOT / package).rglob("__init__.py")):
            names.append(".".join(init.parent.relative_to(ROOT).parts))
    return names


def defines_all(name: str) -> bool:
    return hasattr(importlib.import_module(name), "__all__")


@pytest.mark.parametrize("name", [n for n in packages_with_init() if defines_all(n)])
def test_exports_package_all_is_tuple_of_existing_names(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert isinstance(exported, tuple), f"{name}.__all__ is not a tuple"
    missing = [attr for attr in exported if not hasattr(module, attr)]
    assert missing == [], f"{name}.__all__ names what it does not define"
    assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"


@pytest.mark.parametrize("name", [n for n in walk("engine") if n != "engine" and defines_all(n)])
def test_exports_engine_module_all_names_are_importable_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert isinstance(exported, tuple), f"{name}.__all__ is not a tuple"
    missing = [attr for attr in exported if not hasattr(module, attr)]
    assert missing == [], f"{name}.__all__ names what cannot be imported from it"
    defined = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and (isclass(value) or isinstance(value, FunctionType))
        and value.__module__ == name
    }
    assert sorted(defined - set(exported)) == [], f"public names missing from {name}.__all__"
