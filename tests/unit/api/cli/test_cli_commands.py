"""`tradebus` in process: each subcommand reached through `main`, and what it prints or writes.

The subprocess runs (signals, kill -9, the demo backtest) are in tests/e2e.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.data import RecordingSource
from api.cli import main
from api.compose import DEFAULT_DAEMON_CONFIG
from engine.persistence import JournalReader

SAMPLE = Path(__file__).resolve().parents[4] / "adapters" / "data" / "sample" / "btcusdt_1m.csv"


@pytest.fixture(autouse=True)
def root_logging_restored() -> Iterator[None]:
    """`run` and `record` point the root logger at stderr: give pytest its handlers back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def fast_paper_config(folder: Path, bars: int) -> Path:
    """The bundled paper config on `bars` sample bars, replayed at 2,000,000x."""
    (folder / "bars.csv").write_text("\n".join(SAMPLE.read_text().splitlines()[: bars + 1])
                                     + "\n")
    text = DEFAULT_DAEMON_CONFIG.read_text()
    for old, new in [('path = "sample:btcusdt_1m.csv"', 'path = "bars.csv"'),
                     ("speed = 600.0", "speed = 2000000.0\nstop_when_feeds_finish = true"),
                     ('log_format = "auto"', 'log_format = "json"')]:
        if old not in text:
            raise ValueError(f"edit {old!r}: not in the bundled paper config")
        text = text.replace(old, new, 1)
    path = folder / "paper.toml"
    path.write_text(text)
    return path


def test_cli_record_writes_every_feed_item_to_the_recording(tmp_path: Path) -> None:
    config = fast_paper_config(tmp_path, bars=120)
    out = tmp_path / "out" / "recorded.sqlite"

    code = main(["record", str(config), "--out", str(out)])

    assert code == 0
    recorded = list(RecordingSource(out))
    assert len(recorded) == 120
    assert [bar.ts_event for bar in recorded] == sorted(bar.ts_event for bar in recorded)


def test_cli_run_runs_the_node_to_the_end_of_its_feeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = fast_paper_config(tmp_path, bars=80)
    monkeypatch.chdir(tmp_path)  # data_dir is relative to the current directory
    monkeypatch.setenv("TRADEBUS__API__PORT", "0")  # 8000 may be taken

    code = main(["run", str(config)])

    assert code == 0
    records = list(JournalReader(tmp_path / "tradebus-data" / "journal.sqlite").records())
    assert sum(1 for record in records if record.kind == "bar") == 80
    assert len(list(RecordingSource(tmp_path / "tradebus-data" / "recording.sqlite"))) == 80


@pytest.mark.parametrize("command", ["run", "record"])
def test_cli_daemon_file_with_unknown_venue_kind_exits_2_naming_the_field(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "paper.toml"
    config.write_text(DEFAULT_DAEMON_CONFIG.read_text().replace('kind = "sim"', 'kind = "simm"'))

    code = main([command, str(config)])

    assert code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line == (f"config error {config}: config field $.venues[0].kind: "
                    "unknown venue kind 'simm' (one of: ccxt, ibkr, sim)")


def test_cli_journal_without_a_journal_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["journal", "list", "--journal", str(tmp_path / "absent.sqlite")])

    assert code == 2
    assert "no such file" in capsys.readouterr().err
