"""The research subcommands' hook into `tradebus`: parsers, and no heavy imports for others."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.cli import main

ROOT = Path(__file__).resolve().parents[4]


def test_tradebus_without_a_research_command_imports_no_research_stack() -> None:
    probe = ("import sys, api.cli; print(sorted(m for m in ('optuna', 'dask', 'plotly', "
             "'scipy', 'distributed') if m in sys.modules))")

    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)

    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("command", ["optimize", "walk-forward", "validate", "stress",
                                     "portfolio"])
def test_research_command_help_lists_the_executor_options(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])

    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert all(option in text for option in ("--executor", "--workers", "--address",
                                             "--output-dir"))


def test_research_command_missing_file_exits_2(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["optimize", str(tmp_path / "nope.toml"), "--progress", "never"])

    assert code == 2
    assert "cannot read the file" in capsys.readouterr().err


def test_ctrl_c_lost_in_a_finalizer_is_raised_again_at_the_next_check() -> None:
    from api.research.cli import CtrlC

    # Python's own handler, whatever this process inherited: a runner that started the
    # suite in the background has SIGINT ignored, which CtrlC rightly leaves ignored.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        before = signal.getsignal(signal.SIGINT)
        with CtrlC() as ctrl_c:
            ctrl_c.check()  # not pressed: nothing
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)  # the handler raises during the sleep
            except KeyboardInterrupt:
                pass  # what the interpreter does to one raised inside a __del__

            with pytest.raises(KeyboardInterrupt):
                ctrl_c.check()
        assert signal.getsignal(signal.SIGINT) is before
    finally:
        signal.signal(signal.SIGINT, inherited)


def test_ctrl_c_ignored_by_the_parent_stays_ignored() -> None:
    from api.research.cli import CtrlC

    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with CtrlC():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
