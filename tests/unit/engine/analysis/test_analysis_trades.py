"""ClosedTrade validation and trade statistics against hand cases and numpy."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import numpy as np
import pytest

from engine.analysis.trades import (
    ClosedTrade,
    longest_runs,
    time_in_market_ns,
    trade_statistics,
)

HOUR_NS = 3_600 * 1_000_000_000


def make_trade(
    realized: str,
    fees: str = "0",
    *,
    opened_ns: int = 0,
    closed_ns: int = HOUR_NS,
    side: str = "long",
) -> ClosedTrade:
    return ClosedTrade(
        instrument_id="BTC-USDT.SIM",
        side=side,
        opened_ns=opened_ns,
        closed_ns=closed_ns,
        quantity=Decimal("0.5"),
        average_entry_price=Decimal("100"),
        average_exit_price=Decimal("101"),
        realized_pnl=Decimal(realized),
        fees=Decimal(fees),
    )


def defined(value: float | None) -> float:
    """The value of a statistic the test expects to be defined."""
    assert value is not None
    return value


def test_net_pnl_subtracts_fees_exactly() -> None:
    trade = make_trade("10.10", "0.20")
    assert trade.net_pnl == Decimal("9.90")
    assert trade.duration_ns == HOUR_NS


def test_closed_trade_round_trips_through_json_with_decimals() -> None:
    trade = make_trade("1.23456789012345678901", "0.01", side="short")
    encoded = msgspec.json.encode(trade)
    assert b'"realized_pnl":"1.23456789012345678901"' in encoded
    assert msgspec.json.decode(encoded, type=ClosedTrade) == trade


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"side": "flat"}, "side 'flat': must be 'long' or 'short'"),
        ({"closed_ns": -1}, "closed_ns -1: must not precede opened_ns 0"),
        ({"quantity": Decimal(0)}, "quantity 0: a closed trade held a position"),
        ({"average_exit_price": Decimal(-1)}, "average prices 100/-1: must be positive"),
        ({"fees": Decimal("NaN")}, "fees Decimal\\('NaN'\\): must be a finite Decimal"),
        ({"realized_pnl": Decimal("Infinity")}, "realized_pnl .*: must be a finite Decimal"),
    ],
)
def test_closed_trade_rejects_impossible_values(changes: dict[str, object], message: str) -> None:
    fields = msgspec.structs.asdict(make_trade("1"))
    fields.update(changes)
    with pytest.raises(ValueError, match=message):
        ClosedTrade(**fields)


def test_decoding_an_invalid_trade_is_a_validation_error() -> None:
    payload = msgspec.json.encode(make_trade("1")).replace(b'"long"', b'"sideways"')
    with pytest.raises(msgspec.ValidationError, match="must be 'long' or 'short'"):
        msgspec.json.decode(payload, type=ClosedTrade)


def test_statistics_hand_case() -> None:
    # Net pnls in closing order: 10, -5, -2 (gross +1, fees 3), 20, 5, 7, 0 (gross 2 = fees),
    # -15, 1  ->  W L L W W W 0 L W.
    specs = [
        ("10", "0"),
        ("-5", "0"),
        ("1", "3"),
        ("20", "0"),
        ("5", "0"),
        ("7", "0"),
        ("2", "2"),
        ("-15", "0"),
        ("1", "0"),
    ]
    trades = [
        make_trade(realized, fees, opened_ns=i * HOUR_NS, closed_ns=(i + 2) * HOUR_NS)
        for i, (realized, fees) in enumerate(specs)
    ]
    # Closing order, not input order, defines streaks.
    stats = trade_statistics(list(reversed(trades)))
    assert (stats.trade_count, stats.winning_trades, stats.losing_trades) == (9, 5, 3)
    assert stats.breakeven_trades == 1
    assert stats.win_rate == pytest.approx(5 / 9)
    assert stats.gross_profit == 43.0
    assert stats.gross_loss == -22.0
    assert stats.profit_factor == pytest.approx(43 / 22)
    assert stats.average_win == pytest.approx(43 / 5)
    assert stats.average_loss == pytest.approx(-22 / 3)
    assert stats.payoff_ratio == pytest.approx((43 / 5) / (22 / 3))
    assert (stats.largest_win, stats.largest_loss) == (20.0, -15.0)
    assert stats.expectancy == pytest.approx(21 / 9)
    assert stats.average_trade_duration_hours == pytest.approx(2.0)
    assert (stats.max_consecutive_wins, stats.max_consecutive_losses) == (3, 2)


def test_statistics_without_trades() -> None:
    stats = trade_statistics([])
    assert (stats.trade_count, stats.winning_trades, stats.losing_trades) == (0, 0, 0)
    assert stats.gross_profit == 0.0 and stats.gross_loss == 0.0
    undefined = (
        "win_rate",
        "profit_factor",
        "average_win",
        "average_loss",
        "largest_win",
        "largest_loss",
        "expectancy",
        "payoff_ratio",
        "average_trade_duration_hours",
    )
    for name in undefined:
        assert getattr(stats, name) is None, name
    assert (stats.max_consecutive_wins, stats.max_consecutive_losses) == (0, 0)


def test_statistics_all_winning() -> None:
    stats = trade_statistics([make_trade("1"), make_trade("2"), make_trade("3")])
    assert stats.win_rate == 1.0
    assert stats.profit_factor is None
    assert stats.average_loss is None and stats.largest_loss is None
    assert stats.payoff_ratio is None
    assert (stats.max_consecutive_wins, stats.max_consecutive_losses) == (3, 0)


def test_statistics_match_numpy_on_random_trades() -> None:
    rng = np.random.default_rng(7)
    gross = np.round(rng.normal(2.0, 25.0, size=400), 2)
    fees = np.round(rng.uniform(0.0, 1.5, size=400), 2)
    hours = rng.integers(1, 72, size=400)
    trades = [
        make_trade(
            f"{g:.2f}",
            f"{f:.2f}",
            opened_ns=i * 100 * HOUR_NS,
            closed_ns=(i * 100 + int(h)) * HOUR_NS,
        )
        for i, (g, f, h) in enumerate(zip(gross, fees, hours, strict=True))
    ]
    net = gross - fees
    wins, losses = net[net > 0], net[net < 0]
    stats = trade_statistics(trades)
    assert stats.winning_trades == wins.size and stats.losing_trades == losses.size
    np.testing.assert_allclose(defined(stats.win_rate), wins.size / net.size)
    np.testing.assert_allclose(defined(stats.profit_factor), wins.sum() / -losses.sum())
    np.testing.assert_allclose(defined(stats.average_win), wins.mean())
    np.testing.assert_allclose(defined(stats.average_loss), losses.mean())
    np.testing.assert_allclose(defined(stats.payoff_ratio), wins.mean() / -losses.mean())
    np.testing.assert_allclose(defined(stats.expectancy), net.mean())
    np.testing.assert_allclose(defined(stats.largest_win), wins.max())
    np.testing.assert_allclose(defined(stats.largest_loss), losses.min())
    np.testing.assert_allclose(defined(stats.average_trade_duration_hours), hours.mean())
    signs = np.sign(net).astype(int)
    expected_runs = {1: 0, -1: 0}
    run = 0
    for index, sign in enumerate(signs):
        run = run + 1 if index and sign == signs[index - 1] else 1
        if sign:
            expected_runs[sign] = max(expected_runs[sign], run)
    assert stats.max_consecutive_wins == expected_runs[1]
    assert stats.max_consecutive_losses == expected_runs[-1]


def test_longest_runs_breakeven_ends_both_runs() -> None:
    assert longest_runs([]) == (0, 0)
    assert longest_runs([1, 1, 0, 1, -1, -1, -1, 0, -1]) == (2, 3)
    assert longest_runs([0, 0, 0]) == (0, 0)


def test_time_in_market_counts_overlaps_once_and_clips_to_the_window() -> None:
    trades = [
        make_trade("1", opened_ns=10, closed_ns=30),
        make_trade("1", opened_ns=20, closed_ns=40),  # overlaps the first
        make_trade("1", opened_ns=50, closed_ns=60),
        make_trade("1", opened_ns=90, closed_ns=150),  # clipped at 100
        make_trade("1", opened_ns=0, closed_ns=5),  # before the window
    ]
    assert time_in_market_ns(trades, 8, 100) == 30 + 10 + 10
    assert time_in_market_ns([], 0, 100) == 0
    with pytest.raises(ValueError, match="end_ns 0: must not precede start_ns 1"):
        time_in_market_ns([], 1, 0)
