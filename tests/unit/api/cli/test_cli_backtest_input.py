"""`tradebus backtest` checks before the run what it used to find only after it (with a
traceback and nothing saved), and refuses suspicious input: one stderr line naming the
file and the field, exit 2 (issue 14)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from api.cli import main
from api.compose import DEFAULT_BACKTEST_CONFIG

DEMO = DEFAULT_BACKTEST_CONFIG.read_text()
HEADER = "ts,open,high,low,close,volume\n"


def replace(old: str, new: str) -> Callable[[Path], str]:
    def edit(folder: Path) -> str:
        if old not in DEMO:
            raise ValueError(f"edit {old!r}: not in the demo config")
        return DEMO.replace(old, new.format(folder=folder), 1)

    return edit


def with_data(content: str) -> Callable[[Path], str]:
    def edit(folder: Path) -> str:
        (folder / "bars.csv").write_text(content)
        return DEMO.replace("sample:btcusdt_1m.csv", str(folder / "bars.csv"))

    return edit


def with_strategy(module: str, source: str) -> Callable[[Path], str]:
    def edit(folder: Path) -> str:
        (folder / f"{module}.py").write_text(source)
        return DEMO.replace("strategies.sma_cross:SmaCross", f"{module}:Mine")

    return edit


CASES = {
    "zero balance": (replace('USDT = "10000000"', 'USDT = "0"'),
                     "$.portfolio.starting_balances.USDT: USDT 0: must be > 0"),
    "negative balance": (replace('USDT = "10000000"', 'USDT = "-5"'),
                         "$.portfolio.starting_balances.USDT: USDT -5: must be > 0"),
    "unused currency": (replace('USDT = "10000000"', 'EUR = "100"'),
                        "$.portfolio.starting_balances.EUR: EUR: no instrument uses it"),
    "data path is a folder": (replace("sample:btcusdt_1m.csv", "{folder}"),
                              "$.data[0].path: {folder}: not a file"),
    "output dir unwritable": (
        replace('output_dir = "results"', 'output_dir = "{folder}/a_file/results"'),
        "$.backtest.output_dir: {folder}/a_file/results: cannot create the folder"),
    "header only": (with_data(HEADER), "bars.csv:2: no data rows after the header (0 bars)"),
    "seconds": (with_data(HEADER + "1672531200,100,101,99,100.5,1\n"),
                "bars.csv:2: ts 1672531200: before 1973 as epoch milliseconds; seconds?"),
    "negative taker fee": (replace('taker_fee = "0.001"', 'taker_fee = "-0.5"'),
                           "$.instruments[0].taker_fee: taker_fee -0.5: must be >= 0"),
    "syntax error": (with_strategy("syntax_broken", "class Mine(\n"),
                     "syntax_broken.py:1: syntax error:"),
    "misspelled handler": (
        with_strategy("misspelled", "from engine.strategy import Strategy\n\n"
                      "class Mine(Strategy):\n    def on_bars(self, bar):\n        pass\n"),
        "misspelled.py: handler Mine.on_bars: names no event type"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_backtest_bad_input_exits_2_before_the_run_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    case: str,
) -> None:
    make, expected = CASES[case]
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "a_file").write_text("not a folder")
    config = tmp_path / "backtest.toml"
    config.write_text(make(tmp_path))

    code = main(["backtest", str(config), "--progress", "never"])

    out, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith(f"config error {config}: ") and expected.format(folder=tmp_path) in err
    assert "bars replayed" not in out  # refused before the run
