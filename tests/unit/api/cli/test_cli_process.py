"""Signals from process start: a first SIGTERM/SIGINT is remembered before the loop runs and
handed to the node once it does; a second one exits at once with 130; the handlers the
process had before come back when the command ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import anyio.lowlevel

from api.cli.process import StopSignals, debug_requested

ROOT = Path(__file__).resolve().parents[4]


def test_a_signal_before_the_loop_is_remembered_then_handed_to_stop() -> None:
    stops: list[str] = []

    async def attach_then_wait(signals: StopSignals) -> None:
        signals.attach(lambda: stops.append("stop"))
        # The delivery was scheduled on the loop before this yield.
        await anyio.lowlevel.checkpoint()

    with StopSignals().installed() as signals:
        os.kill(os.getpid(), signal.SIGTERM)
        requested = signals.requested
        anyio.run(attach_then_wait, signals)

    assert requested == "SIGTERM"
    assert stops == ["stop"]


def test_a_signal_while_the_loop_runs_reaches_stop_on_the_loop() -> None:
    stops: list[str] = []

    async def main(signals: StopSignals) -> None:
        with anyio.fail_after(10):
            stopped = anyio.Event()
            signals.attach(stopped.set)
            os.kill(os.getpid(), signal.SIGINT)
            await stopped.wait()
            stops.append("stop")

    with StopSignals().installed() as signals:
        anyio.run(main, signals)

    assert signals.requested == "SIGINT"
    assert stops == ["stop"]


def test_the_previous_handlers_come_back_after_the_command() -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)

    with StopSignals().installed():
        during = signal.getsignal(signal.SIGTERM)

    assert during not in before
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_a_second_signal_exits_at_once_with_130() -> None:
    code = (
        "import os, signal, time\n"
        "from api.cli.process import StopSignals\n"
        "with StopSignals().installed():\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(0.01)\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(30)\n"
        "print('not reached')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)

    assert done.returncode == 130
    assert "not reached" not in done.stdout


def test_debug_is_the_flag_or_the_environment() -> None:
    assert debug_requested(True, {})
    assert debug_requested(False, {"TRADEBUS_DEBUG": "1"})
    assert not debug_requested(False, {"TRADEBUS_DEBUG": "0"})
    assert not debug_requested(False, {"TRADEBUS_DEBUG": "false"})
    assert not debug_requested(False, {})
