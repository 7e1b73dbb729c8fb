"""Instructions per bar of the canonical backtest, counted by valgrind: a figure load cannot move.

On a shared machine wall-clock rates move by tens of percent between runs; the number of
instructions the interpreter executes does not (runs of the same code agree within about
0.2%). This runs `run.py`'s `engine_run` under `valgrind --tool=callgrind` on the
canonical bars at two sizes and prints (Ir(large) - Ir(small)) / (large - small): the
cost of one more bar, start-up and loading cancelled out. `PYTHONHASHSEED=0` keeps
set and dict layouts the same between runs.

    python tests/bench/instructions.py [--small 20000] [--large 100000] [--observers]
                                       [--json out.json]

`--observers` also counts the run with what observer_bench.py attaches (the daemon's
metrics collector, its probe on the bus, an `events.#` tap drained every 65,536 bars,
a full scrape at the start and at each of those steps) and prints the overhead: the
figure behind the observers' 10% target that the machine's load cannot move (wall
rates of the same two runs moved between +7% and +37% here).

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
_OBSERVED_RUN = (
    "import json, sys\n"
    "sys.path[:0] = [{root!r}, {here!r}]\n"
    "import observer_bench, run\n"
    "from prometheus_client import generate_latest\n"
    "from api.http.metrics import metrics_registry\n"
    "def attach(graph):\n"
    "    registry = metrics_registry(observer_bench.GraphNode(graph))\n"
    "    generate_latest(registry)\n"
    "    return lambda count: generate_latest(registry)\n"
    "print(json.dumps(run.engine_run(__import__('pathlib').Path({csv!r}), with_tap=True,\n"
    "                                attach=attach)))\n"
)


def instructions(csv: Path, scratch: Path, *,
                 observed: bool = False) -> tuple[int, dict[str, object]]:
    """The instructions callgrind counted for one engine run on `csv`, and its figures."""
    template = _OBSERVED_RUN if observed else _ENGINE_RUN
    code = template.format(root=str(ROOT), here=str(HERE), csv=str(csv))
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
    parser.add_argument("--observers", action="store_true",
                        help="also count the run with the metrics collector and a tap")
    arguments = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("instructions.py needs valgrind: apt-get install valgrind")
    sys.path.insert(0, str(HERE))
    from canonical_bars import write_canonical_csv

    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        counts: dict[tuple[int, bool], int] = {}
        figures: dict[bool, dict[str, object]] = {}
        kinds = (False, True) if arguments.observers else (False,)
        for bars in (arguments.small, arguments.large):
            csv = scratch / f"bars_{bars}.csv"
            write_canonical_csv(csv, bars)
            for observed in kinds:
                counts[bars, observed], figures[observed] = instructions(
                    csv, scratch, observed=observed)

    def per_bar(observed: bool) -> int:
        return (counts[arguments.large, observed] - counts[arguments.small, observed]) // (
            arguments.large - arguments.small)

    plain = figures[False]
    result: dict[str, object] = {
        "instructions_per_bar": per_bar(False),
        f"instructions_{arguments.small}_bars": counts[arguments.small, False],
        f"instructions_{arguments.large}_bars": counts[arguments.large, False],
        "fills": plain.get("fills"), "final_equity": plain.get("final_equity")}
    if arguments.observers:
        observed = figures[True]
        result["instructions_per_bar_observed"] = per_bar(True)
        result["observer_overhead_percent"] = round(
            (per_bar(True) / per_bar(False) - 1) * 100, 1)
        result["observed_same_trades"] = int(all(
            observed.get(key) == plain.get(key) for key in ("fills", "final_equity")))
    for key, value in result.items():
        print(f"{key:<32} {value}")
    if arguments.json is not None:
        arguments.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
