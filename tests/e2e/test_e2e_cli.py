"""`tradebus backtest` end to end: the demo run, its saved results, and bad input (exit 2).

Subprocesses cost about a second each, so only the happy path and one config and one data
error run the real command; the other bad-input cases go through the same composition
root in process (`api.compose.prepare_backtest`), which is where the CLI gets its errors.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from api.compose import DEFAULT_BACKTEST_CONFIG, prepare_backtest
from engine.errors import ConfigError, DataError
from engine.persistence import ResultStore

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "adapters" / "data" / "sample" / "btcusdt_1m.csv"
DEMO_TEXT = DEFAULT_BACKTEST_CONFIG.read_text()
DEMO_DATA_PATH = 'path = "sample:btcusdt_1m.csv"'
# Long enough that an error line naming a file in it is wider than an 80-column console.
LONG_FOLDER = "a-folder-with-a-long-name-so-error-lines-are-wider-than-any-console"

pytestmark = pytest.mark.e2e


def run_cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "backtest", *arguments],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )


def edited_demo(old: str, new: str) -> str:
    """The demo config with one edit (which must apply: a stale edit fails loudly)."""
    if old not in DEMO_TEXT:
        raise ValueError(f"edit {old!r}: not in the demo config")
    return DEMO_TEXT.replace(old, new, 1)


def write_config(folder: Path, text: str, name: str = "backtest.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def write_bad_csv(folder: Path, name: str, line: int, row: str) -> Path:
    """The first 50 sample rows with line `line` (1 = the header) replaced by `row`."""
    lines = SAMPLE.read_text().splitlines()[:51]
    lines[line - 1] = row
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def config_for_csv(folder: Path, csv_path: Path) -> Path:
    return write_config(folder, edited_demo(DEMO_DATA_PATH, f'path = "{csv_path.name}"'))


# -- the happy path --------------------------------------------------------------------


def assert_trades_agree_with_fills(document: dict[str, Any]) -> None:
    """Every round trip is a buy fill then a sell fill; balances are the fills' sum."""
    fills = document["fills"]
    trades = document["trades"]
    assert len(fills) in (2 * len(trades), 2 * len(trades) + 1)  # +1: still long at the end
    for index, trade in enumerate(trades):
        buy, sell = fills[2 * index], fills[2 * index + 1]
        assert (buy["side"], sell["side"]) == ("buy", "sell")
        assert (trade["opened_ns"], trade["closed_ns"]) == (buy["ts_event"], sell["ts_event"])
        quantity = Decimal(trade["quantity"])
        assert Decimal(buy["last_quantity"]) == Decimal(sell["last_quantity"]) == quantity
        entry, exit_ = Decimal(trade["average_entry_price"]), Decimal(trade["average_exit_price"])
        assert (entry, exit_) == (Decimal(buy["last_price"]), Decimal(sell["last_price"]))
        assert Decimal(trade["realized_pnl"]) == (exit_ - entry) * quantity
        assert Decimal(trade["fees"]) == Decimal(buy["commission"]) + Decimal(sell["commission"])
    cash = Decimal("10000000")
    held = Decimal(0)
    for fill in fills:
        sign = 1 if fill["side"] == "buy" else -1
        quantity = Decimal(fill["last_quantity"])
        cash -= sign * quantity * Decimal(fill["last_price"]) + Decimal(fill["commission"])
        held += sign * quantity
    assert Decimal(document["balances"]["USDT"]) == cash
    assert Decimal(document["balances"]["BTC"]) == held


def test_cli_backtest_without_config_runs_demo_and_saves_results(tmp_path: Path) -> None:
    repo_results = ROOT / "results"
    had_repo_results = repo_results.exists()

    completed = run_cli("--output-dir", str(tmp_path))

    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    for expected in ("backtest demo-sma-cross", "bars replayed", "20,000", "Final equity",
                     "balance USDT", "saved run 1"):
        assert expected in completed.stdout
    assert repo_results.exists() == had_repo_results  # --output-dir wins over the config
    [json_path] = tmp_path.glob("*.json")
    assert json_path.name == "demo-sma-cross-1.json"
    document = json.loads(json_path.read_text())
    assert document["name"] == "demo-sma-cross"
    assert document["items_processed"] == 20_000
    assert document["faults"] == []
    assert len(document["trades"]) > 100
    assert document["report"]["fills"] == len(document["fills"])
    assert document["report"]["trade_count"] == len(document["trades"])
    assert_trades_agree_with_fills(document)
    [(run_id, name, _)] = ResultStore(tmp_path / "results.sqlite").runs()
    assert (run_id, name) == (1, "demo-sma-cross")


