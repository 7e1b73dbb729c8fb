"""`make run` stopped with Ctrl-C: the daemon stops gracefully (its exit code is 0), and
make, which gets the same SIGINT from the terminal, reports its own interrupt (130).
The README says exactly that; this test keeps it true.

The Makefile's `run` recipe runs as written, with `BIN` pointing at a `tradebus` shim
that runs this worktree's code (the venv step is marked done with `-o`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def shim(folder: Path) -> Path:
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    script = bin_dir / "tradebus"
    script.write_text(f"#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m api.cli \"$@\"\n")
    script.chmod(0o755)
    return bin_dir


@pytest.mark.skipif(subprocess.run(["which", "make"], capture_output=True).returncode != 0,
                    reason="no make")
def test_make_run_ctrl_c_stops_the_daemon_gracefully_and_make_reports_130(
    tmp_path: Path,
) -> None:
    bin_dir = shim(tmp_path)
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("TRADEBUS__")}
    environment["TRADEBUS__API__PORT"] = "0"  # a free port: 8000 may be taken
    environment["TRADEBUS__RUNTIME__LOG_FORMAT"] = '"json"'
    stamp = tmp_path / "venv" / ".installed-stamp"
    process = subprocess.Popen(
        ["make", "-s", "-f", str(ROOT / "Makefile"), "run", f"BIN={bin_dir}",
         f"VENV={tmp_path / 'venv'}", "-o", str(stamp)],
        cwd=tmp_path, env=environment, start_new_session=True,
        # As from a terminal's shell: SIGINT at its default. A runner started in the
        # background may pass it on ignored, and make then never reports the interrupt.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stderr=subprocess.PIPE, text=True,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    while "running" not in (line := process.stderr.readline()):
        assert line and time.monotonic() < deadline, "the daemon never started"

    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    _, rest = process.communicate(timeout=60)

    assert '"session 1 stopped"' in rest  # the daemon's graceful stop ran to its end
    assert process.returncode == -signal.SIGINT  # make's own: a shell shows 130
    readme = (ROOT / "README.md").read_text()
    assert "make` itself then exits 130" in readme
