"""ResultStore and write_result_json on real files: exact Decimals, one id per run."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import msgspec

from engine.analysis import ClosedTrade, PerformanceReport, compute_report
from engine.backtest import BacktestResult
from engine.domain.enums import LiquiditySide, OrderSide
from engine.events.fills import OrderFilled
from engine.persistence import ResultStore, write_result_json

MINUTE_NS = 60_000_000_000
START_NS = 1_672_531_200_000_000_000
# Values a float would not survive: 28 significant digits, a tiny fee, trailing zeros.
ENTRY_PRICE = Decimal("30091.123456789012345678901234")
EXIT_PRICE = Decimal("30100.10")
QUANTITY = Decimal("1.000")
TINY_FEE = Decimal("0.00000001")


def make_fill(seq: int, side: OrderSide, price: Decimal, commission: Decimal) -> OrderFilled:
    return OrderFilled(
        ts_event=START_NS + seq * MINUTE_NS,
        ts_init=START_NS + seq * MINUTE_NS,
        strategy_id="sma",
        client_order_id=f"sma-{seq}",
        instrument_id="BTC/USDT.SIM",
        venue_order_id=f"SIM-{seq}",
        trade_id=f"SIM-T-{seq}",
        side=side,
        last_quantity=QUANTITY,
        last_price=price,
        commission=commission,
        commission_currency="USDT",
        liquidity_side=LiquiditySide.TAKER,
    )


def make_result(name: str = "unit") -> BacktestResult:
    fills = [
        make_fill(1, OrderSide.BUY, ENTRY_PRICE, TINY_FEE),
        make_fill(2, OrderSide.SELL, EXIT_PRICE, Decimal("30.10010")),
    ]
    trade = ClosedTrade(
        instrument_id="BTC/USDT.SIM",
        side="long",
        opened_ns=fills[0].ts_event,
        closed_ns=fills[1].ts_event,
        quantity=QUANTITY,
        average_entry_price=ENTRY_PRICE,
        average_exit_price=EXIT_PRICE,
        realized_pnl=(EXIT_PRICE - ENTRY_PRICE) * QUANTITY,
        fees=TINY_FEE + Decimal("30.10010"),
    )
    curve = [
        (START_NS, Decimal("10000000")),
        (START_NS + 3 * MINUTE_NS, Decimal("9999978.876543210987654321098766")),
    ]
    report = compute_report(
        curve, [trade], starting_equity=10_000_000.0, fills=2, total_fees=float(trade.fees)
    )
    return BacktestResult(
        name=name,
        start_ns=START_NS,
        end_ns=START_NS + 3 * MINUTE_NS,
        items_processed=3,
        report=report,
        balances={"BTC": Decimal("0.000"), "USDT": curve[-1][1]},
        equity_curve=curve,
        trades=[trade],
        fills=fills,
        orders=[],
        faults=[],
        statistics={"bus": {"handled": 7}},
    )


def test_result_store_save_then_runs_round_trips_name_and_report(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "nested" / "results.sqlite")
    result = make_result("first")

    run_id = store.save(result, config="[backtest]\nname = 'first'\n")

    assert store.path.is_file()
    [(stored_id, name, report_json)] = store.runs()
    assert (stored_id, name) == (run_id, "first")
    assert msgspec.json.decode(report_json, type=PerformanceReport) == result.report


def test_result_store_two_saves_get_two_ids_in_order(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results.sqlite")

    first = store.save(make_result("a"), config="a")
    second = store.save(make_result("b"), config="b")

    assert first != second
    assert [(run_id, name) for run_id, name, _ in store.runs()] == [(first, "a"), (second, "b")]


def test_result_store_reopened_file_keeps_earlier_runs(tmp_path: Path) -> None:
    path = tmp_path / "results.sqlite"
    first = ResultStore(path).save(make_result("a"), config="a")

    second = ResultStore(path).save(make_result("b"), config="b")

    assert second > first
    assert [name for _, name, _ in ResultStore(path).runs()] == ["a", "b"]


def test_result_store_decimals_are_stored_as_exact_text(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results.sqlite")
    result = make_result()
    run_id = store.save(result, config="cfg")

    with closing(sqlite3.connect(store.path)) as connection:
        fills = connection.execute(
            "SELECT typeof(price), price, quantity, commission, side FROM fills"
            " WHERE run_id = ? ORDER BY seq", (run_id,)
        ).fetchall()
        trades = connection.execute(
            "SELECT typeof(realized_pnl), average_entry_price, realized_pnl, fees FROM trades"
            " WHERE run_id = ?", (run_id,)
        ).fetchall()
        equity = connection.execute(
            "SELECT typeof(equity), equity FROM equity WHERE run_id = ? ORDER BY ts_ns", (run_id,)
        ).fetchall()
        config, balances = connection.execute(
            "SELECT config, balances FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()

    assert [row[0] for row in fills + trades + equity] == ["text"] * 5
    assert [(Decimal(p), Decimal(q), Decimal(c), s) for _, p, q, c, s in fills] == [
        (f.last_price, f.last_quantity, f.commission, str(f.side)) for f in result.fills
    ]
    assert fills[0][1] == "30091.123456789012345678901234"  # every digit, no float on the way
    assert fills[0][2] == "1.000"  # trailing zeros (the size increment) kept
    trade = result.trades[0]
    assert [tuple(Decimal(v) for v in row[1:]) for row in trades] == [
        (trade.average_entry_price, trade.realized_pnl, trade.fees)
    ]
    assert [Decimal(v) for _, v in equity] == [value for _, value in result.equity_curve]
    assert config == "cfg"
    assert json.loads(balances) == {"BTC": "0.000", "USDT": "9999978.876543210987654321098766"}


def test_write_result_json_writes_valid_json_with_report_keys(tmp_path: Path) -> None:
    result = make_result()

    path = write_result_json(result, tmp_path / "out" / "unit-1.json")

    document = json.loads(path.read_text())
    assert set(document) >= {"name", "report", "balances", "equity_curve", "trades", "fills"}
    assert set(document["report"]) == set(PerformanceReport.__struct_fields__)
    assert document["fills"][0]["last_price"] == "30091.123456789012345678901234"
    assert document["fills"][0]["kind"] == "order.filled"
    decoded = msgspec.json.decode(path.read_bytes(), type=BacktestResult)
    assert decoded == result
