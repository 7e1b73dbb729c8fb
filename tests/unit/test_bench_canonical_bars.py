"""The benchmark makes its canonical data itself (tests/bench/canonical_bars.py), so
`make bench` works from a plain clone: byte-identical to the shared benchmark's
generator (checked where ../shared is present) and to the bundled sample."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from bench_support import load_bench

ROOT = Path(__file__).resolve().parents[2]
SHARED_GENERATOR = ROOT.parent / "shared" / "bench" / "make_bars.py"
SAMPLE = ROOT / "adapters" / "data" / "sample" / "btcusdt_1m.csv"


def generator() -> ModuleType:
    return load_bench("canonical_bars")


def made(bars: int, seed: int = 42) -> bytes:
    buffer = io.StringIO()
    generator().write_canonical_csv(buffer, bars, seed)
    return buffer.getvalue().encode()


def test_canonical_bars_first_20000_are_the_bundled_sample() -> None:
    assert made(20_000) == SAMPLE.read_bytes()


@pytest.mark.skipif(not SHARED_GENERATOR.exists(), reason="../shared/bench is not here")
@pytest.mark.parametrize(("bars", "seed"), [(3_000, 42), (1_001, 7)])
def test_canonical_bars_are_byte_identical_to_the_shared_generator(
    tmp_path: Path, bars: int, seed: int
) -> None:
    out = tmp_path / "shared.csv"
    subprocess.run([sys.executable, str(SHARED_GENERATOR), "--bars", str(bars), "--seed",
                    str(seed), "--out", str(out)], check=True)

    assert made(bars, seed) == out.read_bytes()


def test_canonical_bars_refuse_no_bars() -> None:
    with pytest.raises(ValueError, match="bars 0: must be > 0"):
        generator().canonical_columns(0)
