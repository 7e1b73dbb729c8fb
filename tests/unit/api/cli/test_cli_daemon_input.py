"""`tradebus run` on bad input: one stderr line naming the file and the field or line,
exit 2, before the session starts (issue 14: no 40-line ExceptionGroup tracebacks)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.cli import main
from api.compose import DEFAULT_DAEMON_CONFIG

HEADER = "ts,open,high,low,close,volume\n"
GOOD = "1672531200000,100,101,99,100.5,1\n"


def daemon_file(folder: Path, feed_path: str, *, data_dir: str = "tradebus-data") -> Path:
    text = DEFAULT_DAEMON_CONFIG.read_text().replace('path = "sample:btcusdt_1m.csv"',
                                                     f'path = "{feed_path}"')
    text = re.sub(r"^data_dir = .*$", f'data_dir = "{data_dir}"', text, flags=re.MULTILINE)
    path = folder / "paper.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.csv", None, "no such file"),
        ("empty.csv", "", "empty.csv:1: header an empty file"),
        ("header_only.csv", HEADER, "header_only.csv:2: no data rows after the header"),
        ("malformed.csv", HEADER + GOOD + "1672531260000,oops,1,1,1,1\n",
         "malformed.csv:3: open 'oops': not a number"),
        ("backwards.csv", HEADER + GOOD + "1672531100000,100,101,99,100.5,1\n",
         "backwards.csv:3: ts 1672531100000: not after the previous row's"),
        ("seconds.csv", HEADER + "1672531200,100,101,99,100.5,1\n",
         "seconds.csv:2: ts 1672531200: before 1973 as epoch milliseconds; seconds?"),
    ],
)
def test_run_bad_feed_file_exits_2_with_one_line_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str | None,
    expected: str,
) -> None:
    if content is not None:
        (tmp_path / name).write_text(content)
    config = daemon_file(tmp_path, name)

    code = main(["run", str(config)])

    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"config error {config}: config field $.feeds[0].path: ")
    assert expected in err


def test_run_bad_row_far_into_the_file_is_refused_before_the_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [f"{1672531200000 + 60_000 * i},100,101,99,100.5,1\n" for i in range(70_000)]
    rows[66_000] = "1672531200000,100,101,99,100.5\n"
    (tmp_path / "long.csv").write_text(HEADER + "".join(rows))

    code = main(["run", str(daemon_file(tmp_path, "long.csv"))])

    err = capsys.readouterr().err
    assert code == 2 and "long.csv:66002: row has 5 fields" in err
    assert not (tmp_path / "tradebus-data" / "journal.sqlite").exists()


def test_run_unwritable_data_dir_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "bars.csv").write_text(HEADER + GOOD)
    config = daemon_file(tmp_path, "bars.csv", data_dir=str(tmp_path / "a_file" / "data"))

    code = main(["run", str(config)])

    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "$.runtime.data_dir" in err and "cannot create the folder" in err
