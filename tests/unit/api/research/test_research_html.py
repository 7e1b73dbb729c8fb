"""The report helpers that are not charts: monthly returns, and the page around the charts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import plotly.graph_objects as go
import pytest

from api.research.html import monthly_returns, write_report


def ns(year: int, month: int, day: int) -> int:
    return int(datetime(year, month, day, tzinfo=UTC).timestamp()) * 1_000_000_000


def test_monthly_returns_chain_month_ends() -> None:
    curve = [(ns(2023, 1, 1), 100.0), (ns(2023, 1, 31), 110.0), (ns(2023, 2, 15), 99.0),
             (ns(2023, 3, 2), 108.9)]

    months = monthly_returns(curve)

    assert months == {(2023, 1): pytest.approx(0.1), (2023, 2): pytest.approx(-0.1),
                      (2023, 3): pytest.approx(0.1)}


def test_write_report_inlines_plotly_once_and_names_each_chart(tmp_path: Path) -> None:
    charts = [(f"c{i}", f"chart {i}", go.Figure(go.Scatter(x=[1, 2], y=[i, i])))
              for i in range(3)]

    path = write_report(tmp_path / "r.html", "a <title>", charts, summary=[("k", "v")])

    text = path.read_text()
    assert text.count("<script type='text/javascript'>") == 1  # the library, once, inline
    assert all(f"<section id='chart-c{i}'>" in text for i in range(3))
    assert "a &lt;title&gt;" in text
    assert "<script src=" not in text  # nothing to fetch: the report works offline
