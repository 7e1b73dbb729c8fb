"""The metrics side's dispatch probe: handler latency per actor.

The engine reads no clock (its handlers are timed by nobody inside it), so the metrics
collector installs a `GraphProbe` as the bus's `DispatchProbe` on its first scrape. The
bus times every delivery of 1 drain in `sample_every` (an input and whatever its
handlers publish) through `call`, with `time.perf_counter_ns`, counted under the
handler's owner (the actor id the bus knows it by). The bus counts the drains down
itself: one not sampled costs no call here, and a backtest or daemon with no collector
attached has no probe at all.

A sampled delivery is timed around the handler call alone: the bus queues what a
handler publishes, so no other handler runs inside it (a request's reply handler is
the one exception, counted under the requested actor, whose work it is).

The market data inputs behind the feed latency histogram are not the probe's: the
daemon's runner shows them to an `InputWindow` (`api.http.input_window`).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterable
from typing import Any

from prometheus_client.core import HistogramMetricFamily

from engine.bus import Handler

__all__ = ("DEFAULT_SAMPLE_EVERY", "HANDLER_BUCKETS_S", "GraphProbe", "Histogram", "UNOWNED")

HANDLER_BUCKETS_S = (0.000_001, 0.000_002_5, 0.000_005, 0.000_01, 0.000_025, 0.000_05,
                     0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1,
                     1.0)
"""Handler latency buckets (seconds of wall time): a handler runs in microseconds."""
DEFAULT_SAMPLE_EVERY = 64
"""1 drain in 64 is timed: at a backtest's 100,000 inputs a second still 1,500 samples a
second, and a daemon's few hundred inputs a second fill a histogram per 5 s scrape. 1 in
16 cost the observed canonical backtest 481 more instructions a bar (1.4% of the plain
run; `tests/bench/instructions.py --observers`)."""
UNOWNED = "none"
"""The actor label of a handler the bus knows no owner of (a runtime part's)."""
_now_ns = time.perf_counter_ns


class Histogram:
    """Cumulative buckets, a sum and a count per label tuple, kept by the collector."""

    def __init__(self, bounds: Iterable[float]) -> None:
        self.bounds = tuple(bounds)
        self.series: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}

    def observe(self, labels: tuple[str, ...], value: float) -> None:
        series = self.series.get(labels)
        if series is None:
            series = self.series[labels] = ([0] * (len(self.bounds) + 1), [0.0])
        counts, total = series
        counts[bisect_left(self.bounds, value)] += 1  # the first bound >= value; past all: +Inf
        total[0] += value

    def family(self, name: str, documentation: str, labels: list[str]) -> HistogramMetricFamily:
        family = HistogramMetricFamily(name, documentation, labels=labels)
        for key, (counts, total) in sorted(self.series.items()):
            cumulative, buckets = 0, []
            for bound, count in zip((*map(str, self.bounds), "+Inf"), counts, strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            family.add_metric(list(key), buckets, total[0])
        return family


class GraphProbe:
    """Time every delivery of 1 drain in `sample_every` (1: every drain, for tests)."""

    def __init__(self, sample_every: int = DEFAULT_SAMPLE_EVERY) -> None:
        if sample_every < 1:
            raise ValueError(f"sample_every {sample_every}: must be at least 1")
        self._sample_every = sample_every
        self.histogram = Histogram(HANDLER_BUCKETS_S)
        # The histogram's own lists per owner, and its bounds in integer nanoseconds:
        # a timed call then costs a dict lookup, a bisect on ints and two additions (it
        # was a label tuple, a float conversion and `Histogram.observe`, 1.5 us a call).
        self._series: dict[str | None, tuple[list[int], list[float]]] = {}
        self._bounds_ns = tuple(round(bound * 1e9) for bound in HANDLER_BUCKETS_S)

    @property
    def sample_every(self) -> int:
        return self._sample_every

    def call(self, owner: str | None, handler: Handler, message: Any) -> None:
        started = _now_ns()
        try:
            handler(message)
        finally:
            elapsed = _now_ns() - started
            series = self._series.get(owner)
            if series is None:
                series = self._series_of(owner)
            series[0][bisect_left(self._bounds_ns, elapsed)] += 1
            series[1][0] += elapsed * 1e-9

    def _series_of(self, owner: str | None) -> tuple[list[int], list[float]]:
        label = (owner if owner is not None else UNOWNED,)
        series = self.histogram.series.get(label)
        if series is None:
            series = self.histogram.series[label] = (
                [0] * (len(self.histogram.bounds) + 1), [0.0])
        self._series[owner] = series
        return series

    def family(self) -> HistogramMetricFamily:
        return self.histogram.family(
            "tradebus_actor_handler_seconds",
            f"Wall time of a handler call, by the actor owning it (every delivery of 1 "
            f"drain in {self.sample_every}).", ["actor"])
