"""`tradebus run` under conditions it cannot trade through, as real processes (issue 7).

Each ends in one log line (JSON: the cause, what to do, `exit_code`) and the cause's
exit code, with no traceback unless `--debug` asks: a second daemon on a data dir in use
(12; the first keeps running), a malformed journal (10), a full disk (13, a small
tmpfs: nothing committed is lost and a restart with room recovers it), a read-only data
dir (13, a tmpfs remounted read-only; `tradebus record` too), and SIGTERM during
recovery (0, one line, the journal unchanged). The mounts need root (CAP_SYS_ADMIN):
without it those tests skip and say why.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from api.compose import DEFAULT_DAEMON_CONFIG
from engine.persistence import JournalReader

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "adapters" / "data" / "sample" / "btcusdt_1m.csv"


def write_config(folder: Path, *, data_dir: Path, speed: float = 600.0,
                 stop_when_feeds_finish: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = DEFAULT_DAEMON_CONFIG.read_text()
    for old, new in [
        ('path = "sample:btcusdt_1m.csv"', f'path = "{SAMPLE}"'),
        ("speed = 600.0", f"speed = {speed}"),
        ('data_dir = "tradebus-data"', f'data_dir = "{data_dir}"'),
        ('log_format = "auto"', 'log_format = "json"'),
        ("record = true", "record = false"),
    ]:
        assert old in text, f"edit {old!r}: not in the bundled paper config"
        text = text.replace(old, new, 1)
    if stop_when_feeds_finish:
        text = text.replace("[runtime]\n", "[runtime]\nstop_when_feeds_finish = true\n", 1)
    config = folder / "paper.toml"
    config.write_text(text)
    return config


def start(*arguments: str, cwd: Path) -> subprocess.Popen[str]:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("TRADEBUS")}
    environment["TRADEBUS__API__PORT"] = "0"
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT),
                                                              environment.get("PYTHONPATH")]))
    return subprocess.Popen([sys.executable, "-m", "api.cli", *arguments], cwd=cwd,
                            env=environment, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str]:
    try:
        _, stderr = process.communicate(timeout=timeout)
    finally:
        process.kill()
    return process.returncode, stderr


def fatal_lines(stderr: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [line for line in lines if line["level"] == "critical"]


def assert_one_fatal_line(stderr: str, code: int) -> dict[str, Any]:
    assert "Traceback" not in stderr, stderr
    fatal = fatal_lines(stderr)
    assert len(fatal) == 1, stderr
    line = fatal[0]
    assert line["exit_code"] == code and line["advice"] and "error" not in line
    print(f"exit {code}: {line['message']}")
    return line


def committed_bars(journal: Path) -> int:
    try:
        connection = sqlite3.connect(f"{journal.as_uri()}?mode=ro", uri=True, timeout=1)
        try:
            return int(connection.execute(
                "SELECT count(*) FROM journal WHERE kind = 'bar'").fetchone()[0])
        finally:
            connection.close()
    except sqlite3.OperationalError:  # no file or no table yet
        return 0


def wait_for_bars(process: subprocess.Popen[str], journal: Path, bars: int) -> int:
    deadline = time.monotonic() + 60
    while (count := committed_bars(journal)) < bars:
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "the session made no progress"
        time.sleep(0.02)
    return count


@contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A small tmpfs at `folder` (skips the test where mounting is not permitted)."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                              str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def remount(folder: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(folder)], check=True)


def test_second_daemon_on_a_data_dir_is_refused_naming_the_first(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = write_config(tmp_path, data_dir=data)
    first = start("run", str(config), cwd=tmp_path)
    try:
        before = wait_for_bars(first, data / "journal.sqlite", 200)
        second = start("run", str(config), cwd=tmp_path)
        code, stderr = finish(second)
        assert code == 12
        line = assert_one_fatal_line(stderr, 12)
        assert f"pid {first.pid}" in line["message"] and "tradebus run" in line["message"]
        after = wait_for_bars(first, data / "journal.sqlite", before + 100)
        assert first.poll() is None  # unharmed: still trading, its journal still growing
        print(f"first daemon: {before} bars committed before, {after} after the refusal")
    finally:
        first.send_signal(signal.SIGTERM)
        code, stderr = finish(first)
    assert code == 0, stderr[-2000:]
    records = list(JournalReader(data / "journal.sqlite").records())
    assert {record.session for record in records} == {1}  # the second never wrote


def test_record_into_a_data_dir_in_use_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = write_config(tmp_path, data_dir=data)
    daemon = start("run", str(config), cwd=tmp_path)
    try:
        wait_for_bars(daemon, data / "journal.sqlite", 50)
        code, stderr = finish(start("record", str(config), cwd=tmp_path))
        assert code == 12
        assert f"pid {daemon.pid}" in assert_one_fatal_line(stderr, 12)["message"]
    finally:
        daemon.send_signal(signal.SIGTERM)
        finish(daemon)


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_malformed_journal_exits_10_with_one_line(tmp_path: Path, debug: bool) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "journal.sqlite").write_bytes(b"this is not a journal\n" * 100)
    config = write_config(tmp_path, data_dir=data)
    code, stderr = finish(start("run", str(config), *(["--debug"] if debug else []),
                                cwd=tmp_path))
    assert code == 10
    if debug:
        fatal = fatal_lines(stderr)
        assert len(fatal) == 1 and "Traceback" in fatal[0]["error"]
        print("with --debug, the line carries the traceback")
    else:
        line = assert_one_fatal_line(stderr, 10)
        assert "journal" in line["message"] and line["error_type"] == "JournalDamaged"


def test_disk_full_mid_session_stops_trading_and_keeps_what_was_committed(
    tmp_path: Path,
) -> None:
    with tmpfs(tmp_path / "data", "768k") as data:
        config = write_config(tmp_path, data_dir=data, speed=240_000.0)
        journal = data / "journal.sqlite"
        code, stderr = finish(start("run", str(config), cwd=tmp_path))
        assert code == 13, stderr[-3000:]
        line = assert_one_fatal_line(stderr, 13)
        assert "disk is full" in line["message"]

        reader = JournalReader(journal)
        records = list(reader.records())
        assert reader.corruption is None
        assert [record.seq for record in records] == list(range(1, len(records) + 1))
        bars = sum(1 for record in records if record.kind == "bar")
        assert 0 < bars < 20_000  # stopped mid-stream
        print(f"disk full after {bars} bars, {len(records)} records committed, all readable")

        remount(data, "size=64m")  # room again: the restart recovers all of it
        restarted = start("run", str(config), cwd=tmp_path)
        wait_for_bars(restarted, journal, bars + 100)
        restarted.send_signal(signal.SIGTERM)
        code, stderr = finish(restarted)
        assert code == 0, stderr[-2000:]
        messages = [json.loads(text)["message"] for text in stderr.splitlines()
                    if text.startswith("{")]
        recovered = [message for message in messages if message.startswith("recovered ")]
        assert recovered and f"({len(records)} records)" in recovered[0], messages[:10]
        print(f"restart: {recovered[0]}")


def test_read_only_data_dir_exits_13_saying_so(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "data", "16m") as data:
        config = write_config(tmp_path, data_dir=data)
        daemon = start("run", str(config), cwd=tmp_path)  # a journal to find there
        wait_for_bars(daemon, data / "journal.sqlite", 50)
        daemon.send_signal(signal.SIGTERM)
        assert finish(daemon)[0] == 0
        remount(data, "ro")
        try:
            for command in ("run", "record"):
                code, stderr = finish(start(command, str(config), cwd=tmp_path))
                assert code == 13, stderr[-2000:]
                line = assert_one_fatal_line(stderr, 13)
                assert "cannot be written" in line["message"]
                assert "Read-only file system" in line["message"]
                assert "not a recording" not in stderr
        finally:
            remount(data, "rw")


def test_sigterm_during_recovery_exits_0_with_the_journal_unchanged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = write_config(tmp_path, data_dir=data, speed=1e7, stop_when_feeds_finish=True)
    code, stderr = finish(start("run", str(config), cwd=tmp_path), timeout=300)
    assert code == 0, stderr[-2000:]  # a whole session first: 20,000 bars to recover
    journal = data / "journal.sqlite"
    before = journal.read_bytes()
    records = sum(1 for _ in JournalReader(journal).records())

    process = start("run", str(config), cwd=tmp_path)
    assert process.stderr is not None
    while "recovering from" not in (text := process.stderr.readline()):
        assert text, "the daemon never started recovering"
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code, rest = finish(process)
    assert code == 0, rest[-2000:]
    assert "Traceback" not in rest
    messages = [json.loads(text)["message"] for text in rest.splitlines() if text.startswith("{")]
    stopped = [message for message in messages if message.startswith("stopped during recovery")]
    assert len(stopped) == 1, messages
    assert not any(message.startswith("session") for message in messages)
    assert journal.read_bytes() == before  # not a byte written
    print(f"{records} records in the journal; SIGTERM during recovery: exit 0 after "
          f"{time.monotonic() - sent:.2f} s: {stopped[0]}")
