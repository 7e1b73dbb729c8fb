"""compute_report against independent numpy computations, edge cases and properties."""

from __future__ import annotations

import math
from decimal import Decimal

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from engine.analysis import ClosedTrade, PerformanceReport, compute_report

DAY_NS = 86_400 * 1_000_000_000
HOUR_NS = 3_600 * 1_000_000_000
START_NS = 1_700_000_000 * 1_000_000_000
YEAR_NS = 365.25 * DAY_NS


def synthetic_curve() -> list[tuple[int, float]]:
    """Hourly equity over ~41 days from seeded normal returns."""
    rng = np.random.default_rng(7)
    steps = rng.normal(0.0002, 0.006, size=1_000)
    equity = 10_000.0 * np.concatenate(([1.0], np.cumprod(1.0 + steps)))
    return [(START_NS + i * HOUR_NS, float(value)) for i, value in enumerate(equity)]


def make_trade(net: str, opened_ns: int, closed_ns: int) -> ClosedTrade:
    return ClosedTrade(
        instrument_id="ETH-USDT.SIM",
        side="long",
        opened_ns=opened_ns,
        closed_ns=closed_ns,
        quantity=Decimal(1),
        average_entry_price=Decimal(2000),
        average_exit_price=Decimal(2001),
        realized_pnl=Decimal(net),
        fees=Decimal(0),
    )


def report_for(
    curve: list[tuple[int, float]],
    trades: list[ClosedTrade] | None = None,
    *,
    periods_per_year: float | None = None,
    risk_free_rate: float = 0.0,
    exposure_ns: int | None = None,
) -> PerformanceReport:
    return compute_report(
        curve,
        trades or [],
        starting_equity=10_000.0,
        fills=4,
        total_fees=1.25,
        periods_per_year=periods_per_year,
        risk_free_rate=risk_free_rate,
        exposure_ns=exposure_ns,
    )


def defined(value: float | None) -> float:
    """The value of a metric the test expects to be defined."""
    assert value is not None
    return value


def test_return_metrics_match_numpy() -> None:
    curve = synthetic_curve()
    risk_free = 0.03
    report = report_for(curve, risk_free_rate=risk_free)
    ts = np.array([t for t, _ in curve], dtype=np.int64)
    e = np.array([v for _, v in curve])
    r = np.diff(e) / e[:-1]
    ppy = YEAR_NS / np.median(np.diff(ts))
    years = (ts[-1] - ts[0]) / YEAR_NS
    excess = r.mean() - risk_free / ppy
    sd = r.std(ddof=1)
    downside = np.sqrt(np.mean(np.minimum(r, 0.0) ** 2))
    peak = np.maximum.accumulate(e)
    mdd = np.max((peak - e) / peak)
    cagr = (e[-1] / 10_000.0) ** (1.0 / years) - 1.0
    q05, q95 = np.quantile(r, [0.05, 0.95])
    centred = r - r.mean()
    m2 = np.mean(centred**2)
    expected = {
        "periods_per_year": 365.25 * 24,
        "duration_days": (ts[-1] - ts[0]) / DAY_NS,
        "final_equity": e[-1],
        "net_profit": e[-1] - 10_000.0,
        "total_return": e[-1] / 10_000.0 - 1.0,
        "annualized_return": r.mean() * ppy,
        "cagr": cagr,
        "annualized_volatility": sd * np.sqrt(ppy),
        "max_drawdown": mdd,
        "value_at_risk_95": -q05,
        "conditional_value_at_risk_95": -r[r <= q05].mean(),
        "sharpe_ratio": excess / sd * np.sqrt(ppy),
        "sortino_ratio": excess / downside * np.sqrt(ppy),
        "calmar_ratio": cagr / mdd,
        "omega_ratio": r[r > 0].sum() / -r[r < 0].sum(),
        "tail_ratio": abs(q95) / abs(q05),
        "skewness": np.mean(centred**3) / m2**1.5,
        "kurtosis": np.mean(centred**4) / m2**2 - 3.0,
        "best_period_return": r.max(),
        "worst_period_return": r.min(),
    }
    for name, value in expected.items():
        np.testing.assert_allclose(getattr(report, name), value, rtol=1e-9, err_msg=name)
    assert report.period_count == r.size
    assert (report.start_ns, report.end_ns) == (ts[0], ts[-1])


def test_max_drawdown_duration_matches_a_numpy_scan() -> None:
    curve = synthetic_curve()
    report = report_for(curve)
    e = np.array([v for _, v in curve])
    peak = np.maximum.accumulate(e)
    # Index of the running peak each sample is measured from; a drawdown episode lasts
    # from that index to the first later sample back at the peak, or to the end.
    peak_index = np.maximum.accumulate(np.where(e >= peak, np.arange(e.size), 0))
    longest = 0
    for start in np.unique(peak_index[e < peak]):
        later = np.nonzero(e[start + 1 :] >= e[start])[0]
        end = start + 1 + later[0] if later.size else e.size - 1
        longest = max(longest, end - start)
    assert report.max_drawdown_duration_periods == longest
    np.testing.assert_allclose(report.max_drawdown_duration_days, longest / 24)