# -- bad input through the real command ---------------------------------------------------


def test_cli_backtest_wrong_type_exits_2_with_one_line_naming_file_and_field(
    tmp_path: Path,
) -> None:
    config = write_config(
        tmp_path / LONG_FOLDER, edited_demo("max_open_orders = 20", 'max_open_orders = "x"')
    )

    completed = run_cli(str(config), "--output-dir", str(tmp_path / "out"))

    assert completed.returncode == 2
    assert completed.stdout == ""
    [line] = completed.stderr.splitlines()
    assert line.startswith(f"config error {config}: config field $.risk.max_open_orders: ")
    assert "str" in line
    assert not (tmp_path / "out").exists()


def test_cli_backtest_malformed_csv_row_exits_2_with_one_line_naming_line(
    tmp_path: Path,
) -> None:
    folder = tmp_path / LONG_FOLDER
    csv_path = write_bad_csv(folder, "bars.csv", 20, "1672532280000,30000.00,abc,1,1,1")
    config = config_for_csv(folder, csv_path)

    completed = run_cli(str(config), "--no-save")

    assert completed.returncode == 2
    assert completed.stdout == ""
    [line] = completed.stderr.splitlines()
    assert line.startswith(f"data error {csv_path}:20: ")
    assert "high 'abc'" in line


# -- bad input in process -----------------------------------------------------------------

CONFIG_ERRORS = [
    pytest.param("max_open_orders = 20", 'max_open_orders = "x"', "$.risk.max_open_orders",
                 id="wrong-type"),
    pytest.param('starting_balances = { USDT = "10000000" }\n', "",
                 "$.portfolio.starting_balances", id="missing-required-field"),
    pytest.param('symbol = "BTC/USDT"\n', "", "$.instruments[0].symbol",
                 id="missing-instrument-symbol"),
    pytest.param("max_open_orders = 20", "max_open_orders = 20\nmax_open_order = 3",
                 "$.risk.max_open_order", id="unknown-field"),
    pytest.param('name = "demo-sma-cross"', 'name = "demo"\nfail_fst = true',
                 "$.backtest.fail_fst", id="unknown-field-in-settings"),
    pytest.param("strategies.sma_cross:SmaCross", "strategies.sma_cross:NoSuchClass",
                 "$.strategies[0].class", id="unknown-strategy-class"),
    pytest.param("strategies.sma_cross:SmaCross", "strategies.no_such_module:SmaCross",
                 "$.strategies[0].class", id="unknown-strategy-module"),
    pytest.param("strategies.sma_cross:SmaCross", "SmaCross", "$.strategies[0].class",
                 id="strategy-class-without-module"),
    pytest.param("fast_period = 10", 'fast_period = "ten"',
                 "$.strategies[0].params.fast_period", id="bad-strategy-param-type"),
    pytest.param("fast_period = 10", "fast_perod = 10", "$.strategies[0].params.fast_perod",
                 id="unknown-strategy-param"),
    pytest.param('quantity = "1"', 'quantity = "one"', "$.strategies[0].params.quantity",
                 id="bad-strategy-param-decimal"),
    pytest.param('instrument_id = "BTC/USDT.SIM"\ntimeframe = "1m"\n\n[[strategies]]',
                 'instrument_id = "ETH/USDT.SIM"\ntimeframe = "1m"\n\n[[strategies]]',
                 "$.data[0].instrument_id", id="unknown-instrument-in-data"),
    pytest.param('instrument_id = "BTC/USDT.SIM"\ntimeframe = "1m"\nfast_period',
                 'instrument_id = "ETH/USDT.SIM"\ntimeframe = "1m"\nfast_period',
                 "$.strategies[0].params.instrument_id", id="unknown-instrument-in-strategy"),
    pytest.param(DEMO_DATA_PATH, 'path = "no-such-file.csv"', "$.data[0].path",
                 id="missing-data-file"),
    pytest.param('kind = "csv"', 'kind = "parquet"', "$.data[0].kind", id="unknown-data-kind"),
    pytest.param('timeframe = "1m"\n\n[[strategies]]', 'timeframe = "7q"\n\n[[strategies]]',
                 "$.data[0].timeframe", id="bad-timeframe"),
    pytest.param('price_increment = "0.01"', 'price_increment = "0"',
                 "$.instruments[0].price_increment", id="zero-price-increment"),
    pytest.param('max_order_notional = "1000000"', 'max_order_notional = "lots"',
                 "$.risk.max_order_notional", id="bad-decimal"),
    pytest.param("max_open_orders = 20", "max_open_orders = = 20", "$", id="invalid-toml"),
]


