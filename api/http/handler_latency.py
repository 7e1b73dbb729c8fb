"""The metrics side's dispatch probe: handler latency per actor, and the inputs it saw.

The engine reads no clock (its handlers are timed by nobody inside it), so the metrics
collector installs a `GraphProbe` as the bus's `DispatchProbe` on its first scrape. The
bus shows it the first message of each drain (the input being delivered) and asks
whether to time that drain; 1 drain in `sample_every` is, and each of its deliveries is
then timed with `time.perf_counter_ns` and counted under the handler's owner (the actor
id the bus knows it by). A drain not sampled costs one call to `sample`, and a backtest
or daemon with no collector attached has no probe at all.

The probe also keeps the newest `capacity` market data inputs it was shown (every one,
not a sample: a deque append), which the collector turns into the market-data latency
histogram at each scrape. Inputs only: bars the engine builds itself are published
inside a handler, never first in a drain. This replaced a `data.#` tap, which took
every bar off the bus's in-place path.

A sampled delivery is timed around the handler call alone: the bus queues what a
handler publishes, so no other handler runs inside it (a request's reply handler is
the one exception, counted under the requested actor, whose work it is).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable
from typing import Any

from prometheus_client.core import HistogramMetricFamily

from engine.bus import Handler
from engine.events.market import Bar, BookDelta, QuoteTick, TradeTick

__all__ = ("DEFAULT_CAPACITY", "DEFAULT_SAMPLE_EVERY", "HANDLER_BUCKETS_S", "GraphProbe",
           "Histogram", "UNOWNED")

HANDLER_BUCKETS_S = (0.000_001, 0.000_002_5, 0.000_005, 0.000_01, 0.000_025, 0.000_05,
                     0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1,
                     1.0)
"""Handler latency buckets (seconds of wall time): a handler runs in microseconds."""
DEFAULT_SAMPLE_EVERY = 16
DEFAULT_CAPACITY = 8192
"""Market data inputs kept between two scrapes (more: the newest are kept)."""
MARKET_DATA = frozenset({Bar, QuoteTick, TradeTick, BookDelta})
UNOWNED = "none"
"""The actor label of a handler the bus knows no owner of (a runtime part's)."""


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
    """Time every delivery of 1 drain in `sample_every`, keep the market data inputs.

    Args:
        sample_every: how many drains pass per one timed (1: every drain, for tests).
        capacity: how many market data inputs are kept until `take_inputs`.
    """

    def __init__(self, sample_every: int = DEFAULT_SAMPLE_EVERY,
                 capacity: int = DEFAULT_CAPACITY) -> None:
        if sample_every < 1:
            raise ValueError(f"sample_every {sample_every}: must be at least 1")
        if capacity < 1:
            raise ValueError(f"capacity {capacity}: must be at least 1")
        self.sample_every = sample_every
        self.histogram = Histogram(HANDLER_BUCKETS_S)
        self.drains = 0
        """Drains the bus asked about (sampled or not)."""
        self.sampled_drains = 0
        self.inputs_seen = 0
        """Market data inputs shown so far (kept or, past `capacity`, overwritten)."""
        self._inputs: deque[Any] = deque(maxlen=capacity)
        self._taken = 0

    def take_inputs(self) -> list[Any]:
        """The market data inputs kept since the last call, oldest first."""
        inputs = list(self._inputs)
        self._inputs.clear()
        self._taken += len(inputs)
        return inputs

    @property
    def overwritten(self) -> int:
        """Inputs shown but overwritten before a `take_inputs` (past `capacity`)."""
        return self.inputs_seen - self._taken - len(self._inputs)

    def sample(self, first: Any) -> bool:
        if type(first) in MARKET_DATA:
            self._inputs.append(first)
            self.inputs_seen += 1
        self.drains += 1
        if self.drains % self.sample_every:
            return False
        self.sampled_drains += 1
        return True

    def call(self, owner: str | None, handler: Handler, message: Any) -> None:
        started = time.perf_counter_ns()
        try:
            handler(message)
        finally:
            elapsed = time.perf_counter_ns() - started
            self.histogram.observe((owner if owner is not None else UNOWNED,), elapsed * 1e-9)

    def family(self) -> HistogramMetricFamily:
        return self.histogram.family(
            "tradebus_actor_handler_seconds",
            f"Wall time of a handler call, by the actor owning it (every delivery of 1 "
            f"drain in {self.sample_every}).", ["actor"])
