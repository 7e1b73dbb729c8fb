"""report_rows: every field once, with the documented formatting rules."""

from __future__ import annotations

import msgspec

from engine.analysis import REPORT_LAYOUT, PerformanceReport, compute_report, report_rows

DAY_NS = 86_400 * 1_000_000_000
START_NS = 1_704_067_200 * 1_000_000_000  # 2024-01-01 00:00:00 UTC


def sample_report() -> PerformanceReport:
    values = [1_000_000.0, 1_012_345.678, 990_000.0, 1_050_000.0]
    curve = [(START_NS + i * DAY_NS, v) for i, v in enumerate(values)]
    return compute_report(curve, [], starting_equity=1_000_000.0, fills=12, total_fees=3.456)


def test_layout_covers_every_report_field_exactly_once() -> None:
    fields = [field for _, field, _ in REPORT_LAYOUT]
    assert sorted(fields) == sorted(PerformanceReport.__struct_fields__)
    labels = [label for label, _, _ in REPORT_LAYOUT]
    assert len(set(labels)) == len(labels)


def test_rows_format_values() -> None:
    rows = dict(report_rows(sample_report()))
    assert rows["Start"] == "2024-01-01 00:00:00 UTC"
    assert rows["End"] == "2024-01-04 00:00:00 UTC"
    assert rows["Duration (days)"] == "3.00"
    assert rows["Final equity"] == "1,050,000.00"
    assert rows["Total return"] == "5.00%"
    assert rows["Total fees"] == "3.46"
    assert rows["Fills"] == "12"
    assert rows["Trades"] == "0"
    assert rows["Win rate"] == "n/a"
    assert rows["Profit factor"] == "n/a"
    assert rows["Max drawdown"] == "2.21%"


def test_rows_of_an_empty_report() -> None:
    report = compute_report([], [], starting_equity=500.0, fills=0, total_fees=0.0)
    rows = report_rows(report)
    assert len(rows) == len(REPORT_LAYOUT)
    values = dict(rows)
    assert values["Start"] == values["Sharpe ratio"] == values["Exposure"] == "n/a"
    assert values["Starting equity"] == "500.00"
    assert all(isinstance(text, str) and text for _, text in rows)


def test_rows_follow_the_layout_order() -> None:
    rows = report_rows(sample_report())
    assert [label for label, _ in rows] == [label for label, _, _ in REPORT_LAYOUT]
    assert msgspec.structs.asdict(sample_report())["fills"] == 12
