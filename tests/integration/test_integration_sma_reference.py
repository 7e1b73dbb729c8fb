"""The SMA(10)/SMA(30) cross through the full graph against an independent reference.

The reference below shares no code with the engine: it reads the CSV as text, keeps
prices in integer cents, detects crosses exactly by the sign of 3·Σ10 − Σ30 with the
"last non-zero sign" rule, decides at bar t's close and fills at bar t+1's open, with a
0.1 % taker fee computed in Decimal, from 10,000,000 USDT (../shared/bench/README.md).
The engine runs the same rules through a config file, the composition root, the CSV
adapter, risk, the order manager, the simulated venue and the portfolio. Fills, round
trips, balances and final equity must agree exactly.
"""

from __future__ import annotations

import importlib.util
import random
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import pytest

from api.compose import prepare_backtest
from engine.backtest import BacktestResult

ROOT = Path(__file__).resolve().parents[2]
MAKE_BARS = Path(__file__).resolve().parents[2].parent / "shared" / "bench" / "make_bars.py"
SAMPLE = ROOT / "adapters" / "data" / "sample" / "btcusdt_1m.csv"
CSV_FORMAT = "%d,%.2f,%.2f,%.2f,%.2f,%.4f"
CSV_HEADER = "ts,open,high,low,close,volume"

FAST, SLOW = 10, 30
FEE_RATE = Decimal("0.001")
START_CASH = Decimal(10_000_000)
NS_PER_MS = 1_000_000

pytestmark = pytest.mark.integration

CONFIG = """
[backtest]
name = "sma-reference"

[portfolio]
starting_balances = {{ USDT = "10000000" }}

[[instruments]]
symbol = "BTC/USDT"
base_currency = "BTC"
quote_currency = "USDT"
price_increment = "0.01"
size_increment = "0.001"
maker_fee = "0.001"
taker_fee = "0.001"

[[data]]
kind = "csv"
path = "{path}"
instrument_id = "BTC/USDT.SIM"

[[strategies]]
id = "sma"
class = "strategies.sma_cross:SmaCross"
[strategies.params]
instrument_id = "BTC/USDT.SIM"
fast_period = {fast}
slow_period = {slow}
quantity = "1"
"""


# -- the reference ---------------------------------------------------------------------


class Fill(NamedTuple):
    ts_ns: int
    side: str
    price: Decimal
    quantity: Decimal
    commission: Decimal


class RoundTrip(NamedTuple):
    opened_ns: int
    closed_ns: int
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal
    realized_pnl: Decimal
    fees: Decimal


class Reference(NamedTuple):
    fills: list[Fill]
    round_trips: list[RoundTrip]
    cash: Decimal
    position: int
    final_equity: Decimal
    ties: int
    bridged_ties: int
    """Runs of ties with the same sign on both sides: a float tie there fakes two crosses."""


def cents(text: str) -> int:
    """'30007.31' -> 3000731, exactly (the data has two decimals, always)."""
    whole, dot, fraction = text.partition(".")
    if not dot or len(fraction) != 2:
        raise ValueError(f"price {text!r}: expected two decimals")
    return int(whole) * 100 + int(fraction)


def to_money(value_cents: int) -> Decimal:
    return Decimal(value_cents) / 100


def read_csv(path: Path) -> tuple[list[int], list[int], list[int]]:
    """Open times (ns), opens and closes (cents) of a CSV in the bench format."""
    open_ns: list[int] = []
    opens: list[int] = []
    closes: list[int] = []
    with path.open() as handle:
        if next(handle).strip() != CSV_HEADER:
            raise ValueError(f"file {path}: not in the bench CSV format")
        for line in handle:
            fields = line.split(",")
            open_ns.append(int(fields[0]) * NS_PER_MS)
            opens.append(cents(fields[1]))
            closes.append(cents(fields[4]))
    return open_ns, opens, closes


