"""`tradebus results` and the backtest's per-strategy breakdown: a run's trades and fills
without SQL, each naming its strategy (issue 14)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from api.cli import main
from api.compose import DEFAULT_BACKTEST_CONFIG
from engine.persistence import ResultStore

RSI = '''
[[strategies]]
id = "rsi"
class = "strategies.rsi_reversion:RsiMeanReversion"
[strategies.params]
instrument_id = "BTC/USDT.SIM"
quantity = "0.5"
'''


@pytest.fixture
def saved_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    config = tmp_path / "two.toml"
    config.write_text(DEFAULT_BACKTEST_CONFIG.read_text() + RSI)
    code = main(["backtest", str(config), "--output-dir", str(tmp_path / "out"),
                 "--progress", "never"])
    assert code == 0
    return tmp_path / "out" / "results.sqlite", capsys.readouterr().out


def test_backtest_report_breaks_results_down_per_strategy(saved_run: tuple[Path, str]) -> None:
    path, out = saved_run

    lines = out[out.index("per strategy"):].splitlines()

    assert lines[1].split() == ["strategy", "round_trips", "win_rate", "realized_pnl", "fees",
                                "net_pnl", "fills"]
    rows = {line.split()[0]: line.split() for line in lines[2:4]}
    assert set(rows) == {"rsi", "sma-cross"}
    store = ResultStore(path)
    [run] = store.run_summaries()
    trades = store.trades(run.run_id)
    for strategy, row in rows.items():
        assert int(row[1]) == sum(1 for t in trades if t.strategy_id == strategy) > 0


def test_results_trades_and_fills_list_the_last_run_with_strategy_ids(
    saved_run: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = saved_run

    assert main(["results", "trades", "--results", str(path), "--strategy", "rsi"]) == 0
    trades = capsys.readouterr().out.splitlines()
    assert main(["results", "fills", "--results", str(path), "--run", "1"]) == 0
    fills = capsys.readouterr().out.splitlines()

    assert trades[0].split()[:2] == ["#", "strategy"]
    assert len(trades) > 1 and {line.split()[1] for line in trades[1:]} == {"rsi"}
    assert {line.split()[3] for line in fills[1:]} == {"sma-cross", "rsi"}  # time: 2 words
    connection = sqlite3.connect(path)
    saved = connection.execute("SELECT DISTINCT strategy_id FROM trades").fetchall()
    connection.close()
    assert sorted(saved) == [("rsi",), ("sma-cross",)]


def test_results_unknown_run_or_missing_file_exits_2(
    saved_run: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = saved_run

    assert main(["results", "trades", "--results", str(path), "--run", "7"]) == 2
    assert "--run 7: no such run" in capsys.readouterr().err
    assert main(["results", "list", "--results", str(tmp_path / "none.sqlite")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_result_store_schema_1_file_gains_strategy_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    connection = sqlite3.connect(path)
    connection.executescript(
        "CREATE TABLE runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,"
        " start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, items_processed INTEGER NOT NULL,"
        " config TEXT NOT NULL, report TEXT NOT NULL, balances TEXT NOT NULL,"
        " statistics TEXT NOT NULL);"
        "CREATE TABLE trades (run_id INTEGER NOT NULL, seq INTEGER NOT NULL,"
        " instrument_id TEXT NOT NULL, side TEXT NOT NULL, opened_ns INTEGER NOT NULL,"
        " closed_ns INTEGER NOT NULL, quantity TEXT NOT NULL,"
        " average_entry_price TEXT NOT NULL, average_exit_price TEXT NOT NULL,"
        " realized_pnl TEXT NOT NULL, fees TEXT NOT NULL, PRIMARY KEY (run_id, seq));"
        "INSERT INTO runs VALUES (1, 'old', 0, 1, 2, '', '{}', '{}', '{}');"
        "INSERT INTO trades VALUES (1, 0, 'BTC/USDT.SIM', 'long', 0, 1, '1', '2', '3', '1',"
        " '0.1');"
        "PRAGMA user_version = 1;")
    connection.close()

    store = ResultStore(path)

    [trade] = store.trades(1)
    assert (trade.strategy_id, trade.realized_pnl) == ("", "1")
