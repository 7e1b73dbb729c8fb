"""A test-only strategy that is sometimes slow to handle a bar (the kill -9 campaign's).

The SMA cross, but every `slow_every`-th bar (counted by its close time, so the same
bars are slow in every run) blocks the event loop for `slow_ms` before deciding: the
handling lag that, before engine time was an input, made a session fill on another bar
than its own recovery and its recording's backtest did.
"""

from __future__ import annotations

import time

from engine.events.market import Bar
from strategies.sma_cross import SmaCross, SmaCrossConfig

__all__ = ("SlowSmaCross", "SlowSmaCrossConfig")

MINUTE_NS = 60_000_000_000


class SlowSmaCrossConfig(SmaCrossConfig, kw_only=True, frozen=True):
    slow_every: int = 5
    slow_ms: float = 3.0


class SlowSmaCross(SmaCross):
    config_type = SlowSmaCrossConfig
    config: SlowSmaCrossConfig

    def on_bar(self, bar: Bar) -> None:
        if (bar.ts_event // MINUTE_NS) % self.config.slow_every == 0:
            time.sleep(self.config.slow_ms / 1000)  # blocks the loop: nothing else runs
        super().on_bar(bar)
