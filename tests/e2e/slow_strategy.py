"""A test-only strategy that is sometimes slow to handle a bar (the kill -9 campaign's).

The SMA cross, but every `slow_every`-th bar (counted by its close time, so the same
bars are slow in every run) blocks the event loop for `slow_ms` before deciding: the
handling lag that, before engine time was an input, made a session fill on another bar
than its own recovery and its recording's backtest did.

It also carries the campaign's kill switch. A kill sent from the test process lands
when the test's poll of the journal notices the target was reached, which on a loaded
machine was hundreds of bars late (21 of 32 kills fitted in the session on CI). With
`TRADEBUS_TEST_SIGKILL_AT_NS` set, the first bar handled at or after that close time
arms a timer that sends the process SIGKILL `TRADEBUS_TEST_SIGKILL_DELAY_MS` later, so
a kill lands within a few bars of its target, at a random point of whatever the
daemon is doing then (handling, journaling, recording, filling).
"""

from __future__ import annotations

import os
import signal
import threading
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

    _kill_armed = False

    def on_bar(self, bar: Bar) -> None:
        self._arm_kill(bar)
        if (bar.ts_event // MINUTE_NS) % self.config.slow_every == 0:
            time.sleep(self.config.slow_ms / 1000)  # blocks the loop: nothing else runs
        super().on_bar(bar)

    def _arm_kill(self, bar: Bar) -> None:
        kill_at = os.environ.get("TRADEBUS_TEST_SIGKILL_AT_NS")
        if kill_at is None or self._kill_armed or bar.ts_event < int(kill_at):
            return
        self._kill_armed = True
        delay = float(os.environ.get("TRADEBUS_TEST_SIGKILL_DELAY_MS", "0")) / 1000
        timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGKILL))
        timer.daemon = True
        timer.start()
