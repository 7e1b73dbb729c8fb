"""The local process pool under Ctrl-C: workers outlive it, the parent ends them."""

from __future__ import annotations

import os
import signal
import time

import pytest

from api.research.executors import ProcessExecutor, _ready


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def worker_pid(pool: ProcessExecutor) -> int:
    return int(pool._pool.submit(_ready).result(timeout=60))


def test_an_idle_worker_ignores_ctrl_c_so_the_pool_stays_usable() -> None:
    # Ctrl-C reaches the whole process group. A worker that died of it broke the pool,
    # and the study raised BrokenProcessPool instead of stopping as interrupted.
    with ProcessExecutor(1) as pool:
        pid = worker_pid(pool)

        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + 1.0
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)

        assert alive(pid)
        assert worker_pid(pool) == pid


def test_leaving_on_an_error_ends_a_worker_busy_with_a_trial() -> None:
    with pytest.raises(KeyboardInterrupt), ProcessExecutor(1) as pool:
        pid = worker_pid(pool)
        busy = pool._pool.submit(time.sleep, 120)
        while not busy.running():  # handed to the worker: no longer cancellable
            time.sleep(0.01)
        raise KeyboardInterrupt

    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(pid)
