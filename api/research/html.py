"""HTML reports: a backtest, a study, a stress test; plotly charts, readable offline.

Each report is one self-contained file: plotly.js is inlined once at the top (about
4.8 MB), so it opens from disk or an e-mail attachment with no network. Charts are made
by plotly (and, for studies, by Optuna's own plotly visualizations: optimization
history, parameter importance, the metric surface as a contour, the Pareto front), so
nothing here draws. Every chart sits in a `<section>` with the id `chart-<name>`.

* backtest: equity curve, drawdown, monthly returns heat map, trade pnl distribution.
* study: history, importance, surface (the first two parameters), Pareto front (several
  objectives), intermediate values (pruning), and the best run's backtest charts.
* portfolio: weights and risk contributions, the strategies' correlations, the run.
* stress: Monte Carlo final equity and drawdown distributions, the sensitivity surface
  around the optimum, and the shock scenarios against the baseline.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import optuna
import plotly.graph_objects as go
import plotly.offline
from optuna.trial import TrialState

from engine.analysis import ClosedTrade, PerformanceReport, drawdown_series, report_rows

__all__ = (
    "SavedResult",
    "backtest_charts",
    "backtest_report",
    "monthly_returns",
    "portfolio_report",
    "stress_report",
    "study_report",
    "write_report",
)

Chart = tuple[str, str, go.Figure]
"""`(name, title, figure)`: one chart of a report."""

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table.summary { border-collapse: collapse; font-size: .9rem; }
table.summary td { padding: .15rem .8rem; border-bottom: 1px solid #eee; }
table.summary td:last-child { text-align: right; font-variant-numeric: tabular-nums; }
p.note { color: #777; font-style: italic; }
"""


class SavedResult(msgspec.Struct, kw_only=True):
    """The parts of a saved backtest JSON (`tradebus backtest`) a report draws."""

    name: str
    report: PerformanceReport
    equity_curve: list[tuple[int, Decimal]]
    trades: list[ClosedTrade]


def _time(ts_ns: int) -> datetime:
    return datetime.fromtimestamp(ts_ns / 1e9, tz=UTC)


def monthly_returns(curve: Sequence[tuple[int, float]]) -> dict[tuple[int, int], float]:
    """Return of each calendar month (UTC): its last equity over the previous month's last.

    The first month is measured from the curve's first sample.
    """
    result: dict[tuple[int, int], float] = {}
    if not curve:
        return result
    previous = curve[0][1]
    month_end: dict[tuple[int, int], float] = {}
    for ts_ns, equity in curve:
        moment = _time(ts_ns)
        month_end[(moment.year, moment.month)] = equity
    for month in sorted(month_end):
        result[month] = month_end[month] / previous - 1.0
        previous = month_end[month]
    return result