@pytest.mark.parametrize(("old", "new", "field"), CONFIG_ERRORS)
def test_prepare_backtest_bad_config_raises_config_error_naming_file_and_field(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    config = write_config(tmp_path, edited_demo(old, new))

    with pytest.raises(ConfigError) as raised:
        prepare_backtest(config)

    error = raised.value
    assert (error.path, error.file) == (field, str(config))
    message = str(error)
    assert message.startswith(f"{config}: config field {field}: ")
    assert "\n" not in message


def test_prepare_backtest_duplicate_strategy_id_names_the_second(tmp_path: Path) -> None:
    second = DEMO_TEXT[DEMO_TEXT.index("[[strategies]]"):]
    config = write_config(tmp_path, DEMO_TEXT + "\n" + second)

    with pytest.raises(ConfigError) as raised:
        prepare_backtest(config)

    assert raised.value.path == "$.strategies[1].id"
    assert "'sma-cross'" in raised.value.reason


def test_prepare_backtest_without_strategies_names_the_section(tmp_path: Path) -> None:
    text = DEMO_TEXT[:DEMO_TEXT.index("[[strategies]]")].replace(
        "[backtest]", "strategies = []\n\n[backtest]"
    )
    config = write_config(tmp_path, text)

    with pytest.raises(ConfigError) as raised:
        prepare_backtest(config)

    assert raised.value.path == "$.strategies"


def test_prepare_backtest_missing_config_file_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "absent.toml"

    with pytest.raises(ConfigError) as raised:
        prepare_backtest(config)

    assert (raised.value.path, raised.value.file) == ("$", str(config))


def test_prepare_backtest_bad_csv_header_is_refused_before_the_run_naming_line_1(
    tmp_path: Path,
) -> None:
    # The header (and the first row) are checked before the run since issue 14.
    csv_path = write_bad_csv(tmp_path, "bars.csv", 1, "time,open,high,low,close,volume")

    with pytest.raises(ConfigError) as raised:
        prepare_backtest(config_for_csv(tmp_path, csv_path))

    assert raised.value.path == "$.data[0].path"
    assert raised.value.reason.startswith(f"{csv_path}:1: header")


@pytest.mark.parametrize(
    ("line", "row", "reason"),
    [
        pytest.param(20, "1672532280000,30000.00,abc,1,1,1", "high 'abc'", id="malformed"),
        pytest.param(20, "1672532280000,30000.00,30010.00,29990.00", "", id="missing-column"),
        pytest.param(30, "1672531200000,30000.00,30010.00,29990.00,30001.00,1.0",
                     "ts 1672531200000", id="out-of-order"),
    ],
)
def test_backtest_bad_csv_row_raises_data_error_naming_line(
    tmp_path: Path, line: int, row: str, reason: str
) -> None:
    csv_path = write_bad_csv(tmp_path, "bars.csv", line, row)
    prepared = prepare_backtest(config_for_csv(tmp_path, csv_path))

    with pytest.raises(DataError) as raised:
        prepared.run()

    error = raised.value
    assert (error.source, error.line) == (str(csv_path), line)
    assert str(error).startswith(f"{csv_path}:{line}: {reason}")
    assert "\n" not in str(error)
