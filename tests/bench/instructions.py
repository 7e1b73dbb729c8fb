"""Instructions per bar of the canonical backtest, counted by valgrind: a figure load cannot move.

On a shared machine wall-clock rates move by tens of percent between runs; the number of
instructions the interpreter executes does not (runs of the same code agree within about
0.2%). This runs `run.py`'s `engine_run` under `valgrind --tool=callgrind` on the
canonical bars at two sizes and prints (Ir(large) - Ir(small)) / (large - small): the
cost of one more bar, start-up and loading cancelled out. `PYTHONHASHSEED=0` keeps
set and dict layouts the same between runs.

    python tests/bench/instructions.py [--small 20000] [--large 100000] [--json out.json]

Needs valgrind (`apt-get install valgrind`); a measurement, never a test. Compare two
commits by running it in a checkout of each.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

_ENGINE_RUN = (
    "import json, sys\n"
    "sys.path[:0] = [{root!r}, {here!r}]\n"
    "import run\n"
    "print(json.dumps(run.engine_run(__import__('pathlib').Path({csv!r}))))\n"
)


def instructions(csv: Path, scratch: Path) -> tuple[int, dict[str, object]]:
    """The instructions callgrind counted for one engine run on `csv`, and its figures."""
    code = _ENGINE_RUN.format(root=str(ROOT), here=str(HERE), csv=str(csv))
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={scratch / 'callgrind.out'}",
         sys.executable, "-c", code],
        capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"})
    collected = re.search(r"Collected : (\d+)", done.stderr)
    if collected is None:
        raise RuntimeError(f"valgrind printed no instruction count:\n{done.stderr[-2000:]}")
    figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return int(collected.group(1)), figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=20_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    arguments = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("instructions.py needs valgrind: apt-get install valgrind")
    sys.path.insert(0, str(HERE))
    from canonical_bars import write_canonical_csv

    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        counts: dict[int, int] = {}
        figures: dict[str, object] = {}
        for bars in (arguments.small, arguments.large):
            csv = scratch / f"bars_{bars}.csv"
            write_canonical_csv(csv, bars)
            counts[bars], figures = instructions(csv, scratch)
    per_bar = (counts[arguments.large] - counts[arguments.small]) // (
        arguments.large - arguments.small)
    result = {"instructions_per_bar": per_bar,
              f"instructions_{arguments.small}_bars": counts[arguments.small],
              f"instructions_{arguments.large}_bars": counts[arguments.large],
              "fills": figures.get("fills"), "final_equity": figures.get("final_equity")}
    for key, value in result.items():
        print(f"{key:<28} {value}")
    if arguments.json is not None:
        arguments.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
