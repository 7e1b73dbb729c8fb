"""One process per data dir: the lock refuses a second holder by name, survives nothing
but its process (kill -9 frees it), and reports an unwritable folder as storage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import InstanceLocked, StorageFailure
from engine.runtime import LOCK_FILE, InstanceLock, read_holder


def test_a_second_lock_on_one_data_dir_is_refused_naming_the_holder(tmp_path: Path) -> None:
    with InstanceLock(tmp_path / "data", command="tradebus run") as first:
        holder = read_holder(tmp_path / "data")
        with pytest.raises(InstanceLocked) as refused:
            InstanceLock(tmp_path / "data", command="tradebus record").acquire()

    assert first.held is False  # released by the with block
    assert holder is not None and holder.pid == os.getpid()
    assert holder.command == "tradebus run"
    assert f"pid {os.getpid()}" in str(refused.value)
    assert f"kill -TERM {os.getpid()}" in refused.value.advice
    assert refused.value.exit_code == 12


def test_the_lock_is_free_again_once_released(tmp_path: Path) -> None:
    lock = InstanceLock(tmp_path, command="tradebus run")
    lock.acquire()
    lock.release()

    with InstanceLock(tmp_path, command="tradebus record") as again:
        holder = read_holder(tmp_path)

    assert again.command == "tradebus record"
    assert holder is not None and holder.command == "tradebus record"


def test_a_holder_killed_with_sigkill_leaves_no_stale_lock(tmp_path: Path) -> None:
    holder_code = (
        "import sys, time\n"
        "from engine.runtime import InstanceLock\n"
        f"InstanceLock({str(tmp_path)!r}, command='tradebus run').acquire()\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n"
    )
    root = Path(__file__).resolve().parents[4]
    process = subprocess.Popen([sys.executable, "-c", holder_code], stdout=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONPATH": str(root)})
    assert process.stdout is not None
    try:
        assert process.stdout.readline().strip() == "held"
        with pytest.raises(InstanceLocked, match=f"pid {process.pid}"):
            InstanceLock(tmp_path, command="tradebus run").acquire()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        process.stdout.close()

    with InstanceLock(tmp_path, command="tradebus run"):
        taken = read_holder(tmp_path)

    # The file still named the dead holder; the lock itself was free.
    assert taken is not None and taken.pid == os.getpid()


def test_a_data_dir_that_cannot_be_made_is_a_storage_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")

    with pytest.raises(StorageFailure) as failed:
        InstanceLock(blocker / "data", command="tradebus run").acquire()

    assert str(blocker / "data") in str(failed.value)
    assert failed.value.exit_code == 13


def test_a_lock_file_that_is_not_json_names_no_holder(tmp_path: Path) -> None:
    (tmp_path / LOCK_FILE).write_text("garbage")

    assert read_holder(tmp_path) is None
    with InstanceLock(tmp_path, command="tradebus run"):
        assert read_holder(tmp_path) is not None
