"""Monte Carlo over trades, sensitivity neighbourhoods and data shocks."""

from __future__ import annotations

import pytest

from engine.research import Axis, Ohlc, gap, neighbourhood, trade_monte_carlo, volatility_spike

PNLS = [120.0, -80.0, 45.0, -200.0, 310.0, -15.0, 60.0, -90.0]


def test_monte_carlo_same_seed_same_paths_other_seed_other_paths() -> None:
    first = trade_monte_carlo(PNLS, 10_000.0, paths=200, seed=4)
    again = trade_monte_carlo(PNLS, 10_000.0, paths=200, seed=4)
    other = trade_monte_carlo(PNLS, 10_000.0, paths=200, seed=5)

    assert first == again
    assert first.final_equity != other.final_equity


def test_monte_carlo_shuffle_keeps_final_equity_and_varies_drawdown() -> None:
    result = trade_monte_carlo(PNLS, 10_000.0, paths=300, method="shuffle", seed=1)

    assert result.final_equity == pytest.approx([10_000.0 + sum(PNLS)] * 300)
    assert len(set(result.max_drawdown)) > 5
    # the worst order (all losses first) bounds every path's drawdown
    assert max(result.max_drawdown) <= 385.0 / 10_000.0 + 1e-12
    assert result.probability_of_loss == 0.0  # the trades net +150 in any order


def test_monte_carlo_bootstrap_quantiles_are_ordered() -> None:
    result = trade_monte_carlo(PNLS, 10_000.0, paths=500, method="bootstrap", seed=2)

    finals = list(result.final_equity_quantiles.values())
    assert finals == sorted(finals)
    assert 0.0 < result.probability_of_loss < 1.0


def test_monte_carlo_refuses_no_trades() -> None:
    with pytest.raises(ValueError, match="no trades"):
        trade_monte_carlo([], 1.0)


def test_neighbourhood_is_a_surface_over_two_axes_and_a_line_beyond() -> None:
    axes = [Axis(name="fast", low=2, high=20, step=1, integer=True),
            Axis(name="slow", low=10, high=60, step=5, integer=True),
            Axis(name="band", low=0.0, high=1.0, step=0.25)]

    points = neighbourhood({"fast": 3, "slow": 10, "band": 0.5, "qty": 1}, axes, radius=1)

    surface = {(p["fast"], p["slow"]) for p in points if p["band"] == 0.5}
    assert surface == {(2, 10), (2, 15), (3, 10), (3, 15), (4, 10), (4, 15)}  # clipped at 10
    assert sorted(p["band"] for p in points if (p["fast"], p["slow"]) == (3, 10)) == \
        [0.25, 0.5, 0.75]
    assert all(p["qty"] == 1 for p in points)


def test_gap_scales_every_price_from_the_bar_on() -> None:
    bars = Ohlc.of([10.0, 11.0, 12.0], [10.5, 11.5, 12.5], [9.5, 10.5, 11.5],
                   [11.0, 12.0, 13.0])

    shocked = gap(bars, 1, -0.5)

    assert shocked.close == (11.0, 6.0, 6.5)
    assert shocked.open[:1] == bars.open[:1]


def test_volatility_spike_multiplies_returns_in_the_window_only() -> None:
    closes = [100.0, 101.0, 100.0, 102.0, 103.0]
    bars = Ohlc.of(closes, [c + 1 for c in closes], [c - 1 for c in closes], closes)

    shocked = volatility_spike(bars, 1, 2, 3.0)

    returns = [b / a - 1 for a, b in zip(shocked.close, shocked.close[1:], strict=False)]
    original = [b / a - 1 for a, b in zip(closes, closes[1:], strict=False)]
    assert returns[0] == pytest.approx(3 * original[0])
    assert returns[1] == pytest.approx(3 * original[1])
    assert returns[2:] == pytest.approx(original[2:])
    assert all(h >= max(o, c) and lo <= min(o, c) for o, h, lo, c in
               zip(shocked.open, shocked.high, shocked.low, shocked.close, strict=True))


def test_volatility_spike_refuses_a_negative_price() -> None:
    bars = Ohlc.of([100.0, 50.0], [100.0, 50.0], [100.0, 50.0], [100.0, 50.0])

    with pytest.raises(ValueError, match="price <= 0"):
        volatility_spike(bars, 1, 1, 3.0)