def test_periods_per_year_override_for_daily_stock_bars() -> None:
    curve = [(START_NS + i * DAY_NS, v) for i, (_, v) in enumerate(synthetic_curve()[:300])]
    report = report_for(curve, periods_per_year=252.0)
    e = np.array([v for _, v in curve])
    r = np.diff(e) / e[:-1]
    assert report.periods_per_year == 252.0
    sd = r.std(ddof=1)
    np.testing.assert_allclose(defined(report.annualized_volatility), sd * np.sqrt(252))
    np.testing.assert_allclose(defined(report.sharpe_ratio), r.mean() / sd * np.sqrt(252))


def test_empty_curve_and_no_trades() -> None:
    report = report_for([])
    assert report.start_ns is None and report.end_ns is None
    assert (report.duration_days, report.period_count, report.periods_per_year) == (0.0, 0, None)
    assert (report.final_equity, report.total_return, report.net_profit) == (10_000.0, 0.0, 0.0)
    assert report.max_drawdown == 0.0 and report.max_drawdown_duration_days == 0.0
    for name in (
        "annualized_return",
        "cagr",
        "annualized_volatility",
        "value_at_risk_95",
        "sharpe_ratio",
        "sortino_ratio",
        "calmar_ratio",
        "omega_ratio",
        "tail_ratio",
        "skewness",
        "kurtosis",
        "best_period_return",
        "win_rate",
        "profit_factor",
        "expectancy",
        "exposure",
    ):
        assert getattr(report, name) is None, name
    assert (report.trade_count, report.fills, report.total_fees) == (0, 4, 1.25)


def test_one_point_curve() -> None:
    report = report_for([(START_NS, 10_500.0)])
    assert report.start_ns == report.end_ns == START_NS
    assert report.total_return == pytest.approx(0.05)
    assert report.period_count == 0 and report.periods_per_year is None
    assert report.cagr is None and report.sharpe_ratio is None and report.exposure is None


def test_two_point_curve_has_a_return_but_no_volatility() -> None:
    report = report_for([(START_NS, 10_000.0), (START_NS + DAY_NS, 9_900.0)])
    assert report.best_period_return == report.worst_period_return == pytest.approx(-0.01)
    assert report.value_at_risk_95 == pytest.approx(0.01)
    assert report.annualized_volatility is None and report.sharpe_ratio is None
    assert report.sortino_ratio is not None and report.sortino_ratio < 0


def test_zero_volatility_flat_equity() -> None:
    curve = [(START_NS + i * HOUR_NS, 10_000.0) for i in range(50)]
    report = report_for(curve)
    assert report.annualized_volatility == 0.0
    assert report.total_return == 0.0 and report.cagr == 0.0
    for name in (
        "sharpe_ratio",
        "sortino_ratio",
        "calmar_ratio",
        "omega_ratio",
        "tail_ratio",
        "skewness",
        "kurtosis",
    ):
        assert getattr(report, name) is None, name
    assert report.value_at_risk_95 == 0.0


def test_constant_growth_has_no_spurious_sharpe() -> None:
    # Returns differ only by rounding noise (~1e-17); the ratio is undefined, not 1e15.
    curve = [(START_NS + i * DAY_NS, 10_000.0 * 1.001**i) for i in range(200)]
    report = report_for(curve)
    assert report.annualized_volatility is not None and report.annualized_volatility < 1e-12
    assert report.sharpe_ratio is None and report.skewness is None
    assert report.sortino_ratio is None and report.omega_ratio is None
    assert report.max_drawdown == 0.0 and report.calmar_ratio is None
    assert report.cagr == pytest.approx(1.001**365.25 - 1.0, rel=1e-9)


def test_equity_that_never_recovers() -> None:
    values = [10_000.0, 10_200.0, 9_000.0, 9_500.0, 8_000.0, 8_100.0]
    curve = [(START_NS + i * DAY_NS, v) for i, v in enumerate(values)]
    report = report_for(curve)
    assert report.max_drawdown == pytest.approx(2_200 / 10_200)
    assert report.max_drawdown_duration_periods == 4
    assert report.max_drawdown_duration_days == 4.0
    assert report.calmar_ratio is not None and report.calmar_ratio < 0


