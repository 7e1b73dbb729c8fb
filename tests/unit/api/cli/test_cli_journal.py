"""`tradebus journal`: finds the daemon's journal from its config, says how each session
ended, and refuses a `--kind` no message has (issue 14)."""

from __future__ import annotations

import re
from pathlib import Path

import anyio
import pytest

from api.cli import main
from api.compose import DEFAULT_DAEMON_CONFIG, build_node, load_daemon_config

FREE_API_PORT = {"TRADEBUS__API__PORT": "0"}
"""The environment the daemons of these tests load: an OS-chosen API port (8000 may be
taken, by a daemon running beside the tests)."""

SAMPLE = Path(__file__).resolve().parents[4] / "adapters" / "data" / "sample" / "btcusdt_1m.csv"


def daemon_config(folder: Path, data_dir: str) -> Path:
    lines = SAMPLE.read_text().splitlines()[:101]
    (folder / "bars.csv").write_text("\n".join(lines) + "\n")
    text = DEFAULT_DAEMON_CONFIG.read_text().replace('path = "sample:btcusdt_1m.csv"',
                                                     'path = "bars.csv"')
    for key, value in {"speed": "2_000_000.0", "record": "false",
                       "data_dir": f'"{data_dir}"'}.items():
        text = re.sub(rf"^{key} = .*$", f"{key} = {value}", text, count=1, flags=re.MULTILINE)
    text = text.replace("[runtime]\n", "[runtime]\nstop_when_feeds_finish = true\n", 1)
    path = folder / "paper.toml"
    path.write_text(text)
    return path


def run_session(config: Path) -> None:
    loaded, file = load_daemon_config(config, environ=FREE_API_PORT)
    node = build_node(loaded, file=file)
    assert anyio.run(node.run) == 0


def test_journal_list_reads_the_configs_data_dir_and_says_how_sessions_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    config = daemon_config(tmp_path, "elsewhere")
    run_session(config)
    run_session(config)

    code = main(["journal", "list", str(config)])

    out = capsys.readouterr().out
    assert code == 0
    header, first, second = (line.split() for line in out.splitlines())
    assert header[6:] == ["resumed_after_seq", "ended", "faulted"]
    assert (first[0], first[6:]) == ("1", ["-", "graceful", "-"])
    assert (second[0], second[6:]) == ("2", [first[1].split("-")[1], "graceful", "-"])
    assert not (tmp_path / "tradebus-data").exists()  # not the default data dir


def test_journal_list_without_config_uses_the_daemons_default_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    run_session(daemon_config(tmp_path, "from-env"))
    monkeypatch.setenv("TRADEBUS__RUNTIME__DATA_DIR", '"from-env"')

    code = main(["journal", "list"])

    assert code == 0 and capsys.readouterr().out.splitlines()[1].split()[0] == "1"


def test_journal_export_unknown_kind_exits_2_suggesting_the_right_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "journal.sqlite"
    journal.touch()

    code = main(["journal", "export", "--journal", str(journal), "--kind", "order.filed"])

    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "--kind 'order.filed': no message has this kind" in err and "order.filled" in err
