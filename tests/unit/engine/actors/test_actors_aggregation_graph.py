"""Bar aggregation through a full graph: 5m bars built from a 1m source, gaps included."""

from __future__ import annotations

from typing import Any

from engine.clock import SimClock
from engine.events.market import Bar, BarType
from engine.graph import TradingGraph
from engine.replay import ReplayDriver, ReplaySource
from engine.strategy import Strategy
from engine.testing import BAR_TYPE, INSTRUMENT_ID, make_bar, make_graph
from engine.topics import bars_topic

MINUTE = 60_000_000_000
T0 = 19_700 * 86_400_000_000_000
FIVE = BarType(instrument_id=INSTRUMENT_ID, timeframe="5m")
# Gaps: 7, 8 (inside a window), 10 (a window's last bar), 14, 15, 24-31 (a whole window).
MINUTES = [1, 2, 3, 4, 5, 6, 9, 11, 12, 13, 16, 17, 18, 19, 20, 21, 22, 23, 32, 33, 34, 35]


class Watcher(Strategy):
    """Subscribe to `bar_types` and record each bar as (timeframe, ts_event, ts_init)."""

    def __init__(self, strategy_id: str, bar_types: list[BarType]) -> None:
        super().__init__(strategy_id)
        self.bar_types = bar_types
        self.bars: list[Bar] = []

    def on_start(self) -> None:
        for bar_type in self.bar_types:
            self.subscribe_bars(bar_type)

    def on_bar(self, bar: Bar) -> None:
        self.bars.append(bar)


def one_minute_bars(minutes: list[int]) -> list[Bar]:
    bars: list[Bar] = []
    previous: float | None = None
    for minute in minutes:
        close = 100.0 + (minute * 7 % 11) - 0.25 * (minute % 3)
        opening = close if previous is None else previous
        bars.append(make_bar(close, ts_event=T0 + minute * MINUTE, open=opening,
                             high=max(opening, close) + 1.5, low=min(opening, close) - 0.75,
                             volume=0.5 * minute))
        previous = close
    return bars


def aggregate(bars: list[Bar], step_ns: int) -> list[tuple[Any, ...]]:
    """Aggregate by hand: (end, ts_init, open, high, low, close, volume) per emitted window.

    A window (end - step, end] is emitted when its last bar arrives, else when the first
    bar of a later window arrives (then at that bar's time); the final window only if
    complete.
    """
    windows: dict[int, list[Bar]] = {}
    for bar in bars:
        windows.setdefault(-(-bar.ts_event // step_ns) * step_ns, []).append(bar)
    ends = list(windows)
    emitted = []
    for position, end in enumerate(ends):
        members = windows[end]
        if members[-1].ts_event == end:
            ts_init = end
        elif position + 1 < len(ends):
            ts_init = windows[ends[position + 1]][0].ts_init
        else:
            continue  # incomplete at the end of the data: never emitted
        emitted.append((
            end,
            ts_init,
            members[0].open,
            max(b.high for b in members),
            min(b.low for b in members),
            members[-1].close,
            sum(b.volume for b in members),
        ))
    return emitted


def run(strategies: list[Strategy], bars: list[Bar]) -> TradingGraph:
    graph = make_graph(fail_fast=True)
    graph.add_bar_source(BAR_TYPE)
    for strategy in strategies:
        graph.add_strategy(strategy)
    clock = graph.clock
    assert isinstance(clock, SimClock)
    source = ReplaySource(bars, bars_topic(INSTRUMENT_ID, "1m"), INSTRUMENT_ID)
    ReplayDriver(graph, clock, [source]).run(start=graph.start)
    graph.stop()
    return graph


def rows(bars: list[Bar]) -> list[tuple[Any, ...]]:
    return [(b.ts_event, b.ts_init, b.open, b.high, b.low, b.close, b.volume) for b in bars]


def test_aggregation_builds_5m_bars_from_1m_source_matching_a_plain_aggregation() -> None:
    source = one_minute_bars(MINUTES)
    watcher = Watcher("five", [FIVE])

    graph = run([watcher], source)

    expected = aggregate(source, 5 * MINUTE)
    assert rows(watcher.bars) == expected
    assert [(end - T0) // MINUTE for end, *_ in expected] == [5, 10, 15, 20, 25, 35]
    assert all(bar.bar_type == FIVE for bar in watcher.bars)
    statistics = graph.data.statistics()
    assert statistics.bars_built == len(expected)
    assert statistics.aggregated_bar_types == ("BTC/USDT.SIM@5m",)


def test_aggregation_window_missing_its_last_bar_is_emitted_by_the_next_bar() -> None:
    watcher = Watcher("both", [BAR_TYPE, FIVE])

    run([watcher], one_minute_bars(MINUTES))

    seen = [(b.bar_type.timeframe, (b.ts_event - T0) // MINUTE, (b.ts_init - T0) // MINUTE)
            for b in watcher.bars]
    # The 5m bar follows the 1m bar that completed it; after a gap, the late 1m bar.
    assert seen[seen.index(("1m", 5, 5)) + 1] == ("5m", 5, 5)
    assert seen[seen.index(("1m", 11, 11)) + 1] == ("5m", 10, 11)
    assert seen[seen.index(("1m", 32, 32)) + 1] == ("5m", 25, 32)
    assert [s for s in seen if s[0] == "5m"] == [
        ("5m", 5, 5), ("5m", 10, 11), ("5m", 15, 16), ("5m", 20, 20), ("5m", 25, 32),
        ("5m", 35, 35)]


def test_aggregation_leaves_an_incomplete_last_window_unemitted() -> None:
    watcher = Watcher("five", [FIVE])

    run([watcher], one_minute_bars([1, 2, 3, 4, 5, 6, 7]))

    assert [(b.ts_event - T0) // MINUTE for b in watcher.bars] == [5]


def test_aggregation_shared_by_two_strategies_builds_each_bar_once() -> None:
    first, second = Watcher("a", [FIVE]), Watcher("b", [FIVE])

    graph = run([first, second], one_minute_bars(MINUTES))

    assert rows(first.bars) == rows(second.bars) == aggregate(one_minute_bars(MINUTES),
                                                              5 * MINUTE)
    assert graph.data.statistics().bars_built == len(first.bars)