def test_all_winning_trades_and_exposure_from_trades() -> None:
    curve = [(START_NS + i * HOUR_NS, 10_000.0 + i) for i in range(11)]
    trades = [
        make_trade("5", START_NS, START_NS + 2 * HOUR_NS),
        make_trade("7", START_NS + HOUR_NS, START_NS + 3 * HOUR_NS),  # overlaps
        make_trade("9", START_NS + 5 * HOUR_NS, START_NS + 6 * HOUR_NS),
    ]
    report = report_for(curve, trades)
    assert (report.trade_count, report.winning_trades, report.losing_trades) == (3, 3, 0)
    assert report.win_rate == 1.0
    assert report.profit_factor is None and report.payoff_ratio is None
    assert report.average_loss is None and report.largest_loss is None
    assert report.max_consecutive_wins == 3
    assert report.exposure == pytest.approx(4 / 10)
    assert report.average_trade_duration_hours == pytest.approx(5 / 3)


def test_exposure_ns_overrides_trades_and_is_validated() -> None:
    curve = [(START_NS, 10_000.0), (START_NS + 10 * HOUR_NS, 10_100.0)]
    assert report_for(curve, exposure_ns=HOUR_NS).exposure == pytest.approx(0.1)
    with pytest.raises(ValueError, match="exposure_ns 36000000000001: exceeds the curve's span"):
        report_for(curve, exposure_ns=10 * HOUR_NS + 1)
    with pytest.raises(ValueError, match="exposure_ns -1: must be a non-negative integer"):
        report_for(curve, exposure_ns=-1)


def test_decimal_equity_is_accepted() -> None:
    curve = [(START_NS + i * DAY_NS, Decimal("10000.00") + i) for i in range(5)]
    report = compute_report(curve, [], starting_equity=10_000.0, fills=0, total_fees=0.0)
    assert report.final_equity == 10_004.0


def test_report_has_at_least_30_metrics_and_encodes_to_json() -> None:
    trades = [make_trade("3", START_NS, START_NS + HOUR_NS)]
    report = report_for(synthetic_curve(), trades)
    assert len(PerformanceReport.__struct_fields__) >= 30
    decoded = msgspec.json.decode(msgspec.json.encode(report), type=PerformanceReport)
    assert decoded == report


def test_cagr_overflow_is_undefined_not_an_error() -> None:
    curve = [(START_NS, 10_000.0), (START_NS + 1_000, 1e12)]
    report = report_for(curve)
    assert report.cagr is None and report.calmar_ratio is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"starting_equity": 0.0}, "starting_equity 0.0: returns need a positive start"),
        ({"starting_equity": math.nan}, "starting_equity nan"),
        ({"fills": -1}, "fills -1: must be a non-negative integer"),
        ({"total_fees": math.inf}, "total_fees inf: must be finite"),
        ({"risk_free_rate": math.nan}, "risk_free_rate nan: must be finite"),
        ({"periods_per_year": -252.0}, "periods_per_year -252.0: must be positive"),
    ],
)
def test_invalid_arguments_raise(kwargs: dict[str, float], message: str) -> None:
    arguments: dict[str, float] = {"starting_equity": 1.0, "fills": 0, "total_fees": 0.0}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        compute_report([(0, 1.0), (1, 1.0)], [], **arguments)  # type: ignore[arg-type]


def test_invalid_curves_raise() -> None:
    with pytest.raises(ValueError, match=r"timestamp\[1\] 5: must be later"):
        report_for([(5, 1.0), (5, 1.0)])
    with pytest.raises(ValueError, match=r"equity\[0\] 0.0"):
        report_for([(1, 0.0)])
    with pytest.raises(ValueError, match=r"equity\[1\] inf: must be a finite number"):
        report_for([(1, 1.0), (2, math.inf)])


@settings(max_examples=200, deadline=None)
@given(
    equity=st.lists(st.floats(min_value=1e-3, max_value=1e9), min_size=0, max_size=60),
    pnls=st.lists(st.integers(min_value=-10_000, max_value=10_000), max_size=60),
)
def test_properties(equity: list[float], pnls: list[int]) -> None:
    curve = [(START_NS + i * HOUR_NS, value) for i, value in enumerate(equity)]
    trades = [make_trade(f"{pnl / 100}", i, i + 1) for i, pnl in enumerate(pnls)]
    report = compute_report(curve, trades, starting_equity=1_000.0, fills=0, total_fees=0.0)
    assert 0.0 <= report.max_drawdown <= 1.0
    if report.trade_count:
        assert report.win_rate is not None
        assert math.isclose(report.win_rate * report.trade_count, report.winning_trades)
    else:
        assert report.win_rate is None and report.winning_trades == 0
    for name, value in msgspec.structs.asdict(report).items():
        # msgspec would silently encode inf/nan as null; the report must never hold them.
        assert not isinstance(value, float) or math.isfinite(value), name
