"""The HTML reports render: headless Chromium opens each one and plotly has drawn every chart.

Needs Debian's `chromium` package (`apt-get install -y chromium`); skipped, saying so,
where it is not installed. The reports inline plotly.js, so Chromium runs without
network access (`--disable-background-networking`, a fresh profile).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from api.compose import DEFAULT_BACKTEST_CONFIG as DEFAULT_CONFIG

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "adapters" / "data" / "sample" / "btcusdt_1m.csv"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
STUDY = """
[optimize]
trials = 8
batch_size = 4
objectives = [{ metric = "total_return" }]
sampler = { kind = "tpe", seed = 1, n_startup_trials = 4 }
executor = { workers = 2 }

[[optimize.params]]
kind = "int"
name = "fast_period"
low = 2
high = 10

[[optimize.params]]
kind = "int"
name = "slow_period"
low = 15
high = 45
step = 5

[stress]
paths = 200
radius = 1
volatility_bars = 100
"""

MAKE_BARS = ROOT / "tests" / "bench" / "canonical_bars.py"  # the project's own generator
PORTFOLIO = """
[[instruments]]
symbol = "ETH/USDT"
base_currency = "ETH"
quote_currency = "USDT"
price_increment = "0.01"
size_increment = "0.001"

[[data]]
kind = "csv"
path = "eth.csv"
instrument_id = "ETH/USDT.SIM"
timeframe = "1m"

[[strategies]]
id = "sma-eth"
class = "strategies.sma_cross:SmaCross"
[strategies.params]
instrument_id = "ETH/USDT.SIM"
fast_period = 5
slow_period = 20

[allocation]
method = "inverse_volatility"
rebalance_bars = 250
capital = 400000.0   # the demo's risk limits deny orders over 1,000,000 USDT notional
"""

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: "
                       "apt-get install -y chromium (Debian) to run the HTML report tests"),
]


def tradebus(*arguments: str) -> None:
    done = subprocess.run([sys.executable, "-m", "api.cli", *arguments], cwd=ROOT,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr


def rendered_dom(page: Path, profile: Path) -> str:
    """The page's DOM after its scripts ran, as headless Chromium serializes it."""
    done = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=15000",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def drawn_charts(dom: str) -> dict[str, bool]:
    """Each chart section's name, and whether plotly drew an SVG with data in it."""
    charts: dict[str, bool] = {}
    for match in re.finditer(r'<section id="chart-([^"]+)">(.*?)</section>', dom, re.S):
        body = match.group(2)
        charts[match.group(1)] = ("js-plotly-plot" in body and 'class="main-svg"' in body
                                  and re.search(r'class="(trace|hm|bars|point)', body) is not None)
    return charts


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("html")
    lines = SAMPLE.read_text().splitlines(keepends=True)
    (folder / "bars.csv").write_text("".join(lines[:1501]))
    text = DEFAULT_CONFIG.read_text().replace('"sample:btcusdt_1m.csv"', '"bars.csv"')
    (folder / "study.toml").write_text(text + STUDY)
    out = folder / "out"
    tradebus("optimize", str(folder / "study.toml"), "--output-dir", str(out),
             "--progress", "never")
    tradebus("stress", str(folder / "study.toml"), "--output-dir", str(out),
             "--progress", "never")
    (best_json,) = out.glob("demo-sma-cross-best-*.json")
    tradebus("report", str(best_json), "--out", str(out / "backtest.html"))
    subprocess.run([sys.executable, str(MAKE_BARS), "--bars", "1500", "--seed", "7", "--out",
                    str(folder / "eth.csv")], check=True, capture_output=True)
    (folder / "portfolio.toml").write_text(text + PORTFOLIO)
    tradebus("portfolio", str(folder / "portfolio.toml"), "--output-dir", str(out))
    return out


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("backtest.html", {"equity", "drawdown", "monthly-returns", "trades"}),
        ("demo-sma-cross.study.html", {"history", "importance", "surface", "best-equity",
                                       "best-drawdown", "best-monthly-returns",
                                       "best-trades"}),
        ("demo-sma-cross.stress.html", {"mc-final-equity", "mc-drawdown", "sensitivity",
                                        "shocks"}),
        ("demo-sma-cross.portfolio.html", {"allocation", "rebalances", "calibration-correlation",
                                           "evaluation-correlation", "equity", "drawdown",
                                           "monthly-returns", "trades"}),
    ],
)
def test_html_report_opens_in_chromium_with_every_chart_drawn(
    reports: Path, tmp_path: Path, page: str, expected: set[str]
) -> None:
    dom = rendered_dom(reports / page, tmp_path / "profile")

    charts = drawn_charts(dom)

    assert expected <= set(charts)
    assert {name for name, drawn in charts.items() if not drawn} == set()
