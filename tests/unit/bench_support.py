"""What the benchmark's smoke tests share: the scripts of tests/bench/, loaded as modules
or run as the benchmark runs them (a child process printing one JSON line)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "tests" / "bench"


def load_bench(name: str) -> ModuleType:
    """tests/bench/<name>.py as a module (its functions run in this process)."""
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_bench(script: str, *arguments: str) -> dict[str, Any]:
    """Run tests/bench/<script> in a child; the figures its last line prints."""
    done = subprocess.run([sys.executable, str(BENCH / script), *arguments],
                          capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    figures: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return figures