def backtest_charts(equity_curve: Sequence[tuple[int, float | Decimal]],
                    trades: Sequence[ClosedTrade], *, prefix: str = "") -> list[Chart]:
    """The four charts of one backtest."""
    curve = [(ts, float(value)) for ts, value in equity_curve]
    times = [_time(ts) for ts, _ in curve]
    values = [value for _, value in curve]
    equity = go.Figure(go.Scatter(x=times, y=values, mode="lines", name="equity"))
    equity.update_layout(yaxis_title="equity", xaxis_title="time (UTC)")
    drawdowns = [-d for d in drawdown_series(values)] if values and values[0] > 0 else []
    drawdown = go.Figure(go.Scatter(x=times, y=drawdowns, mode="lines", fill="tozeroy",
                                    name="drawdown", line={"color": "#c0392b"}))
    drawdown.update_layout(yaxis_title="drawdown", yaxis_tickformat=".2%")
    months = monthly_returns(curve)
    years = sorted({year for year, _ in months})
    grid = [[months.get((year, month)) for month in range(1, 13)] for year in years]
    heat = go.Figure(go.Heatmap(
        z=grid, x=[datetime(2000, m, 1).strftime("%b") for m in range(1, 13)],
        y=[str(year) for year in years], colorscale="RdYlGn", zmid=0.0,
        text=[["" if v is None else f"{v:.2%}" for v in row] for row in grid],
        texttemplate="%{text}", hovertemplate="%{y} %{x}: %{text}<extra></extra>"))
    heat.update_layout(yaxis_type="category")
    pnls = [float(t.realized_pnl - t.fees) for t in trades]
    distribution = go.Figure(go.Histogram(x=pnls, nbinsx=min(max(len(pnls) // 2, 5), 60),
                                          name="net pnl per trade"))
    distribution.update_layout(xaxis_title="net pnl per trade (after fees)",
                               yaxis_title="trades", bargap=0.05)
    if not pnls:
        distribution.add_annotation(text="no round trip was closed", showarrow=False,
                                    xref="paper", yref="paper", x=0.5, y=0.5)
    return [
        (f"{prefix}equity", "Equity curve", equity),
        (f"{prefix}drawdown", "Drawdown", drawdown),
        (f"{prefix}monthly-returns", "Monthly returns", heat),
        (f"{prefix}trades", f"Trade distribution ({len(pnls)} round trips)", distribution),
    ]


def backtest_report(result: Any, path: Path, *, title: str | None = None) -> Path:
    """Write the HTML report of a `BacktestResult` (or `SavedResult`) to `path`."""
    charts = backtest_charts(result.equity_curve, result.trades)
    return write_report(path, title or f"backtest {result.name}", charts,
                        summary=report_rows(result.report))


def _optuna_chart(make: Callable[[], go.Figure]) -> go.Figure | None:
    """An Optuna visualization, or None when the study cannot give it (too few trials)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna flags some plots as experimental
        try:
            return make()
        except (ValueError, RuntimeError, ZeroDivisionError):
            return None


def study_report(study: optuna.Study, summary: dict[str, Any], path: Path, *,
                 best: Any | None = None) -> Path:
    """Write the HTML report of a study (and of its best run, when given) to `path`."""
    from optuna import visualization as views

    names = [o["metric"] for o in summary["objectives"]]
    complete = [t for t in study.get_trials(deepcopy=False) if t.state is TrialState.COMPLETE]
    params = list(complete[0].params) if complete else []
    single = len(names) == 1

    def first(trial: optuna.trial.FrozenTrial) -> float:
        return float(trial.values[0])

    target = None if single else first
    made: list[tuple[str, str, go.Figure | None]] = [
        ("history", f"Optimization history ({names[0]})", _optuna_chart(
            lambda: views.plot_optimization_history(study, target=target,
                                                    target_name=names[0]))),
        ("importance", f"Parameter importance for {names[0]}", _optuna_chart(
            lambda: views.plot_param_importances(study, target=target, target_name=names[0]))),
    ]
    if len(params) >= 2:
        made.append(("surface", f"Metric surface: {names[0]} over {params[0]} and {params[1]}",
                     _optuna_chart(lambda: views.plot_contour(
                         study, params=params[:2], target=target, target_name=names[0]))))
    if not single:
        made.append(("pareto", "Pareto front", _optuna_chart(
            lambda: views.plot_pareto_front(study, target_names=names))))
    if any(t.intermediate_values for t in study.get_trials(deepcopy=False)):
        made.append(("intermediate", "Intermediate values (pruning checkpoints)",
                     _optuna_chart(lambda: views.plot_intermediate_values(study))))
    charts = [(name, title, figure) for name, title, figure in made if figure is not None]
    notes = [f"{title}: not enough completed trials to draw it." for _, title, figure in made
             if figure is None]
    rows = [(state, str(count)) for state, count in summary["counts"].items()]
    for key, value in summary.get("overfitting", {}).items():
        rows.append((key.replace("_", " "), "n/a" if value is None else f"{value:.4g}"))
    for trial in summary["best"][:5]:
        shown = ", ".join(f"{k}={v}" for k, v in trial["params"].items())
        rows.append((f"best trial {trial['number']}", f"{shown} -> {trial['values']}"))
    if best is not None:
        charts += backtest_charts(best.equity_curve, best.trades, prefix="best-")
        rows += [(f"best run: {label}", value) for label, value in report_rows(best.report)]
    return write_report(path, f"study {study.study_name}", charts, summary=rows, notes=notes)


def stress_report(stress: Any, path: Path) -> Path:
    """Write the HTML report of a `StressResult` to `path`."""
    charts: list[Chart] = []
    mc = stress.monte_carlo
    rows: list[tuple[str, str]] = [("parameters", ", ".join(
        f"{k}={v}" for k, v in stress.params.items()))]
    if mc is not None:
        finals = go.Figure(go.Histogram(x=list(mc.final_equity), nbinsx=50))
        finals.update_layout(xaxis_title="final equity", yaxis_title="paths")
        drawdowns = go.Figure(go.Histogram(x=list(mc.max_drawdown), nbinsx=50,
                                           marker={"color": "#c0392b"}))
        drawdowns.update_layout(xaxis_title="max drawdown", xaxis_tickformat=".2%",
                                yaxis_title="paths")
        charts += [("mc-final-equity", f"Monte Carlo final equity ({mc.method}, {mc.paths} "
                    f"paths)", finals),
                   ("mc-drawdown", "Monte Carlo max drawdown", drawdowns)]
        rows += [(f"final equity {k}", f"{v:,.2f}") for k, v in mc.final_equity_quantiles.items()]
        rows += [(f"max drawdown {k}", f"{v:.4%}") for k, v in mc.max_drawdown_quantiles.items()]
        rows.append(("probability of a loss", f"{mc.probability_of_loss:.2%}"))
    if len(stress.axes) == 2 and stress.sensitivity:
        x_name, y_name = stress.axes
        xs = sorted({p.params[x_name] for p in stress.sensitivity})
        ys = sorted({p.params[y_name] for p in stress.sensitivity})
        cells = {(p.params[x_name], p.params[y_name]): p.values[0] if p.values else None
                 for p in stress.sensitivity}
        surface = go.Figure(go.Heatmap(z=[[cells.get((x, y)) for x in xs] for y in ys],
                                       x=[str(x) for x in xs], y=[str(y) for y in ys],
                                       colorscale="Viridis",
                                       colorbar={"title": stress.metrics[0]}))
        surface.add_trace(go.Scatter(
            x=[str(stress.params[x_name])], y=[str(stress.params[y_name])], mode="markers",
            marker={"symbol": "x", "size": 14, "color": "white",
                    "line": {"color": "black", "width": 1}}, name="optimum"))
        surface.update_layout(xaxis_title=x_name, yaxis_title=y_name, showlegend=False,
                              xaxis_type="category", yaxis_type="category")
        charts.append(("sensitivity", f"Sensitivity: {stress.metrics[0]} around the optimum",
                       surface))
    if stress.shocks:
        names = [shock.scenario for shock in stress.shocks]
        shocks = go.Figure([
            go.Bar(name="total return", x=names,
                   y=[shock.report["total_return"] for shock in stress.shocks]),
            go.Bar(name="max drawdown", x=names,
                   y=[shock.report["max_drawdown"] for shock in stress.shocks]),
        ])
        shocks.update_layout(barmode="group", yaxis_tickformat=".2%")
        charts.append(("shocks", "Scenario shocks against the baseline", shocks))
        rows += [(f"shock {s.scenario}", s.description) for s in stress.shocks]
    return write_report(path, "stress test", charts, summary=rows)


def portfolio_report(portfolio: Any, path: Path) -> Path:
    """Write the HTML report of a `PortfolioResult`: allocation, correlation, the run."""
    names = [a.strategy for a in portfolio.allocations]
    weights = go.Figure([
        go.Bar(name="weight", x=names, y=[a.weight for a in portfolio.allocations]),
        go.Bar(name="risk contribution", x=names,
               y=[a.risk_contribution for a in portfolio.allocations]),
    ])
    weights.update_layout(barmode="group", yaxis_tickformat=".0%")
    charts: list[Chart] = [("allocation", f"Allocation ({portfolio.method}, sizing "
                            f"{portfolio.sizing})", weights)]
    if len(portfolio.rebalances) > 1:
        starts = [_time(period.start_ns) for period in portfolio.rebalances]
        over_time = go.Figure([
            go.Bar(name=name, x=starts,
                   y=[period.allocations[index].weight for period in portfolio.rebalances])
            for index, name in enumerate(names)])
        over_time.update_layout(barmode="stack", yaxis_tickformat=".0%",
                                xaxis_title="period start (UTC)")
        charts.append(("rebalances", f"Weights at each of {len(starts)} rebalances",
                       over_time))
    for key, title, matrix in (
        ("calibration-correlation", "Correlation of the strategies (calibration)",
         portfolio.calibration_correlation),
        ("evaluation-correlation", "Correlation of the strategies (evaluation)",
         portfolio.evaluation_correlation),
    ):
        if matrix is None:
            continue
        heat = go.Figure(go.Heatmap(z=matrix, x=names, y=names, zmin=-1, zmax=1,
                                    colorscale="RdBu", text=[[f"{v:.2f}" for v in row]
                                                             for row in matrix],
                                    texttemplate="%{text}"))
        heat.update_layout(yaxis_autorange="reversed")
        charts.append((key, title, heat))
    charts += backtest_charts(portfolio.run.equity_curve, portfolio.run.trades)
    rows = [(f"{a.strategy} ({a.instrument_id})",
             f"weight {a.weight:.2%}, x{a.multiplier:.3g}, quantity {a.quantity}")
            for a in portfolio.allocations]
    rows.append(("parametric VaR 95 % (ex ante, per period)",
                 f"{portfolio.parametric_value_at_risk_95:.4%}"))
    rows += list(report_rows(portfolio.run.report))
    return write_report(path, f"portfolio {portfolio.run.name}", charts, summary=rows)


def write_report(path: Path, title: str, charts: Sequence[Chart], *,
                 summary: Sequence[tuple[str, str]] = (), notes: Sequence[str] = ()) -> Path:
    """Write one self-contained HTML page: a summary table, then each chart."""
    parts = [
        "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>",
        f"<script type='text/javascript'>{plotly.offline.get_plotlyjs()}</script>",
        "</head><body>", f"<h1>{html.escape(title)}</h1>",
    ]
    if summary:
        parts.append("<table class='summary'>")
        parts += [f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
                  for k, v in summary]
        parts.append("</table>")
    for name, chart_title, figure in charts:
        figure.update_layout(margin={"l": 60, "r": 20, "t": 30, "b": 50}, height=420,
                             template="plotly_white")
        parts.append(f"<section id='chart-{name}'><h2>{html.escape(chart_title)}</h2>")
        parts.append(figure.to_html(full_html=False, include_plotlyjs=False,
                                    div_id=f"plot-{name}", config={"responsive": True}))
        parts.append("</section>")
    parts += [f"<p class='note'>{html.escape(note)}</p>" for note in notes]
    parts.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