def reference_backtest(path: Path) -> Reference:
    open_ns, opens, closes = read_csv(path)
    fills: list[Fill] = []
    round_trips: list[RoundTrip] = []
    cash = START_CASH
    position = 0  # whole BTC: the strategy only ever holds 0 or 1
    pending = 0  # signed quantity decided at the previous close
    entry: Fill | None = None
    fast_sum = slow_sum = 0
    last_sign = 0
    ties = bridged_ties = 0
    sign_before_ties = 0  # last_sign when the current run of ties began; 0: no run
    for index, close in enumerate(closes):
        if pending:  # the order decided at bar index-1's close fills at this bar's open
            price = to_money(opens[index])
            quantity = Decimal(abs(pending))
            commission = price * quantity * FEE_RATE
            side = "buy" if pending > 0 else "sell"
            fill = Fill(open_ns[index], side, price, quantity, commission)
            fills.append(fill)
            cash += (price * quantity if pending < 0 else -price * quantity) - commission
            position += pending
            if pending > 0:
                entry = fill
            else:
                assert entry is not None
                round_trips.append(RoundTrip(
                    entry.ts_ns, fill.ts_ns, quantity, entry.price, price,
                    (price - entry.price) * quantity, entry.commission + commission,
                ))
                entry = None
            pending = 0
        fast_sum += close
        slow_sum += close
        if index >= FAST:
            fast_sum -= closes[index - FAST]
        if index >= SLOW:
            slow_sum -= closes[index - SLOW]
        if index < SLOW - 1:
            continue
        # fast − slow = Σ10/10 − Σ30/30 has the sign of 3·Σ10 − Σ30: exact in cents.
        difference = (SLOW // FAST) * fast_sum - slow_sum
        sign = (difference > 0) - (difference < 0)
        if sign == 0:
            ties += 1
            sign_before_ties = sign_before_ties or last_sign
            continue  # a tie keeps the last non-zero sign
        if sign_before_ties:
            bridged_ties += sign == sign_before_ties
            sign_before_ties = 0
        if sign > 0 > last_sign and position == 0:
            pending = 1
        elif sign < 0 < last_sign and position > 0:
            pending = -position
        last_sign = sign
    final_equity = cash + position * to_money(closes[-1])
    return Reference(fills, round_trips, cash, position, final_equity, ties, bridged_ties)


# -- the engine ------------------------------------------------------------------------


def engine_backtest(csv_path: Path, folder: Path) -> BacktestResult:
    config = folder / "sma.toml"
    config.write_text(CONFIG.format(path=csv_path.as_posix(), fast=FAST, slow=SLOW))
    return prepare_backtest(config).run()


def assert_engine_matches_reference(result: BacktestResult, reference: Reference) -> None:
    assert result.faults == []
    engine_fills = [
        Fill(f.ts_event, str(f.side), f.last_price, f.last_quantity, f.commission)
        for f in result.fills
    ]
    # Compare the heads first: a mismatch then names the first differing fill.
    for number, (engine_fill, reference_fill) in enumerate(
        zip(engine_fills, reference.fills, strict=False)
    ):
        assert engine_fill == reference_fill, f"fill #{number} differs"
    assert len(engine_fills) == len(reference.fills)
    engine_trips = [
        RoundTrip(t.opened_ns, t.closed_ns, t.quantity, t.average_entry_price,
                  t.average_exit_price, t.realized_pnl, t.fees)
        for t in result.trades
    ]
    assert engine_trips == reference.round_trips
    assert all(t.side == "long" and t.instrument_id == "BTC/USDT.SIM" for t in result.trades)
    assert result.balances == {"BTC": Decimal(reference.position), "USDT": reference.cash}
    final_ns, final_equity = result.equity_curve[-1]
    assert final_equity == reference.final_equity
    assert str(final_equity) == str(final_equity.quantize(Decimal("0.00000001")))  # no float
    assert result.report.fills == len(reference.fills)
    assert result.report.trade_count == len(reference.round_trips)


def load_make_bars() -> ModuleType:
    if not MAKE_BARS.is_file():
        pytest.skip(f"the canonical data generator {MAKE_BARS} is absent (../shared/bench)")
    spec = importlib.util.spec_from_file_location("canonical_make_bars", MAKE_BARS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sma_cross_on_canonical_100k_bars_matches_reference(tmp_path: Path) -> None:
    make_bars = load_make_bars()
    import numpy as np

    csv_path = tmp_path / "bars_100000.csv"
    np.savetxt(csv_path, make_bars.make_bars(100_000, 42), fmt=CSV_FORMAT, header=CSV_HEADER,
               comments="")
    reference = reference_backtest(csv_path)

    result = engine_backtest(csv_path, tmp_path)

    assert result.items_processed == 100_000
    assert len(reference.fills) > 1_000
    assert_engine_matches_reference(result, reference)


def test_sma_cross_on_bundled_sample_matches_reference(tmp_path: Path) -> None:
    reference = reference_backtest(SAMPLE)

    result = engine_backtest(SAMPLE, tmp_path)

    assert result.items_processed == 20_000
    assert len(reference.fills) > 100
    assert reference.position == 1  # ends long: final equity marks BTC at the last close
    assert_engine_matches_reference(result, reference)


def write_walk_with_ties(path: Path, bars: int, seed: int) -> None:
    """A walk of mostly-0 or ±1 cent steps near 100.00, so 3·Σ10 − Σ30 is often exactly 0."""
    generator = random.Random(seed)
    start_ms = 1_672_531_200_000
    close = 10_000
    lines = [CSV_HEADER]
    for index in range(bars):
        open_ = close
        close = max(close + generator.choice((-1, 0, 0, 0, 1)), 1)
        high, low = max(open_, close) + 1, max(min(open_, close) - 1, 1)
        lines.append(
            f"{start_ms + 60_000 * index},{open_ / 100:.2f},{high / 100:.2f},{low / 100:.2f},"
            f"{close / 100:.2f},1.0"
        )
    path.write_text("\n".join(lines) + "\n")


def test_sma_cross_on_walk_with_exact_ties_matches_reference(tmp_path: Path) -> None:
    csv_path = tmp_path / "ties.csv"
    write_walk_with_ties(csv_path, bars=5_000, seed=7)
    reference = reference_backtest(csv_path)

    result = engine_backtest(csv_path, tmp_path)

    assert reference.ties > 20  # the tie rule is exercised, not just defined
    assert reference.bridged_ties > 5
    assert len(reference.fills) > 50
    assert_engine_matches_reference(result, reference)
